// Pod churn on the fake API: a kubelet's status updates (probes, IPs, conditions) change nothing
// the operator keeps, so they cost no reconcile, no write and no new cache entry; a change it
// keeps (a label) still runs the pod's reconcile.
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { DateTime } from 'luxon';
import {
  EXCEPTIONS,
  FakeKubeApi,
  Recorder,
  exceptionObj,
  podObj,
  settle,
  startOperator,
  useFakeClock,
} from '../fake/cluster.ts';
import { samePodFacts, toPodRecord, type PodRecord } from '../../src/kube/pod-record.ts';

const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });

/** A kubelet's status write: a probe time, a readiness flip, an IP, a restart count. */
function kubeletStatus(beat: number): Record<string, unknown> {
  const at = T0.plus({ seconds: beat }).toISO();
  return {
    phase: 'Running',
    podIP: `10.64.0.${beat % 250}`,
    conditions: [{ type: 'Ready', status: beat % 2 ? 'True' : 'False', lastProbeTime: at }],
    containerStatuses: [
      { name: 'c', ready: beat % 2 === 1, restartCount: beat, state: { running: { startedAt: at } } },
    ],
  };
}

async function world() {
  useFakeClock(T0);
  const api = new FakeKubeApi();
  api.put(EXCEPTIONS, exceptionObj('team', 'agents', T0.plus({ days: 30 })));
  api.put('pods', podObj('team', 'covered', { app: 'agent' }, { hostNetwork: true }));
  api.put('pods', podObj('team', 'offender', { app: 'other' }, { hostNetwork: true }));
  api.put('pods', podObj('team', 'clean', { app: 'web' }));
  const recorder = new Recorder();
  const { operator } = await startOperator(api, { observer: recorder });
  onTestFinished(async () => {
    await operator.stop();
    vi.useRealTimers();
  });
  await settle(operator);
  return { api, recorder, operator };
}

function beat(api: FakeKubeApi, name: string, n: number): void {
  const pod = api.get('pods', 'team', name)!;
  api.put('pods', { ...pod, status: kubeletStatus(n) });
}

describe('pod status churn', () => {
  it('100 status updates of each pod: no reconcile, no write, the cached records unchanged', async () => {
    const { api, recorder, operator } = await world();
    const writes = api.writes().length;
    const reconciles = recorder.reconciles.length;
    const requested = recorder.requested.get('pods') ?? 0;
    const cached = ['covered', 'offender'].map((n) => operator.caches.pods.get(`team/${n}`));
    const namespaceVersion = operator.caches.pods.versionOf('team');

    for (let n = 1; n <= 100; n++) for (const name of ['covered', 'offender', 'clean']) beat(api, name, n);
    await settle(operator);

    expect(recorder.watchEvents.get('pods unchanged')).toBe(200);
    expect(recorder.watchEvents.get('pods uncached')).toBe(100);
    expect(recorder.requested.get('pods') ?? 0).toBe(requested);
    expect(recorder.reconciles.length).toBe(reconciles);
    expect(api.writes().length).toBe(writes);
    // The very same records: nothing allocated is kept, and no memo of the namespace is invalidated.
    expect(['covered', 'offender'].map((n) => operator.caches.pods.get(`team/${n}`))).toEqual(cached);
    for (const [i, n] of ['covered', 'offender'].entries())
      expect(operator.caches.pods.get(`team/${n}`)).toBe(cached[i]);
    expect(operator.caches.pods.versionOf('team')).toBe(namespaceVersion);
  });

  it('a relist after status churn replays nothing either', async () => {
    const { api, recorder, operator } = await world();
    const writes = api.writes().length;
    const reconciles = recorder.reconciles.length;
    for (let n = 1; n <= 10; n++) for (const name of ['covered', 'offender']) beat(api, name, n);
    await settle(operator);
    // The watch history is gone: the operator relists, and finds every pod at a newer
    // resourceVersion than its cached record (which kept the last change it cares about).
    api.put('configmaps', { metadata: { namespace: 'team', name: 'elsewhere' } }); // history moves on
    api.compact();
    api.closeWatches();
    await vi.advanceTimersByTimeAsync(1000);
    await settle(operator);
    expect(recorder.watchRestarts.some((r) => r.resource === 'pods' && r.reason === 'expired')).toBe(true);
    expect(recorder.reconciles.length).toBe(reconciles);
    expect(api.writes().length).toBe(writes);
  });

  it('a change the operator keeps, in the same update as a status change, still reconciles the pod', async () => {
    const { api, recorder, operator } = await world();
    const reconciles = recorder.reconciles.filter((r) => r.controller === 'pod').length;
    // The offender's workload relabelled so that the exception's selector now covers it.
    const pod = api.get('pods', 'team', 'offender')!;
    const labels = { ...(pod.metadata.labels as Record<string, string>), app: 'agent' };
    api.put('pods', { ...pod, metadata: { ...pod.metadata, labels }, status: kubeletStatus(1) });
    await settle(operator);
    expect(recorder.watchEvents.get('pods changed')).toBeGreaterThanOrEqual(1);
    expect(recorder.reconciles.filter((r) => r.controller === 'pod').length).toBeGreaterThan(reconciles);
    const now = api.get('pods', 'team', 'offender')!.metadata.labels as Record<string, string>;
    expect(now['hostns.io/exception']).toBe('agents');
    expect(now['hostns.io/violation']).toBeUndefined();
  });
});

describe('samePodFacts', () => {
  const raw = (over: { labels?: object; annotations?: object; spec?: object; owner?: string; rv?: string } = {}) => ({
    metadata: {
      name: 'agent-x',
      namespace: 'team',
      uid: 'u1',
      resourceVersion: over.rv ?? '10',
      labels: over.labels ?? { app: 'agent' },
      annotations: over.annotations ?? {},
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'DaemonSet', name: over.owner ?? 'agent', uid: 'd1', controller: true },
      ],
    },
    spec: { hostNetwork: true, containers: [{ name: 'c', image: 'agent:1' }], ...over.spec },
    status: { phase: 'Running' },
  });
  const record = (over: Parameters<typeof raw>[0] = {}) => toPodRecord(raw(over)) as PodRecord;

  it('ignores the resourceVersion and everything a kubelet writes', () => {
    const a = record();
    const b = toPodRecord({ ...raw({ rv: '99' }), status: { phase: 'Running', podIP: '10.0.0.9' } }) as PodRecord;
    expect(b.resourceVersion).toBe('99');
    expect(samePodFacts(a, b)).toBe(true);
  });

  it('sees every kept fact: labels, our marks, host flags, the security profile, the owner, the uid', () => {
    const a = record();
    const changed: PodRecord[] = [
      record({ labels: { app: 'agent', tier: 'node' } }),
      record({ labels: { app: 'other' } }),
      record({ labels: { app: 'agent', 'hostns.io/violation': 'true' } }),
      record({ annotations: { 'hostns.io/violation-event': 'u1/x' } }),
      record({ spec: { hostPID: true } }),
      record({ spec: { containers: [{ name: 'c', image: 'agent:2', securityContext: { privileged: true } }] } }),
      record({ owner: 'agent-v2' }),
      { ...a, uid: 'u2' },
    ];
    for (const [i, b] of changed.entries()) expect(samePodFacts(a, b), `variant ${i}`).toBe(false);
  });

  it('a field only one record has is a difference', () => {
    const a = record();
    const { owner: _gone, ...withoutOwner } = a;
    expect(samePodFacts(a, withoutOwner as PodRecord)).toBe(false);
    expect(samePodFacts(withoutOwner as PodRecord, a)).toBe(false);
  });
});
