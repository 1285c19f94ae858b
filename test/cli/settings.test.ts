// Which settings the CLI decides with (flag, else the operator's, else its defaults) and what it says.
import type { Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { DateTime, Duration } from 'luxon';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/cli/cluster.ts';
import { resolvePolicy, type SettingsSource } from '../../src/cli/settings.ts';
import { serve } from './in-process.ts';
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

describe('Cluster.operatorSettings, against a local HTTP server', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  const answer = async (status: number, body: unknown) => {
    const port = await serve(servers, (_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    const cluster = new Cluster(kc, 5);
    try {
      return await cluster.operatorSettings();
    } finally {
      await cluster.close();
    }
  };
  const status = (code: number, reason: string, details?: object) => ({ kind: 'Status', code, reason, details });
  const published = JSON.stringify(publishedPolicySettings(operatorPolicy, DateTime.utc(), 'op-1'));

  it.each([
    [
      404,
      status(404, 'NotFound', { name: 'cluster' }),
      /^no HostNamespaceGrantIndex cluster: the operator has not run/,
    ],
    [404, '404 page not found', /^the hostnamespacegrantindexes\.hostns\.io CRD is not installed/],
    [
      403,
      status(403, 'Forbidden'),
      /^not allowed to read HostNamespaceGrantIndex cluster \(get hostnamespacegrantindexes/,
    ],
    [500, status(500, 'InternalError'), /^reading HostNamespaceGrantIndex cluster: the API server answered 500/],
    [200, '"not an object"', /^the operator has not published its settings/],
    [200, { metadata: { annotations: 7 } }, /^the operator has not published its settings/],
    [200, { metadata: { annotations: { 'hostns.io/policy-settings': '{' } } }, /ignored: is not JSON: /],
  ])('%s %j: unavailable, saying why', async (code, body, why) => {
    const source = await answer(code, body);
    expect(source.kind).toBe('unavailable');
    if (source.kind === 'unavailable') expect(source.why).toMatch(why);
  });

  it('a published value: the operator’s settings', async () => {
    const source = await answer(200, { metadata: { annotations: { 'hostns.io/policy-settings': published } } });
    expect(source).toMatchObject({ kind: 'operator', read: { publishedBy: 'op-1' } });
  });
});
