// The whole controller (manager, wiring, reconcilers, writes) against the in-memory fake API, with
// a fake clock: what the integration tests prove on a real API server, here in milliseconds, plus
// what a real server cannot stage on demand (faults at one exact request, 410 on one watch).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DateTime } from 'luxon';
import {
  EXCEPTIONS,
  FakeKubeApi,
  GRANTS,
  Recorder,
  exceptionObj,
  podObj,
  settle,
  startOperator,
  useFakeClock,
} from '../fake/cluster.ts';
import type { Operator } from '../../src/controller/operator.ts';

const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });
const running: Operator[] = [];

async function start(api: FakeKubeApi, opts: Parameters<typeof startOperator>[1] = {}) {
  const started = await startOperator(api, opts);
  running.push(started.operator);
  return started;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
  vi.useRealTimers();
});

const labels = (api: FakeKubeApi, ns: string, name: string) =>
  (api.get('pods', ns, name)?.metadata.labels ?? {}) as Record<string, string>;
const statusOf = (api: FakeKubeApi, ns: string, name: string) =>
  (
    api.get(EXCEPTIONS, ns, name) as
      | { status?: { phase?: string; coveredPods?: number; announced?: Record<string, string> } }
      | undefined
  )?.status;
const eventsOf = (api: FakeKubeApi, ns: string, reason: string) =>
  api.list('events', ns).filter((e) => (e as { reason?: string }).reason === reason) as unknown as {
    regarding: { name: string };
    reportingInstance: string;
  }[];

describe('operator on the fake API', () => {
  it('labels offenders and covered pods, writes status and grants, and never touches a clean pod', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.put('pods', podObj('team', 'covered', { app: 'agent' }, { hostNetwork: true }));
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    api.put('pods', podObj('team', 'clean', { app: 'agent' }));
    const { operator } = await start(api);
    await settle(operator);

    expect(labels(api, 'team', 'covered')).toMatchObject({ 'hostns.io/exception': 'agents' });
    expect(labels(api, 'team', 'offender')).toMatchObject({ 'hostns.io/violation': 'true' });
    expect(api.writes('/pods/clean')).toEqual([]);
    expect(eventsOf(api, 'team', 'HostNamespaceViolation').map((e) => e.regarding.name)).toEqual(['offender']);
    expect(statusOf(api, 'team', 'agents')).toMatchObject({
      phase: 'Active',
      coveredPods: 1,
      announced: { activated: expect.any(String) },
    });
    expect(api.get(GRANTS, 'team', 'grants')?.spec).toMatchObject({
      grants: [{ exception: 'agents', allow: ['hostNetwork'] }],
    });
    expect(api.get('hostnamespacegrantindexes', undefined, 'cluster')?.spec).toMatchObject({ namespaces: {} });
  });

  it('the echo of its own writes causes no further write, nor does a relist of the unchanged', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.put('pods', podObj('team', 'p1', { app: 'agent' }, { hostNetwork: true }));
    const recorder = new Recorder();
    const { operator } = await start(api, { observer: recorder });
    await settle(operator);
    const writes = api.writes().length;
    const reconciles = recorder.reconciles.length;
    // The grants object and the index first; then, with the grants written, the Activated Event and
    // the status that records it (Enforced=True); the pod's labels.
    expect(writes).toBe(5);

    // Server-side watch timeouts: every watch resumes (a watch closed having delivered nothing,
    // after the backoff floor); nothing new to do.
    api.closeWatches();
    await vi.advanceTimersByTimeAsync(1000);
    await settle(operator);
    // A relist (410 on resume) replays every object: unchanged, so nothing either.
    api.compact();
    api.closeWatches();
    await vi.advanceTimersByTimeAsync(1000);
    await settle(operator);
    expect(api.writes().length).toBe(writes);
    expect(recorder.watchRestarts.filter((r) => r.reason === 'expired').length).toBeGreaterThanOrEqual(1);
    // Nothing was even reconciled again: the resumed watches and the relist brought no change.
    expect(recorder.reconciles.length).toBe(reconciles);
  });

  it('lapses at expiresAt (timer from requeueAfter): Expired Event, status, grants, then pod relabels, in that order', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'short', T0.plus({ days: 10 })));
    api.put('pods', podObj('team', 'a1', { app: 'agent' }, { hostNetwork: true }));
    // One worker: the lanes alone decide the order of the writes.
    const { operator } = await start(api, { maxConcurrentReconciles: 1 });
    await settle(operator);
    expect(statusOf(api, 'team', 'short')?.phase).toBe('Active');
    const before = api.requests.length;

    // Three days before: ExpiringSoon (7 d window), announced once.
    await vi.advanceTimersByTimeAsync(T0.plus({ days: 3 }).diff(T0).toMillis() + 10);
    await settle(operator);
    expect(statusOf(api, 'team', 'short')?.phase).toBe('ExpiringSoon');
    expect(eventsOf(api, 'team', 'ExpiringSoon')).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(T0.plus({ days: 10 }).diff(DateTime.utc()).toMillis() + 10);
    await settle(operator);
    expect(statusOf(api, 'team', 'short')).toMatchObject({
      phase: 'Expired',
      coveredPods: 0,
      announced: { expired: expect.any(String) },
    });
    expect(eventsOf(api, 'team', 'Expired')).toHaveLength(1);
    expect(labels(api, 'team', 'a1')['hostns.io/violation']).toBe('true');
    expect(api.get(GRANTS, 'team', 'grants')?.spec).toEqual({ grants: [] });

    const lapse = api.requests.slice(before).filter((r) => r.method !== 'GET' && r.method !== 'WATCH');
    const kinds = lapse.map((r) =>
      r.path.includes('/events')
        ? 'event'
        : r.path.endsWith('/status')
          ? 'status'
          : r.path.includes(GRANTS)
            ? 'grants'
            : 'pod',
    );
    // ExpiringSoon: event + status; Expired: event + status, grants, then the pod's violation Event and label.
    expect(kinds).toEqual(['event', 'status', 'event', 'status', 'grants', 'event', 'pod']);
  });

  it('lanes: when many exceptions lapse at once, every Expired Event leaves before any status write, those before pod work', async () => {
    // Real timers and a clock running with them, 1.5 s before the expiry: every lapse timer has the
    // same deadline, so all of them fire in one turn, before any answer arrives (as in production).
    const expiresAt = DateTime.utc().plus({ days: 10 }).startOf('second');
    const offset = expiresAt.minus({ milliseconds: 1500 }).toMillis() - Date.now();
    const clock = () => DateTime.fromMillis(Date.now() + offset, { zone: 'utc' });
    const api = new FakeKubeApi();
    for (let i = 0; i < 12; i++) {
      api.put(EXCEPTIONS, exceptionObj(`ns${i}`, 'x', expiresAt));
      api.put('pods', podObj(`ns${i}`, 'p', { app: 'agent' }, { hostNetwork: true }));
    }
    const { operator } = await start(api, { maxConcurrentReconciles: 2, clock });
    await settle(operator);
    expect(statusOf(api, 'ns3', 'x')?.phase).toBe('ExpiringSoon');
    const before = api.requests.length;
    await new Promise((r) => setTimeout(r, expiresAt.diff(clock()).toMillis() + 60));
    await settle(operator);

    const writes = api.requests.slice(before).filter((r) => r.method !== 'GET' && r.method !== 'WATCH');
    const idx = (pred: (p: string) => boolean) => writes.map((w, i) => (pred(w.path) ? i : -1)).filter((i) => i >= 0);
    const expiredEvents = idx((p) => p.includes('/events')).slice(0, 12);
    const statuses = idx((p) => p.endsWith('/status'));
    const podWork = idx((p) => p.includes('/pods/'));
    expect(statuses).toHaveLength(12);
    expect(podWork).toHaveLength(12);
    expect(Math.max(...expiredEvents)).toBeLessThan(Math.min(...statuses));
    expect(Math.max(...statuses)).toBeLessThan(Math.min(...podWork));
    expect(eventsOf(api, 'ns3', 'Expired')).toHaveLength(1);
  });

  it('exactly once across a restart: Event created, status write lost; the next operator finds the Event (409) and records it', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'lapsing', T0.plus({ days: 1 })));
    const first = await start(api);
    await settle(first.operator);
    // From now on every status write fails: the Expired Event exists, status does not record it.
    api.failNext('PUT', '/status', 503, 1_000);
    await vi.advanceTimersByTimeAsync(T0.plus({ days: 1 }).diff(T0).toMillis() + 10);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(eventsOf(api, 'team', 'Expired')).toHaveLength(1);
    expect(statusOf(api, 'team', 'lapsing')?.announced?.expired).toBeUndefined();
    await first.operator.stop();
    running.splice(running.indexOf(first.operator), 1);

    api.clearFaults();
    const second = await start(api);
    await settle(second.operator);
    expect(eventsOf(api, 'team', 'Expired')).toHaveLength(1);
    expect(eventsOf(api, 'team', 'Expired')[0]!.reportingInstance).toBe('test-operator');
    expect(statusOf(api, 'team', 'lapsing')?.announced?.expired).toBe(
      T0.plus({ days: 1 }).toISO({ suppressMilliseconds: true }),
    );
    expect(second.observer.events).toContainEqual({ reason: 'Expired', outcome: 'exists' });
    expect(second.observer.events.filter((e) => e.outcome === 'created')).toEqual([]);
  });

  it('retries a failed write with backoff until it succeeds', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.failNext('PATCH', '/pods/', 500, 2);
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    const { operator, observer } = await start(api);
    await settle(operator);
    expect(labels(api, 'team', 'offender')['hostns.io/violation']).not.toBe('true');
    expect(observer.errors()).toBe(1);
    await vi.advanceTimersByTimeAsync(250); // first retry: 200 ms +-20 %
    await settle(operator);
    await vi.advanceTimersByTimeAsync(500); // second: 400 ms +-20 %
    await settle(operator);
    expect(labels(api, 'team', 'offender')['hostns.io/violation']).toBe('true');
    expect(observer.errors()).toBe(2);
    expect(api.writes('/pods/offender').map((w) => w.status)).toEqual([500, 500, 200]);
    // The violation Event was raised once: the retries found it (409).
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toHaveLength(1);
  });

  it('a terminal error (status refused as invalid) is not retried; the next change of the exception runs it again', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.failNext('PUT', '/status', 422);
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    const { operator, observer } = await start(api);
    await vi.advanceTimersByTimeAsync(120_000);
    await settle(operator);
    expect(api.writes('/status').map((w) => w.status)).toEqual([422]);
    expect(observer.errors()).toBe(1);

    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 20 })));
    await settle(operator);
    expect(api.writes('/status').map((w) => w.status)).toEqual([422, 200]);
    expect(statusOf(api, 'team', 'agents')?.phase).toBe('Active');
  });

  it('a pod deleted under a write (404) is done; a pod replaced under the same name (uid precondition) is retried', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.failNext('PATCH', '/pods/gone', 404);
    api.put('pods', podObj('team', 'gone', { app: 'other' }, { hostNetwork: true }));
    const { operator, observer } = await start(api);
    await settle(operator);
    expect(observer.errors()).toBe(0);

    // Replaced between the decision and the PATCH: the fake sees a uid mismatch (409).
    api.failNext('PATCH', '/pods/replaced', 409);
    api.put('pods', podObj('team', 'replaced', { app: 'other' }, { hostNetwork: true }));
    await settle(operator);
    expect(observer.errors()).toBe(1);
    await vi.advanceTimersByTimeAsync(300);
    await settle(operator);
    expect(labels(api, 'team', 'replaced')['hostns.io/violation']).toBe('true');
  });

  it('relists after 410 Gone and converges on what changed while it was not watching', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    const { operator, observer } = await start(api);
    api.compact();
    api.closeWatches();
    api.put('pods', podObj('team', 'late', { app: 'other' }, { hostNetwork: true }));
    // A watch closed at once, having delivered nothing, reconnects after the backoff floor.
    await vi.advanceTimersByTimeAsync(1000);
    await settle(operator);
    expect(labels(api, 'team', 'late')['hostns.io/violation']).toBe('true');
    expect(observer.watchRestarts).toContainEqual({ resource: 'pods', reason: 'expired' });
  });

  it("a relabelled pod refreshes its exceptions' coveredPods at most once a second", async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    const { operator } = await start(api);
    for (let i = 0; i < 5; i++) api.put('pods', podObj('team', `p${i}`, { app: 'agent' }, { hostNetwork: true }));
    await settle(operator);
    expect(statusOf(api, 'team', 'agents')?.coveredPods).toBe(5);
    // Five pods in one burst: one status write (the throttle coalesced them).
    expect(api.writes('/status').length).toBe(2); // the first (Activated) and one for the burst
  });
});
