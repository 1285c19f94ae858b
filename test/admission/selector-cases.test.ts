// The selector table's expectations hold for the controller's matchesSelector; the integration
// test (admission.it.test.ts) checks the API server's policy agrees with it case by case.
import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../src/policy/selector.ts';
import { SELECTOR_CASES } from './selector-cases.ts';

describe('selector cases shared with the admission policy', () => {
  it.each(SELECTOR_CASES)('$what', (c) => {
    expect(matchesSelector(c.selector, c.labels)).toBe(c.matches);
  });
});
