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
      { status?: { phase?: string; coveredPods?: number; announced?: Record<string, string> } } | undefined
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
    // The grant is gone; the exception stays named, granting nothing, for the refusal message.
    const spec = api.get(GRANTS, 'team', 'grants')?.spec as { grants: unknown[]; lapsed?: { exception: string }[] };
    expect(spec.grants).toEqual([]);
    expect(spec.lapsed?.map((l) => l.exception)).toEqual(['short']);

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

  it("a DaemonSet's pods offending after a lapse: one Event on each pod, one on the DaemonSet (one POST), none after a restart", async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 1 })));
    const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'uid-ds', controller: true };
    for (const n of ['agent-a', 'agent-b', 'agent-c']) {
      const pod = podObj('team', n, { app: 'agent' }, { hostNetwork: true });
      api.put('pods', { ...pod, metadata: { ...pod.metadata, ownerReferences: [ds] } });
    }
    const first = await start(api);
    await settle(first.operator);
    await vi.advanceTimersByTimeAsync(T0.plus({ days: 1 }).diff(T0).toMillis() + 10);
    await settle(first.operator);
    const violations = () => eventsOf(api, 'team', 'HostNamespaceViolation');
    expect(
      violations()
        .map((e) => e.regarding.name)
        .sort(),
    ).toEqual(['agent', 'agent-a', 'agent-b', 'agent-c']);
    const onDs = violations().find((e) => e.regarding.name === 'agent') as unknown as {
      regarding: { kind: string; uid: string };
      note: string;
    };
    expect(onDs.regarding).toMatchObject({ kind: 'DaemonSet', uid: 'uid-ds' });
    expect(onDs.note).toMatch(
      /^DaemonSet agent has pods using hostNetwork \(first: pod agent-.\).* Caused by the lapse of exception agents/,
    );
    const posts = api.requests.filter((r) => r.method === 'POST' && r.path.includes('/events'));
    // Every Event posted once: lifecycle Events, three pods, the DaemonSet's (no 409 from its siblings).
    expect(posts.map((r) => r.status)).toEqual(posts.map(() => 201));
    expect(posts.length).toBe(api.list('events', 'team').length);
    await first.operator.stop();
    running.splice(running.indexOf(first.operator), 1);

    const second = await start(api);
    await settle(second.operator);
    expect(violations()).toHaveLength(4);
    expect(api.requests.filter((r) => r.method === 'POST' && r.path.includes('/events')).length).toBe(posts.length);
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

  it('a grants write refused (403, e.g. a quota) is retried, never terminal; once it lands the namespace is in the index', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    // As a real API server mostly does: our create's response arrives before its watch event.
    api.watchLagsResponses = true;
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.failNext('POST', '/namespaces/team/hostnamespacegrantsets', 403, 12);
    const { operator } = await start(api);
    const index = () =>
      (api.get('hostnamespacegrantindexes', undefined, 'cluster')?.spec as { namespaces: object }).namespaces;
    expect(index()).toEqual({});
    expect(statusOf(api, 'team', 'agents')).toMatchObject({ phase: 'Active' });
    // Retried with backoff, capped at 60 s (+-20 %): 12 refusals take about 3 minutes.
    for (let t = 0; t < 6 * 60 && !api.get(GRANTS, 'team', 'grants'); t++) {
      await vi.advanceTimersByTimeAsync(1000);
      await settle(operator);
    }
    const posts = api.writes('/namespaces/team/hostnamespacegrantsets').map((w) => w.status);
    expect(posts).toEqual([...Array<number>(12).fill(403), 201]);
    // Nothing else changed in the cluster: the grants object's own appearance brings the index.
    await settle(operator);
    expect(index()).toEqual({ team: expect.any(String) });
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

  it('a pod flipped 100 times between covered and offender by another client: one violation Event per cause, bounded writes', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.put('pods', podObj('team', 'p', { app: 'agent' }, { hostNetwork: true }));
    api.put('pods', podObj('team', 'never', { app: 'other' }, { hostNetwork: true }));
    const { operator } = await start(api);
    await settle(operator);
    const relabel = (name: string, app: string) =>
      api.request('PATCH', `/api/v1/namespaces/team/pods/${name}`, {
        body: { metadata: { labels: { app } } },
        contentType: 'application/merge-patch+json',
      });
    const podWrites = () => api.writes('/pods/').length;
    const before = podWrites();
    for (let i = 0; i < 100; i++) {
      await relabel('p', i % 2 === 0 ? 'other' : 'agent');
      await relabel('never', `other-${i}`); // offender throughout: its labels change, not its cause
      if (i % 3 === 0) await settle(operator); // sometimes the operator sees every flip, sometimes only the last
    }
    await relabel('p', 'other');
    await settle(operator);
    const violations = eventsOf(api, 'team', 'HostNamespaceViolation') as unknown as {
      regarding: { name: string };
      note: string;
    }[];
    expect(violations.filter((e) => e.regarding.name === 'never')).toHaveLength(1);
    const forP = violations.filter((e) => e.regarding.name === 'p');
    expect(forP).toHaveLength(1);
    expect(forP[0]!.note).toContain('exception agents no longer selecting it');
    expect(labels(api, 'team', 'p')['hostns.io/violation']).toBe('true');
    // Our writes: at most one Event and one label patch per flip we saw (202 flips of our own here).
    const ours = podWrites() - before - 202;
    expect(ours).toBeLessThanOrEqual(101);
    expect(api.writes('/events').length).toBeLessThanOrEqual(1 + 2 + 2); // Activated, two violations, slack
  });

  it('operators killed and restarted during churn never duplicate a violation Event', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    let operator = (await start(api)).operator;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) {
        const name = `p${round}-${i}`;
        api.put('pods', podObj('team', name, { app: i % 2 ? 'agent' : 'other' }, { hostNetwork: true }));
        // As a kubelet would: the new pod's status, a moment later.
        await api.request('PATCH', `/api/v1/namespaces/team/pods/${name}`, {
          body: { status: { phase: 'Running' } },
          contentType: 'application/merge-patch+json',
        });
      }
      // Killed mid-work: some Events raised, some marks not yet written.
      for (let k = 0; k < 5 + round; k++) await new Promise((r) => setImmediate(r));
      await operator.stop();
      running.splice(running.indexOf(operator), 1);
      operator = (await start(api)).operator;
    }
    await settle(operator);
    const violations = eventsOf(api, 'team', 'HostNamespaceViolation');
    const perPod = new Map<string, number>();
    for (const e of violations) perPod.set(e.regarding.name, (perPod.get(e.regarding.name) ?? 0) + 1);
    expect([...perPod.values()].every((n) => n === 1)).toBe(true);
    expect(perPod.size).toBe(25); // exactly the offenders
  });

  it.each([
    ['the violation label and annotation', { 'hostns.io/violation': 'true' }, { 'hostns.io/violation': 'hostNetwork' }],
    [
      'a marker with a wrong hash',
      { 'hostns.io/violation': 'true' },
      { 'hostns.io/violation-event': `${'a'.repeat(32)} hostNetwork` },
    ],
    ['a marker of another pod', {}, { 'hostns.io/violation-event': 'OTHER' }],
    ['exception marks', { 'hostns.io/exception': 'agents' }, { 'hostns.io/exceptions': 'agents' }],
    [
      'every key at once',
      { 'hostns.io/violation': 'true', 'hostns.io/exception': 'x' },
      { 'hostns.io/violation': 'hostNetwork', 'hostns.io/exceptions': 'x', 'hostns.io/violation-event': 'garbage' },
    ],
  ])(
    'a pod created with forged %s still gets its Event and right marks',
    async (_what, forgedLabels, forgedAnnotations) => {
      useFakeClock(T0);
      const { violationMarker } = await import('../../src/policy/violation.ts');
      const api = new FakeKubeApi();
      const { operator } = await start(api);
      const pod = podObj('team', 'sneaky', { app: 'other', ...forgedLabels }, { hostNetwork: true }) as ReturnType<
        typeof podObj
      > & {
        metadata: { annotations?: Record<string, string> };
      };
      // A marker genuine for some other pod: the uid differs.
      const annotations = Object.fromEntries(
        Object.entries(forgedAnnotations).map(([k, v]) => [
          k,
          v === 'OTHER' ? violationMarker('uid-1', 'hostNetwork') : v,
        ]),
      );
      pod.metadata.annotations = { keep: 'me', ...annotations };
      api.put('pods', pod);
      await settle(operator);
      expect(eventsOf(api, 'team', 'HostNamespaceViolation').map((e) => e.regarding.name)).toEqual(['sneaky']);
      const meta = api.get('pods', 'team', 'sneaky')!.metadata as unknown as {
        uid: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      expect(meta.labels).toEqual({ app: 'other', 'hostns.io/violation': 'true' });
      const { markedCause } = await import('../../src/policy/violation.ts');
      expect(markedCause(meta.uid, meta.annotations['hostns.io/violation-event'])).toMatch(/^hostNetwork/);
      expect(meta.annotations).toMatchObject({ keep: 'me', 'hostns.io/violation': 'hostNetwork' });
      expect(meta.annotations['hostns.io/exceptions']).toBeUndefined();
      // Converged: a restart writes nothing.
      const writes = api.writes().length;
      await operator.stop();
      running.splice(running.indexOf(operator), 1);
      await start(api);
      expect(api.writes().length).toBe(writes);
    },
  );

  it.each([
    ['422 (note refused)', 422],
    ['400', 400],
    ['403 (no right to create Events)', 403],
  ])(
    'an Event refused with %s never stops the label, status or grants after it: counted, not retried',
    async (_w, code) => {
      useFakeClock(T0);
      const api = new FakeKubeApi();
      api.failNext('POST', '/events', code, 1_000);
      api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
      api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
      const { operator, observer } = await start(api);
      await settle(operator);
      expect(labels(api, 'team', 'offender')['hostns.io/violation']).toBe('true');
      expect(statusOf(api, 'team', 'agents')?.phase).toBe('Active');
      expect(api.get(GRANTS, 'team', 'grants')?.spec).toMatchObject({ grants: [{ exception: 'agents' }] });
      expect(observer.writeFailures.filter((f) => f.write === 'event')).toHaveLength(2); // Activated, violation
      expect(observer.errors()).toBe(0);
      await vi.advanceTimersByTimeAsync(60_000);
      await settle(operator);
      expect(api.writes('/events')).toHaveLength(2); // not retried
    },
  );

  it('an Event failing with a retryable error (503, 429) is retried before the label', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.failNext('POST', '/events', 503, 1);
    api.failNext('POST', '/events', 429, 1);
    api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
    const { operator, observer } = await start(api);
    await settle(operator);
    expect(labels(api, 'team', 'offender')['hostns.io/violation']).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2_000);
    await settle(operator);
    expect(labels(api, 'team', 'offender')['hostns.io/violation']).toBe('true');
    expect(eventsOf(api, 'team', 'HostNamespaceViolation')).toHaveLength(1);
    expect(observer.writeFailures).toEqual([]);
  });

  it.each([
    ['422', 422],
    ['400', 400],
    ['413', 413],
  ])('marks refused with %s: the label is written alone, counted, not retried for ever', async (_w, code) => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.failNext('PATCH', '/pods/big', code, 1);
    api.put('pods', podObj('team', 'big', { app: 'other' }, { hostNetwork: true }));
    const { operator, observer } = await start(api);
    await settle(operator);
    expect(labels(api, 'team', 'big')['hostns.io/violation']).toBe('true');
    expect(observer.writeFailures).toEqual([{ write: 'podMarks', reason: 'InternalError' }]);
    expect(observer.errors()).toBe(0);
    // The labels alone right after the refusal (a later reconcile may write the annotations: the fault was one-off).
    expect(
      api
        .writes('/pods/big')
        .map((w) => w.status)
        .slice(0, 2),
    ).toEqual([code, 200]);
  });

  it('marks and labels alone both refused: a terminal error, logged and counted once, not retried', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.failNext('PATCH', '/pods/big', 422, 2);
    api.put('pods', podObj('team', 'big', { app: 'other' }, { hostNetwork: true }));
    const { operator, observer } = await start(api);
    await settle(operator);
    await vi.advanceTimersByTimeAsync(60_000);
    await settle(operator);
    expect(api.writes('/pods/big').map((w) => w.status)).toEqual([422, 422]);
    expect(observer.errors()).toBe(1);
    expect(observer.writeFailures).toHaveLength(1);
  });

  it('status.coveredPods counts only fully covered pods (hostNetwork+hostPID under a hostNetwork-only exception is not)', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
    api.put('pods', podObj('team', 'full', { app: 'agent' }, { hostNetwork: true }));
    api.put('pods', podObj('team', 'partly', { app: 'agent' }, { hostNetwork: true, hostPID: true }));
    const { operator } = await start(api);
    await settle(operator);
    expect(statusOf(api, 'team', 'agents')?.coveredPods).toBe(1);
    expect(labels(api, 'team', 'partly')['hostns.io/violation']).toBe('true');
  });

  it.each([
    ['matchLabels on hostns.io/violation', { matchLabels: { 'hostns.io/violation': 'true' } }],
    [
      'DoesNotExist on hostns.io/exception',
      { matchExpressions: [{ key: 'hostns.io/exception', operator: 'DoesNotExist' }] },
    ],
  ])(
    'a selector naming our own marks (%s) cannot make a pod loop: bounded writes and Events',
    async (_what, podSelector) => {
      useFakeClock(T0);
      const api = new FakeKubeApi();
      api.put(EXCEPTIONS, exceptionObj('team', 'self', T0.plus({ days: 30 }), { podSelector }));
      api.put('pods', podObj('team', 'p', { app: 'x' }, { hostNetwork: true }));
      const { operator } = await start(api);
      await settle(operator);
      const writes = api.writes('/pods/p').length;
      for (let i = 0; i < 5; i++) {
        await vi.advanceTimersByTimeAsync(1000);
        await settle(operator);
      }
      expect(api.writes('/pods/p').length).toBe(writes);
      expect(writes).toBeLessThanOrEqual(3);
      expect(eventsOf(api, 'team', 'HostNamespaceViolation').length).toBeLessThanOrEqual(2);
    },
  );
});
