// A converged restart, or a new leader, sends no write: not even a POST answered 409. The operator's
// own Events on workloads (a violation once per workload per cause, a refused pod creation linked to
// its lapse) carry no record but their name, so it keeps the names of those that exist, from a
// metadata-only watch of its Events minus pods' and exceptions' (src/kube/workload-event-record.ts).
// On the in-memory fake API with a fake clock; the same on a real API server with nodes is
// restart-writes.nodes.it.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DateTime } from 'luxon';
import type { HostNamespaceException, HostNamespaceGrantIndex, HostNamespaceGrantSet } from '../../src/api/v1alpha1.ts';
import { Operator } from '../../src/controller/operator.ts';
import type { PodRecord } from '../../src/kube/pod-record.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { makeWriter } from '../../src/controller/writes.ts';
import { eventBody, eventName, type EventSpec } from '../../src/kube/events.ts';
import { Reflector, type RawObject } from '../../src/kube/reflector.ts';
import {
  isWorkloadEvent,
  toWorkloadEventRecord,
  WORKLOAD_EVENTS_FIELD_SELECTOR,
} from '../../src/kube/workload-event-record.ts';
import { silentLogger } from '../../src/logging.ts';
import * as fake from '../fake/cluster.ts';
import { FakeKubeApi, settle } from '../fake/cluster.ts';

const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });
/** When the DaemonSet's exception lapses (soon: a leader renews its Lease every 2 s of fake time). */
const LAPSE = T0.plus({ minutes: 1 });
const running: Operator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
  vi.useRealTimers();
});

async function start(api: FakeKubeApi) {
  const started = await fake.startOperator(api);
  running.push(started.operator);
  return started;
}

async function stop(operator: Operator) {
  await operator.stop();
  running.splice(running.indexOf(operator), 1);
}

type StoredEvent = { metadata: { name: string }; reason: string; regarding: { kind: string; name: string } };
const eventsOf = (api: FakeKubeApi, reason: string) =>
  (api.list('events', 'team') as unknown as StoredEvent[]).filter((e) => e.reason === reason);

const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'uid-ds' };
const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'uid-rs' };

/** The FailedCreate kube-controller-manager records (core/v1) when our policy refuses `involved`'s pod. */
function failedCreate(name: string, involved: typeof ds, count = 1) {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'team' },
    involvedObject: { ...involved, namespace: 'team' },
    reason: 'FailedCreate',
    type: 'Warning',
    count,
    source: { component: 'daemonset-controller' },
    message:
      `Error creating: pods "${involved.name}-x" is forbidden: ValidatingAdmissionPolicy 'hostns-host-namespaces' ` +
      `with binding 'hostns-host-namespaces' denied request: Pod '${involved.name}-x' uses hostNetwork, and no ` +
      'active HostNamespaceException in namespace team allows that for its labels. Host namespaces are denied by default.',
  };
}

/**
 * A converged cluster: a DaemonSet whose exception lapsed (its pods offenders, one violation Event on
 * it) and whose new pods are refused (two FailedCreate, one linked Event), and a Deployment whose pods
 * offend from the start (one violation Event on it; its ReplicaSet's refusals were never allowed).
 */
async function convergedCluster(api: FakeKubeApi, running?: Operator) {
  api.put(fake.EXCEPTIONS, fake.exceptionObj('team', 'agents', LAPSE));
  for (const n of ['agent-a', 'agent-b', 'agent-c']) {
    const pod = fake.podObj('team', n, { app: 'agent' }, { hostNetwork: true });
    api.put('pods', { ...pod, metadata: { ...pod.metadata, ownerReferences: [{ ...ds, controller: true }] } });
  }
  api.put('replicasets', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: 'web-5d',
      namespace: 'team',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }],
    },
  });
  for (const n of ['web-5d-1', 'web-5d-2']) {
    const pod = fake.podObj('team', n, { app: 'web' }, { hostNetwork: true });
    api.put('pods', {
      ...pod,
      metadata: {
        ...pod.metadata,
        ownerReferences: [{ ...rs, uid: api.get('replicasets', 'team', 'web-5d')!.metadata.uid, controller: true }],
      },
    });
  }
  const operator = running ?? (await start(api)).operator;
  await settle(operator);
  await vi.advanceTimersByTimeAsync(LAPSE.diff(T0).toMillis() + 10);
  await settle(operator);
  api.put('events', failedCreate('agent.1', ds));
  api.put('events', failedCreate('agent.2', ds));
  api.put('events', failedCreate('web-5d.1', { ...rs, uid: api.get('replicasets', 'team', 'web-5d')!.metadata.uid! }));
  await settle(operator);
  return operator;
}

describe('a converged restart sends no write, not even a POST answered 409', () => {
  it('Events on workloads, refusals, pods, statuses, grants: the restarted operator sends nothing', async () => {
    fake.useFakeClock(T0);
    const api = new FakeKubeApi();
    const first = await convergedCluster(api);
    const onWorkloads = (reason: string) =>
      eventsOf(api, reason)
        .filter((e) => e.regarding.kind !== 'Pod')
        .map((e) => `${e.regarding.kind}/${e.regarding.name}`)
        .sort();
    expect(onWorkloads('HostNamespaceViolation')).toEqual(['DaemonSet/agent', 'Deployment/web']);
    expect(onWorkloads('HostNamespaceExceptionLapsed')).toEqual(['DaemonSet/agent']);
    // The first operator knows its workload Events from the watch (the pods' are not listed).
    expect([...first.caches.workloadEvents!.keys()].sort()).toEqual(
      eventsOf(api, 'HostNamespaceViolation')
        .concat(eventsOf(api, 'HostNamespaceExceptionLapsed'))
        .filter((e) => e.regarding.kind !== 'Pod')
        .map((e) => `team/${e.metadata.name}`)
        .sort(),
    );
    await stop(first);

    const before = api.requests.length;
    const eventsBefore = api.list('events', 'team').length;
    const second = await start(api);
    await settle(second.operator);
    await vi.advanceTimersByTimeAsync(5_000);
    await settle(second.operator);
    expect(api.writes().filter((w) => api.requests.indexOf(w) >= before)).toEqual([]);
    expect(api.list('events', 'team')).toHaveLength(eventsBefore);
    expect(second.observer.events).toEqual([]);
    expect(second.operator.caches.workloadEvents!.size).toBe(3);

    // More refusals of the same lapse, after the restart: still nothing to send.
    api.put('events', failedCreate('agent.3', ds));
    api.put('events', { ...failedCreate('agent.1', ds, 5) });
    await settle(second.operator);
    expect(api.writes().filter((w) => api.requests.indexOf(w) >= before)).toEqual([]);
    expect(onWorkloads('HostNamespaceExceptionLapsed')).toEqual(['DaemonSet/agent']);

    // A new pod of the offending Deployment (say, admission in warn mode): its own Event and marks;
    // the Deployment's Event for that cause exists, so it is not sent (it used to be, answered 409).
    const pod = fake.podObj('team', 'web-5d-3', { app: 'web' }, { hostNetwork: true });
    const rsUid = api.get('replicasets', 'team', 'web-5d')!.metadata.uid;
    api.put('pods', {
      ...pod,
      metadata: { ...pod.metadata, ownerReferences: [{ ...rs, uid: rsUid, controller: true }] },
    });
    await settle(second.operator);
    const sent = api.writes().filter((w) => api.requests.indexOf(w) >= before);
    expect(sent.map((w) => `${w.method} ${w.path} ${w.status}`)).toEqual([
      'POST /apis/events.k8s.io/v1/namespaces/team/events 201',
      'PATCH /api/v1/namespaces/team/pods/web-5d-3 200',
    ]);
    expect(onWorkloads('HostNamespaceViolation')).toEqual(['DaemonSet/agent', 'Deployment/web']);
  });

  it('a refusal seen by no operator (crash before its Event): the restarted one raises it, once', async () => {
    fake.useFakeClock(T0);
    const api = new FakeKubeApi();
    const first = await convergedCluster(api);
    await stop(first);
    api.remove('events', 'team', eventsOf(api, 'HostNamespaceExceptionLapsed')[0]!.metadata.name);
    const second = await start(api);
    await settle(second.operator);
    expect(eventsOf(api, 'HostNamespaceExceptionLapsed')).toHaveLength(1);
    // One POST for the two refusals, created (201), none answered 409.
    expect(second.observer.events).toEqual([{ reason: 'HostNamespaceExceptionLapsed', outcome: 'created' }]);
  });

  it('a leader change: the standby, its caches warm, takes over and sends nothing but its Lease', async () => {
    fake.useFakeClock(T0);
    const api = new FakeKubeApi();
    const replica = async (identity: string) => {
      const operator = new Operator({
        client: api,
        policy: DEFAULT_POLICY,
        logger: silentLogger(),
        identity,
        maxConcurrentReconciles: 4,
        leaderElection: fake.FAKE_LEADER_ELECTION,
        electionClocks: { monotonicMs: () => Date.now(), wallNow: () => DateTime.utc() },
      });
      running.push(operator);
      await operator.start();
      return operator;
    };
    const leader = await replica('leader-a');
    for (let i = 0; i < 100 && !leader.isLeader; i++) await new Promise((r) => setImmediate(r));
    expect(leader.isLeader).toBe(true);
    await convergedCluster(api, leader);
    const standby = await replica('leader-b');
    await settle(standby);
    expect(standby.isLeader).toBe(false);
    expect(standby.caches.workloadEvents!.size).toBe(3);

    await stop(leader); // releases the Lease
    const before = api.requests.length;
    for (let i = 0; i < 20 && !standby.isLeader; i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(standby.isLeader).toBe(true);
    await settle(standby);
    const sent = api.writes().filter((w) => api.requests.indexOf(w) >= before && !w.path.includes('/leases'));
    expect(sent).toEqual([]);
  });

  it('an Event on a workload expired by the API server (its TTL) is raised again by the next refusal, never twice', async () => {
    fake.useFakeClock(T0);
    const api = new FakeKubeApi();
    const operator = await convergedCluster(api);
    const [lapsed] = eventsOf(api, 'HostNamespaceExceptionLapsed');
    api.remove('events', 'team', lapsed!.metadata.name); // --event-ttl, 1 h by default
    await settle(operator);
    expect(operator.caches.workloadEvents!.has(`team/${lapsed!.metadata.name}`)).toBe(false);
    // The refusals go on: the controller's Event counts them (the explanation must not be missing).
    api.put('events', failedCreate('agent.1', ds, 2));
    api.put('events', failedCreate('agent.2', ds, 2));
    await settle(operator);
    expect(eventsOf(api, 'HostNamespaceExceptionLapsed').map((e) => e.metadata.name)).toEqual([lapsed!.metadata.name]);
    expect(api.writes('/events').filter((w) => w.status === 409)).toEqual([]);
  });
});

describe('the writer, for an Event on a workload', () => {
  function writer(api: FakeKubeApi) {
    const reflector = <T>(path: string, transform: (raw: RawObject) => T | undefined) =>
      new Reflector<T>({ client: api, path, resource: path, transform, onChange: () => {}, logger: silentLogger() });
    const workloadEvents = reflector('/api/v1/events', toWorkloadEventRecord);
    // The writer makes only Event writes here: the other caches stay empty.
    const unused = <T>(path: string) => reflector<T>(path, () => undefined);
    const execute = makeWriter({
      client: api,
      logger: silentLogger(),
      identity: 'leader-b',
      exceptions: unused<HostNamespaceException>(fake.EXCEPTIONS),
      pods: unused<PodRecord>('pods'),
      grants: unused<HostNamespaceGrantSet>('grants'),
      grantIndex: unused<HostNamespaceGrantIndex>('index'),
      workloadEvents,
    });
    return { execute, workloadEvents };
  }
  const event: EventSpec = {
    regarding: { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'team', name: 'agent', uid: 'uid-ds' },
    type: 'Warning',
    reason: 'HostNamespaceExceptionLapsed',
    action: 'Admit',
    note: 'lapsed',
    key: 'lapsed=agents@2026-11-02T00:00:00Z',
  };

  it('not yet in the cache but there (another leader made it): one 409, then known; no second request', async () => {
    const api = new FakeKubeApi();
    api.put('events', eventBody(event, T0, 'leader-a') as never);
    const { execute, workloadEvents } = writer(api);
    await execute({ kind: 'event', event }, T0);
    expect(api.writes('/events').map((w) => w.status)).toEqual([409]);
    expect(workloadEvents.store.has(`team/${eventName(event)}`)).toBe(true);
    await execute({ kind: 'event', event }, T0);
    expect(api.writes('/events')).toHaveLength(1);
  });

  it('siblings planning the same Event at once make one POST, and the name is known at once', async () => {
    const api = new FakeKubeApi();
    const { execute, workloadEvents } = writer(api);
    await Promise.all([1, 2, 3].map(() => execute({ kind: 'event', event }, T0)));
    expect(api.writes('/events').map((w) => w.status)).toEqual([201]);
    expect(workloadEvents.store.has(`team/${eventName(event)}`)).toBe(true);
  });
});

describe('which Events are kept by name', () => {
  it('ours on workloads only: the field selector and the predicate agree; names only (metadata)', async () => {
    const api = new FakeKubeApi();
    const ours = (kind: string, name: string) =>
      eventBody({ ...event(kind, name) }, T0, 'op') as unknown as Parameters<FakeKubeApi['put']>[1];
    const event = (kind: string, name: string): EventSpec => ({
      regarding: { apiVersion: 'v1', kind, namespace: 'team', name, uid: `uid-${name}` },
      type: 'Warning',
      reason: 'HostNamespaceViolation',
      action: 'Classify',
      note: 'n',
      key: 'k',
    });
    for (const [kind, name] of [
      ['Pod', 'p'],
      ['HostNamespaceException', 'e'],
      ['DaemonSet', 'd'],
      ['Deployment', 'w'],
      ['CronJob', 'c'],
    ] as const)
      api.put('events', ours(kind, name));
    api.put('events', { ...failedCreate('agent.1', ds) }); // the controller's, not ours
    const listed = await api.request<{ items: RawObject[] }>('GET', '/api/v1/events', {
      query: { fieldSelector: WORKLOAD_EVENTS_FIELD_SELECTOR },
      accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    });
    expect(listed.items.map((i) => i.metadata?.name).sort()).toEqual(
      ['c', 'd', 'w'].map((n) => eventName(event({ c: 'CronJob', d: 'DaemonSet', w: 'Deployment' }[n]!, n))).sort(),
    );
    expect(listed.items.every((i) => Object.keys(i).sort().join() === 'apiVersion,kind,metadata')).toBe(true);
    for (const kind of ['Pod', 'HostNamespaceException']) expect(isWorkloadEvent({ kind })).toBe(false);
    for (const kind of ['DaemonSet', 'Deployment', 'CronJob', 'StatefulSet'])
      expect(isWorkloadEvent({ kind })).toBe(true);
  });
});
