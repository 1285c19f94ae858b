import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../src/api/v1alpha1.ts';
import { formatSelector, matchesSelector, selectorProblems } from '../../src/policy/selector.ts';

describe('matchesSelector (metav1.LabelSelector semantics)', () => {
  const labels = { app: 'x', tier: 'agent', empty: '' };
  it.each<[LabelSelector, boolean, string]>([
    [{}, true, 'empty selector selects everything'],
    [{ matchLabels: {} }, true, 'empty matchLabels'],
    [{ matchLabels: { app: 'x' } }, true, 'matching label'],
    [{ matchLabels: { app: 'y' } }, false, 'other value'],
    [{ matchLabels: { missing: 'x' } }, false, 'missing key'],
    [{ matchLabels: { empty: '' } }, true, 'empty value matches empty value'],
    [{ matchLabels: { app: 'x', tier: 'agent' } }, true, 'all must match'],
    [{ matchLabels: { app: 'x', tier: 'web' } }, false, 'one mismatch fails'],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['x', 'y'] }] }, true, 'In hit'],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['y'] }] }, false, 'In miss'],
    [{ matchExpressions: [{ key: 'nope', operator: 'In', values: ['x'] }] }, false, 'In on absent key'],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['y'] }] }, true, 'NotIn hit'],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] }, false, 'NotIn miss'],
    [{ matchExpressions: [{ key: 'nope', operator: 'NotIn', values: ['x'] }] }, true, 'NotIn on absent key matches'],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true, 'Exists'],
    [{ matchExpressions: [{ key: 'nope', operator: 'Exists' }] }, false, 'Exists absent'],
    [{ matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, true, 'Exists with empty value'],
    [{ matchExpressions: [{ key: 'nope', operator: 'DoesNotExist' }] }, true, 'DoesNotExist'],
    [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false, 'DoesNotExist present'],
    [
      { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
      false,
      'labels AND expressions',
    ],
    [
      { matchExpressions: [{ key: 'app', operator: 'Bogus' as 'In', values: ['x'] }] },
      false,
      'unknown operator selects nothing',
    ],
  ])('%j -> %s (%s)', (selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });

  it('does not match inherited properties', () => {
    expect(matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });
});

describe('selectorProblems', () => {
  it('accepts valid selectors', () => {
    expect(selectorProblems({})).toEqual([]);
    expect(selectorProblems({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'a', operator: 'Exists' }] })).toEqual(
      [],
    );
  });
  it.each([
    [null, 'spec.podSelector must be a label selector object'],
    [[], 'spec.podSelector must be a label selector object'],
    [{ matchLabels: [] }, 'spec.podSelector.matchLabels must be a map of strings'],
    [{ matchLabels: { a: 1 } }, 'spec.podSelector.matchLabels[a] must be a string'],
    [{ matchExpressions: {} }, 'spec.podSelector.matchExpressions must be a list'],
    [
      { matchExpressions: [{ key: 'a', operator: 'Near' }] },
      'spec.podSelector.matchExpressions[0].operator must be one of',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      'spec.podSelector.matchExpressions[0].values must be non-empty',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'spec.podSelector.matchExpressions[0].values must be empty',
    ],
    [{ matchExpressions: [{ operator: 'Exists' }] }, 'spec.podSelector.matchExpressions[0].key is required'],
    [{ matchExpressions: [null] }, 'spec.podSelector.matchExpressions[0] must be an object'],
  ])('%j is refused naming the field', (sel, message) => {
    expect(selectorProblems(sel).join('\n')).toContain(message);
  });
});

describe('formatSelector', () => {
  it('renders like kubectl', () => {
    expect(formatSelector({})).toBe('(all pods)');
    expect(
      formatSelector({
        matchLabels: { app: 'x' },
        matchExpressions: [
          { key: 't', operator: 'In', values: ['a', 'b'] },
          { key: 'u', operator: 'NotIn', values: ['c'] },
          { key: 'v', operator: 'Exists' },
          { key: 'w', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=x,t in (a,b),u notin (c),v,!w');
  });
});

describe("hostns.io/ keys (the operator's own marks) in a selector", () => {
  it.each<[LabelSelector, string]>([
    [
      { matchLabels: { 'hostns.io/violation': 'true' } },
      'spec.podSelector.matchLabels must not name hostns.io/violation',
    ],
    [
      { matchExpressions: [{ key: 'hostns.io/exception', operator: 'DoesNotExist' }] },
      'spec.podSelector.matchExpressions[0].key must not name hostns.io/exception',
    ],
    [
      {
        matchExpressions: [
          { key: 'app', operator: 'Exists' },
          { key: 'hostns.io/x', operator: 'In', values: ['a'] },
        ],
      },
      'matchExpressions[1].key must not name hostns.io/x',
    ],
  ])('%j is a problem (the exception is Invalid) and matches nothing', (selector, problem) => {
    expect(selectorProblems(selector).join('\n')).toContain(problem);
    expect(
      matchesSelector(selector, {
        'hostns.io/violation': 'true',
        'hostns.io/exception': 'e',
        'hostns.io/x': 'a',
        app: 'x',
      }),
    ).toBe(false);
    expect(matchesSelector(selector, {})).toBe(false);
  });
  it('other prefixes are ordinary keys', () => {
    expect(selectorProblems({ matchLabels: { 'example.hostns.io/k': 'v', 'hostns.iox/k': 'v' } })).toEqual([]);
  });
});
