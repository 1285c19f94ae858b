// Issue 13 item 8 on a real API server: watches that expire (410) after an outage. This file starts
// its own control plane with `--watch-cache=false`, so every watch is served by etcd and a watch
// resumed at a compacted revision is answered 410 (a watch cache would serve it from its own
// window). The operator reaches the API through a TCP proxy; the test cuts it, changes the
// cluster, compacts etcd through its JSON gateway and restores the proxy. Deterministic by
// construction: the old expiry of a renewed exception passes while the operator is blind, so a
// decision on the old cache would lapse it; no assertion is on timing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { ControlPlane } from '../../tools/controlplane/controlplane.ts';
import { exceptionBody } from '../harness/exceptions.ts';
import { eventually } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';
import { loggedWrites } from '../harness/write-audit.ts';

let cp: ControlPlane;
let proxy: TcpProxy;
let op: OperatorProcess | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'hostns-compacted-'));

/** kubectl against this file's own control plane (never through the proxy). */
function k(args: string[], input?: string): string {
  const r = spawnSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const getJson = <T>(args: string[]): T => JSON.parse(k([...args, '-o', 'json'])) as T;

type Pod = { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
type Event = { reason: string; regarding: { name: string } };
const podLabels = (ns: string, name: string) => getJson<Pod>(['get', 'pod', '-n', ns, name]).metadata.labels ?? {};
/** Waits until pod `name` carries label `key`=`value`. */
const labelled = (ns: string, name: string, key: string, value: string, what: string, timeoutMs: number) =>
  eventually(() => (podLabels(ns, name)[key] === value ? true : undefined), timeoutMs, what);
const events = (ns: string, reason: string, regarding?: string) =>
  getJson<{ items: Event[] }>(['get', 'events.events.k8s.io', '-n', ns]).items.filter(
    (e) => e.reason === reason && (!regarding || e.regarding.name === regarding),
  );
const createPod = (ns: string, name: string, app: string) =>
  k(
    ['create', '-n', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app } },
      spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
    }),
  );
const createException = (ns: string, name: string, spec: Record<string, unknown>) =>
  k(['create', '-n', ns, '-f', '-'], JSON.stringify(exceptionBody(name, spec)));
/** The resources of the log lines whose message is `message` (the operator logs JSON lines). */
function resourcesLogged(log: string, message: string): Set<string> {
  const found = new Set<string>();
  for (const line of log.split('\n')) {
    if (!line.includes(`"message":"${message}"`)) continue;
    found.add((JSON.parse(line) as { resource: string }).resource);
  }
  return found;
}
/** The resources whose watch the operator logged as expired (410) and relisted. */
const relisted = (log: string) => resourcesLogged(log, 'watch expired, relisting');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cp = await ControlPlane.start({ apiserverArgs: ['--watch-cache=false'] });
  k(['apply', '-f', 'crds/']);
  k(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=hostns-operator']);
  proxy = new TcpProxy({ host: '127.0.0.1', port: Number(new URL(cp.server).port) });
  await proxy.listen();
}, 180_000);

afterAll(async () => {
  await op?.kill('SIGKILL');
  await proxy?.down();
  await cp?.stop();
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('watches expired by etcd compaction during an outage (real 410)', () => {
  it(
    'relists every cache, decides nothing on the old one meanwhile, and converges on what changed',
    { timeout: 240_000 },
    async () => {
      const ns = 'compacted';
      k(['create', 'namespace', ns]);
      op = await OperatorProcess.start(
        ['--log-level', 'debug'],
        proxy.kubeconfigThrough(cp.kubeconfigPath, join(scratch, 'kc')),
      );
      // `renewed` lapses 30 s from now unless renewed: it will be, while the operator is blind.
      const oldExpiry = DateTime.utc().plus({ seconds: 30 });
      createException(ns, 'renewed', { expiresAt: oldExpiry.toISO({ suppressMilliseconds: true }) });
      createException(ns, 'dropped', { podSelector: { matchLabels: { app: 'orphan' } } });
      // The exceptions first: `kept` and `orphan` are never offenders before the outage.
      await eventually(
        () =>
          getJson<{ items: unknown[] }>(['get', 'hostnamespacegrantsets', '-n', ns]).items.length ? true : undefined,
        20_000,
        'the grants object of the namespace',
      );
      createPod(ns, 'orphan', 'orphan');
      createPod(ns, 'moved', 'stray');
      createPod(ns, 'kept', 'agent');
      await labelled(ns, 'kept', 'hostns.io/exception', 'renewed', 'kept covered by renewed', 20_000);
      await labelled(ns, 'moved', 'hostns.io/violation', 'true', 'moved an offender', 20_000);
      expect(podLabels(ns, 'orphan')['hostns.io/exception']).toBe('dropped');
      await op.converged(30_000);
      expect(events(ns, 'HostNamespaceViolation', 'moved')).toHaveLength(1);
      expect(events(ns, 'HostNamespaceViolation', 'kept')).toEqual([]);
      expect(events(ns, 'HostNamespaceViolation', 'orphan')).toEqual([]);

      // The outage: every connection of the operator cut, new ones refused.
      await proxy.down();
      const cutAt = op.log.length;
      expect(DateTime.utc() < oldExpiry, 'the cut must come before the old expiry (setup too slow)').toBe(true);
      // Meanwhile, as other clients: renewed for 30 days, `dropped` deleted, `moved` relabelled
      // into `renewed`'s selector.
      k([
        'patch',
        'hnse',
        '-n',
        ns,
        'renewed',
        '--type=merge',
        '-p',
        JSON.stringify({
          spec: {
            expiresAt: DateTime.utc().plus({ days: 30 }).toISO({ suppressMilliseconds: true }),
            // A renewal is a fresh risk acceptance (the CRD refuses an extension without one).
            riskAcceptance: { acceptedAt: DateTime.utc().minus({ seconds: 1 }).toISO({ suppressMilliseconds: true }) },
          },
        }),
      ]);
      k(['delete', 'hnse', '-n', ns, 'dropped']);
      k(['label', 'pod', '-n', ns, 'moved', 'app=agent', '--overwrite']);
      // The old expiry passes while the operator is blind: its timer fires on the old cache.
      while (DateTime.utc() < oldExpiry.plus({ seconds: 2 })) await sleep(500);
      const revision = await cp.compactEtcd();
      const blind = op.log.slice(cutAt);
      await proxy.up();

      // Every watch resumed at a compacted revision: 410, then a relist, for each cache the operator
      // listed at start (ten of them; the set is read from its log, not counted here: it was once
      // an exact count, which a poll could step over when two caches relisted between two looks).
      // The last retry is due up to the backoff ceiling (30 s + jitter) after the proxy is back.
      const caches = resourcesLogged(op.log.slice(0, cutAt), 'listed');
      expect(caches.size).toBeGreaterThanOrEqual(5);
      await eventually(
        () => {
          const missing = [...caches].filter((r) => !relisted(op!.log.slice(cutAt)).has(r));
          if (missing.length) throw new Error(`no 410 and relist yet for ${missing.join(', ')}`);
          return true;
        },
        90_000,
        'a 410 and a relist for each watch',
      );
      await op.converged(60_000);
      // /metrics tells on-call the relists happened and how long the pods one took.
      expect(await op.metric('hostns_cache_lists_total', 'resource="pods"')).toBeGreaterThanOrEqual(2);
      expect(await op.metric('hostns_cache_last_list_seconds', 'resource="pods"')).toBeGreaterThan(0);
      await labelled(
        ns,
        'orphan',
        'hostns.io/violation',
        'true',
        'orphan an offender once its exception is known deleted',
        30_000,
      );
      await labelled(ns, 'moved', 'hostns.io/exception', 'renewed', 'moved covered by renewed', 30_000);
      await op.converged(30_000);
      console.log(
        `[figures] compacted at etcd revision ${revision}; writes the operator made after the outage:\n  ` +
          loggedWrites(op.log.slice(cutAt)).join('\n  '),
      );

      // Nothing was decided on the old cache: not even a write attempted while blind ...
      expect(loggedWrites(blind)).toEqual([]);
      // ... and none after: the renewal stands, no lapse, no false violation.
      expect(events(ns, 'Expired')).toEqual([]);
      expect(events(ns, 'HostNamespaceViolation', 'kept')).toEqual([]);
      expect(events(ns, 'HostNamespaceViolation', 'moved')).toHaveLength(1); // the one before the outage
      expect(loggedWrites(op.log.slice(cutAt)).filter((w) => w.includes('/pods/kept'))).toEqual([]);
      const renewed = getJson<{ status: { phase: string; announced?: Record<string, string>; coveredPods: number } }>([
        'get',
        'hnse',
        '-n',
        ns,
        'renewed',
      ]).status;
      expect(renewed.phase).toBe('Active');
      expect(renewed.announced?.expired).toBeUndefined();
      expect(renewed.coveredPods).toBe(2);
      // The end state: labels as the pods' specs and the exceptions now say.
      expect(podLabels(ns, 'kept')).toMatchObject({ 'hostns.io/exception': 'renewed' });
      expect(podLabels(ns, 'moved')['hostns.io/violation']).toBeUndefined();
      expect(podLabels(ns, 'orphan')['hostns.io/exception']).toBeUndefined();
      expect(events(ns, 'HostNamespaceViolation', 'orphan')).toHaveLength(1);
    },
  );
});
