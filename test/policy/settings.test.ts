// The published policy settings (hostns.io/policy-settings): what the operator writes, and how a
// reader takes every kind of value a cluster admin (or anyone forging it) could leave there.
import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import {
  MAX_POLICY_SETTINGS_BYTES,
  publishedPolicySettings,
  readPolicySettings,
  statesSameSettings,
} from '../../src/policy/settings.ts';

const at = DateTime.fromISO('2026-11-27T20:00:00.250Z', { zone: 'utc' });
const policy = {
  exemptNamespaces: new Set(['monitoring', 'kube-system']),
  expiringSoonWindow: Duration.fromObject({ minutes: 10 }),
  maxLifetime: Duration.fromObject({ days: 30 }),
  reviewInterval: Duration.fromObject({ hours: 36 }),
};
const published = publishedPolicySettings(policy, at, 'hostns-operator-7d9f-abcde');
const valid = JSON.stringify(published);
const withValue = (patch: Record<string, unknown>) => JSON.stringify({ ...published, ...patch });
const withSetting = (patch: Record<string, unknown>) =>
  JSON.stringify({ ...published, settings: { ...published.settings, ...patch } });

describe('publishedPolicySettings', () => {
  it('is canonical: sorted namespaces, durations as flags write them, whole seconds', () => {
    expect(published).toEqual({
      version: 1,
      settings: {
        exemptNamespaces: ['kube-system', 'monitoring'],
        expiringSoon: '10m',
        maxLifetime: '30d',
        reviewInterval: '1d12h',
      },
      publishedAt: '2026-11-27T20:00:00Z',
      publishedBy: 'hostns-operator-7d9f-abcde',
    });
  });
});

describe('readPolicySettings', () => {
  it('reads back what the operator publishes', () => {
    const read = readPolicySettings(valid);
    expect(read.kind).toBe('published');
    if (read.kind !== 'published') return;
    expect([...read.policy.exemptNamespaces].sort()).toEqual(['kube-system', 'monitoring']);
    expect(read.policy.expiringSoonWindow.toMillis()).toBe(600_000);
    expect(read.policy.maxLifetime.as('days')).toBe(30);
    expect(read.policy.reviewInterval.as('hours')).toBe(36);
    expect(read).toMatchObject({ publishedAt: '2026-11-27T20:00:00Z', publishedBy: 'hostns-operator-7d9f-abcde' });
    expect(readPolicySettings(JSON.stringify(publishedPolicySettings(DEFAULT_POLICY, at, 'x')))).toMatchObject({
      kind: 'published',
      values: { exemptNamespaces: ['kube-system'], expiringSoon: '7d', maxLifetime: '90d', reviewInterval: '30d' },
    });
  });

  it('absent is absent; no exempt namespace at all is a setting', () => {
    expect(readPolicySettings(undefined)).toEqual({ kind: 'absent' });
    expect(readPolicySettings(withSetting({ exemptNamespaces: [] }))).toMatchObject({ kind: 'published' });
  });

  it.each([
    ['not JSON', '{"version": 1,', /^is not JSON: /],
    ['empty', '', /^is not JSON: /],
    ['JSON, not an object', '[1, 2]', /^is not a JSON object$/],
    ['null', 'null', /^is not a JSON object$/],
    ['a string', '"7d"', /^is not a JSON object$/],
    ['not a string at all', 42, /^is not a string$/],
    ['huge', JSON.stringify({ ...published, padding: 'x'.repeat(MAX_POLICY_SETTINGS_BYTES) }), /bytes, over the 65536/],
  ])('%s: invalid, never thrown', (_what, value, problem) => {
    const read = readPolicySettings(value);
    expect(read.kind).toBe('invalid');
    if (read.kind === 'invalid') expect(read.problem).toMatch(problem);
  });

  it.each([
    ['no version', withValue({ version: undefined }), /^version: null is not the version this CLI reads \(1\)/],
    ['a newer version', withValue({ version: 2 }), /^version: 2 is not the version this CLI reads \(1\); upgrade/],
    ['version as a string', withValue({ version: '1' }), /^version: "1" is not the version/],
    ['no settings', withValue({ settings: undefined }), /^settings: missing, or not an object$/],
    ['settings a list', withValue({ settings: [] }), /^settings: missing/],
    ['exempt a string', withSetting({ exemptNamespaces: 'kube-system' }), /^settings\.exemptNamespaces: missing/],
    [
      'exempt a number',
      withSetting({ exemptNamespaces: [1] }),
      /^settings\.exemptNamespaces\[0\]: 1 is not a namespace/,
    ],
    ['exempt not a name', withSetting({ exemptNamespaces: ['ok', 'Not_A_Name'] }), /^settings\.exemptNamespaces\[1\]/],
    ['window a number', withSetting({ expiringSoon: 600 }), /^settings\.expiringSoon: 600 is not a positive duration/],
    ['window missing', withSetting({ expiringSoon: undefined }), /^settings\.expiringSoon: undefined is not/],
    ['window zero', withSetting({ expiringSoon: '0s' }), /^settings\.expiringSoon: "0s" is not a positive/],
    ['window nonsense', withSetting({ maxLifetime: 'soon' }), /^settings\.maxLifetime: "soon" is not a positive/],
    ['window absurd', withSetting({ reviewInterval: '99999999d' }), /^settings\.reviewInterval: .* at most 36500d/],
    ['publishedAt not a date', withValue({ publishedAt: 'yesterday' }), /^publishedAt: "yesterday" is not an RFC 3339/],
    ['publishedAt missing', withValue({ publishedAt: undefined }), /^publishedAt: undefined is not/],
    ['publishedBy multi-line', withValue({ publishedBy: 'a\nb' }), /^publishedBy: "a\\nb" is not a single-line/],
    ['publishedBy long', withValue({ publishedBy: 'a'.repeat(300) }), /^publishedBy: "a{76}\.\.\. is not/],
    ['publishedBy a number', withValue({ publishedBy: 7 }), /^publishedBy: 7 is not/],
  ])('%s: invalid, naming the field', (_what, value, problem) => {
    const read = readPolicySettings(value);
    expect(read.kind).toBe('invalid');
    if (read.kind === 'invalid') expect(read.problem).toMatch(problem);
  });

  it('a forged value cannot put control characters in a message', () => {
    for (const value of [
      '\u001b[31m{',
      withValue({ version: '\u001b]0;x\u0007' }),
      withSetting({ maxLifetime: '\r\n' }),
    ]) {
      const read = readPolicySettings(value);
      expect(read.kind).toBe('invalid');
      if (read.kind === 'invalid') expect(read.problem).not.toMatch(/\p{Cc}/u);
    }
  });

  it('unknown fields of the same version are ignored', () => {
    expect(readPolicySettings(withValue({ note: 'added by hand' })).kind).toBe('published');
  });
});

describe('statesSameSettings', () => {
  it('compares version and settings, not who published them or when', () => {
    const later = publishedPolicySettings(policy, at.plus({ days: 9 }), 'another-replica');
    expect(statesSameSettings(valid, later)).toBe(true);
    expect(statesSameSettings(undefined, later)).toBe(false);
    expect(statesSameSettings('{', later)).toBe(false);
    expect(statesSameSettings(withValue({ version: 2 }), later)).toBe(false);
    expect(statesSameSettings(withSetting({ expiringSoon: '600s' }), later)).toBe(false); // not canonical: rewritten
    const other = publishedPolicySettings({ ...policy, exemptNamespaces: new Set() }, at, 'x');
    expect(statesSameSettings(valid, other)).toBe(false);
  });
});
