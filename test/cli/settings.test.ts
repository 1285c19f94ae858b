// Which settings the CLI decides with (flag, else the operator's, else its defaults) and what it says.
import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { resolvePolicy, type SettingsSource } from '../../src/cli/settings.ts';
import { publishedPolicySettings, readPolicySettings } from '../../src/policy/settings.ts';

const operatorPolicy = {
  exemptNamespaces: new Set(['kube-system', 'monitoring']),
  expiringSoonWindow: Duration.fromObject({ minutes: 10 }),
  maxLifetime: Duration.fromObject({ days: 90 }),
  reviewInterval: Duration.fromObject({ days: 30 }),
};
const read = readPolicySettings(
  JSON.stringify(publishedPolicySettings(operatorPolicy, DateTime.fromISO('2026-11-27T20:00:00Z'), 'op-1')),
);
if (read.kind !== 'published') throw new Error('fixture');
const operator: SettingsSource = { kind: 'operator', read };
const none: SettingsSource = { kind: 'unavailable', why: 'no HostNamespaceGrantIndex cluster' };

describe('resolvePolicy', () => {
  it("no flag: the operator's settings, silently", () => {
    const { config, notes } = resolvePolicy({}, operator);
    expect(config.expiringSoonWindow.toMillis()).toBe(600_000);
    expect([...config.exemptNamespaces].sort()).toEqual(['kube-system', 'monitoring']);
    expect(notes).toEqual([]);
  });

  it("a flag equal to the operator's: silently", () => {
    expect(
      resolvePolicy({ expiringSoon: '600s', exemptNamespaces: 'monitoring, kube-system' }, operator).notes,
    ).toEqual([]);
  });

  it("flags that differ win, with one warning naming each and the operator's value", () => {
    const { config, notes } = resolvePolicy({ expiringSoon: '7d', exemptNamespaces: '' }, operator);
    expect(config.expiringSoonWindow.as('days')).toBe(7);
    expect(config.exemptNamespaces.size).toBe(0);
    expect(config.maxLifetime.as('days')).toBe(90);
    expect(notes).toEqual([
      "warning: flags override the operator's policy settings (published 2026-11-27T20:00:00Z by op-1): " +
        '--exempt-namespaces "" instead of kube-system,monitoring, --expiring-soon 7d instead of 10m; ' +
        'phases and findings may disagree with the register',
    ]);
  });

  it('no operator settings: the defaults, with a note naming each default used and why', () => {
    const { config, notes } = resolvePolicy({ maxLifetime: '30d' }, none);
    expect(config.expiringSoonWindow.as('days')).toBe(7);
    expect(config.maxLifetime.as('days')).toBe(30);
    expect(notes).toEqual([
      "note: using the CLI's default policy settings (--exempt-namespaces kube-system, --expiring-soon 7d, " +
        '--review-interval 30d): no HostNamespaceGrantIndex cluster',
    ]);
  });

  it('every setting given: no note', () => {
    const all = { exemptNamespaces: 'a', expiringSoon: '1d', maxLifetime: '2d', reviewInterval: '3d' };
    expect(resolvePolicy(all, none).notes).toEqual([]);
  });

  it('a bad flag value throws naming the flag', () => {
    expect(() => resolvePolicy({ reviewInterval: 'often' }, operator)).toThrow(/^--review-interval: "often"/);
    expect(() => resolvePolicy({ expiringSoon: '0d' }, none)).toThrow(/^--expiring-soon: "0d"/);
  });
});
