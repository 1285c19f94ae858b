// Faults of issue 13 on the in-memory fake API: a leader whose term ended writes nothing; a
// reconcile waits for the relist of the caches it reads; health says what the watches and the
// retries are doing. Fake timers for setTimeout and Date; the election's monotonic clock injected.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DateTime } from 'luxon';
import { Operator } from '../../src/controller/operator.ts';
import { OperatorMetrics } from '../../src/http/metrics.ts';
import type { ElectionClocks } from '../../src/kube/lease.ts';
import { silentLogger } from '../../src/logging.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import {
  EXCEPTIONS,
  FAKE_LEADER_ELECTION,
  FakeKubeApi,
  GRANTS,
  Recorder,
  exceptionObj,
  podObj,
  settle,
  startOperator,
  useFakeClock,
} from '../fake/cluster.ts';

const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });
const running: Operator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
  vi.useRealTimers();
});

const labels = (api: FakeKubeApi, ns: string, name: string) =>
  (api.get('pods', ns, name)?.metadata.labels ?? {}) as Record<string, string>;
const eventsOf = (api: FakeKubeApi, ns: string, reason: string) =>
  api.list('events', ns).filter((e) => (e as { reason?: string }).reason === reason);
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
/** Fake time in small steps: the fake API answers on real turns of the event loop (setImmediate). */
const advance = async (ms: number) => {
  for (let t = 0; t < ms; t += 250) {
    await vi.advanceTimersByTimeAsync(250);
    await turns(5);
  }
};

describe('leader writes bounded by the term', () => {
  /** A monotonic clock the test moves: a pause of the process is a jump of it (and of the wall clock). */
  function pausableClocks(): { clocks: ElectionClocks; pause: (ms: number) => void } {
    let extra = 0;
    return {
      clocks: {
        monotonicMs: () => Date.now() + extra,
        wallNow: () => DateTime.fromMillis(Date.now() + extra, { zone: 'utc' }),
      },
      pause: (ms) => void (extra += ms),
    };
  }

  async function leader(api: FakeKubeApi, clocks: ElectionClocks): Promise<Operator> {
    const operator = new Operator({
      client: api,
      policy: DEFAULT_POLICY,
      logger: silentLogger(),
      identity: 'leader-a',
      maxConcurrentReconciles: 2,
      leaderElection: FAKE_LEADER_ELECTION,
      electionClocks: clocks,
    });
    running.push(operator);
    await operator.start();
    for (let i = 0; i < 100 && !operator.isLeader; i++) await turns(1);
    expect(operator.isLeader).toBe(true);
    await settle(operator);
    return operator;
  }

  it('past its renew deadline (a pause), a leader writes nothing, whatever was queued; a renewed term resumes', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    const { clocks, pause } = pausableClocks();
    const operator = await leader(api, clocks);
    const writesBefore = api.writes().length;

    // The process was paused 11 s (renew deadline 10 s): its timers have not run yet when work arrives.
    pause(11_000);
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    await turns(50);
    expect(operator.isLeader).toBe(false);
    expect(api.writes().length).toBe(writesBefore);
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toEqual([]);

    // The next retry period renews the Lease (nobody took it): a new term, and the work is done.
    await vi.advanceTimersByTimeAsync(2_500);
    await settle(operator);
    expect(operator.isLeader).toBe(true);
    expect(labels(api, 'team', 'offender')['hostns.io/violation']).toBe('true');
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toHaveLength(1);
  });

  it('a Lease taken by another replica ends the term: queued work is not written', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    const { clocks, pause } = pausableClocks();
    const operator = await leader(api, clocks);
    // Another replica holds the Lease now (after our deadline passed, as it may).
    const lease = api.get('leases', 'ops', 'hostns-operator')!;
    api.put('leases', { ...lease, spec: { ...(lease.spec as object), holderIdentity: 'leader-b' } });
    pause(11_000);
    const dataWrites = () => api.writes().filter((w) => !w.path.includes('/leases')).length;
    const writesBefore = dataWrites();
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    await vi.advanceTimersByTimeAsync(2_500); // its next attempt sees b's Lease
    await turns(50);
    expect(operator.isLeader).toBe(false);
    expect(dataWrites()).toBe(writesBefore);
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toEqual([]);
    expect(labels(api, 'team', 'offender')['hostns.io/violation']).toBeUndefined();
  });
});

describe('act only on a current cache', () => {
  it('after a 410, reconciles wait for the relist of every cache: no Event for a pod deleted meanwhile', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.put('pods', podObj('team', 'agent-1', { app: 'agent' }, { hostNetwork: true }));
    const { operator } = await startOperator(api);
    running.push(operator);
    expect(labels(api, 'team', 'agent-1')['hostns.io/exception']).toBe('agents');

    // While the operator is not watching: the exception and its pod are deleted, history compacted.
    api.remove(EXCEPTIONS, 'team', 'agents');
    api.remove('pods', 'team', 'agent-1');
    api.compact();
    // The pods relist fails three times (an API server still starting); the exceptions relist works.
    api.failNext('GET', '/api/v1/pods', 500, 3);
    api.closeWatches();
    const writesBefore = api.writes().length;
    await vi.advanceTimersByTimeAsync(600);
    await turns(50);
    // The exceptions cache saw the deletion, the pods cache still holds agent-1: no decision yet.
    expect(operator.caches.exceptions.size).toBe(0);
    expect(operator.caches.pods.has('team/agent-1')).toBe(true);
    expect(api.writes().length).toBe(writesBefore);
    expect(operator.manager.unreadyReasons(0)).toContainEqual(expect.stringMatching(/^pods: relist not completed/));

    await advance(10_000); // the retries: 0.5, 1, 2 s, then the relist lands
    await settle(operator);
    expect(operator.caches.pods.has('team/agent-1')).toBe(false);
    // Acting early would have raised a violation Event for agent-1, which no longer exists.
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toEqual([]);
    expect(api.get(GRANTS, 'team', 'grants')?.spec).toEqual({ grants: [] });
    expect(operator.manager.unreadyReasons(0)).toEqual([]);
  });
});

describe('act only on a current cache: an outage', () => {
  it('from a broken watch until it resumed (here: 410, relist), nothing is decided: a renewal made meanwhile is not undone', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ seconds: 30 })));
    api.put('pods', podObj('team', 'agent-1', { app: 'agent' }, { hostNetwork: true }));
    const observer = new Recorder();
    const { operator } = await startOperator(api, { observer });
    running.push(operator);
    expect(labels(api, 'team', 'agent-1')['hostns.io/exception']).toBe('agents');

    // The operator loses the API; another client renews the exception; history is compacted.
    api.offline = true;
    await turns(10);
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.compact();
    const writesBefore = api.writes().length;
    // The old expiry passes: its timer runs the reconcile, which waits for current caches instead
    // of deciding Expired on the old one (it would not even try a write).
    await advance(45_000);
    expect(operator.manager.watchStates().every((s) => !s.current)).toBe(true);
    expect(api.writes().length).toBe(writesBefore);

    api.offline = false;
    await advance(35_000); // the reflectors' backoff (ceiling 30 s), then 410 and the relist
    await settle(operator);
    expect(observer.watchRestarts.filter((r) => r.reason === 'expired').length).toBeGreaterThanOrEqual(1);
    expect(eventsOf(api, 'team', 'Expired')).toEqual([]);
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toEqual([]);
    expect(labels(api, 'team', 'agent-1')['hostns.io/exception']).toBe('agents');
    expect(labels(api, 'team', 'agent-1')['hostns.io/violation']).toBeUndefined();
    expect(operator.manager.unreadyReasons(0)).toEqual([]);
  });

  it('a watch that resumed without a 410 (nothing compacted) is current again after it settled', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    const observer = new Recorder();
    const { operator } = await startOperator(api, { observer });
    running.push(operator);
    api.offline = true;
    await advance(2_000);
    expect(operator.manager.unreadyReasons(0)).toContainEqual(expect.stringMatching(/^pods: no watch open/));
    api.put('pods', podObj('team', 'late', { app: 'other' }, { hostNetwork: true }));
    api.offline = false;
    await advance(10_000);
    await settle(operator);
    expect(operator.manager.watchStates().every((s) => s.current && s.connected)).toBe(true);
    expect(observer.watchRestarts.filter((r) => r.reason === 'expired')).toEqual([]);
    expect(labels(api, 'team', 'late')['hostns.io/violation']).toBe('true');
  });
});

describe('health that tells the truth', () => {
  it('/metrics: watches connected, retrying keys and their age, write failures by kind and reason', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    const metrics = new OperatorMetrics();
    const recorder = new Recorder();
    const observer = Object.assign(recorder, {
      writeFailed: (kind: string, reason: string) => metrics.writeFailed(kind, reason),
    });
    api.failNext('PATCH', '/pods/', 500, 1_000);
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    const { operator } = await startOperator(api, { observer });
    running.push(operator);
    metrics.attach(operator);
    const text = await metrics.registry.metrics();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('hostns_watch_connected{resource="pods"}')).toBe(1);
    expect(value('hostns_watch_connected{resource="hostnamespaceexceptions"}')).toBe(1);
    expect(value('hostns_watch_last_sync_age_seconds{resource="pods"}')).toBeGreaterThanOrEqual(0);
    expect(value('hostns_workqueue_retrying')).toBe(1);
    expect(value('hostns_workqueue_depth')).toBe(0); // the key in retry is not in the depth
    expect(value('hostns_workqueue_oldest_retry_age_seconds')).toBeGreaterThan(0);
    expect(value('hostns_write_failures_total{kind="podMarks",reason="InternalError"}')).toBe(1);
  });

  it('/readyz reasons: a watch down longer than the threshold; a short reconnect is not one', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    const { operator } = await startOperator(api);
    running.push(operator);
    expect(operator.manager.unreadyReasons(0)).toEqual([]);
    api.failNext('GET', '/api/v1/namespaces', 500, 1_000);
    api.compact();
    api.closeWatches();
    await vi.advanceTimersByTimeAsync(600);
    await turns(20);
    const states = operator.manager.watchStates();
    expect(states.find((s) => s.resource === 'namespaces')).toMatchObject({ connected: false, current: false });
    expect(operator.manager.unreadyReasons(60_000)).toEqual([]); // not down for a minute yet
    expect(operator.manager.unreadyReasons(0)).toEqual([expect.stringMatching(/^namespaces: relist not completed/)]);
    api.clearFaults();
    await advance(35_000); // the backoff grew while the relist failed (ceiling 30 s)
    await settle(operator);
    expect(operator.manager.unreadyReasons(0)).toEqual([]);
  });
});
