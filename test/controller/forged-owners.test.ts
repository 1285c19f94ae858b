// Forged owner references, against the whole controller on the fake API. Anyone who may create a
// pod may write its ownerReferences: a real workload's name and uid, a uid that exists nowhere,
// another namespace's DaemonSet, several controllers, a ReplicaSet the cache does not hold. Whatever
// they claim, the pod itself is labelled and gets its own Event, an Event goes only into the pod's
// namespace, a ReplicaSet is followed to its Deployment only when the cache holds it (same name and
// uid), and nothing written in one namespace silences an Event in another.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DateTime } from 'luxon';
import { FakeKubeApi, podObj, settle, startOperator, useFakeClock } from '../fake/cluster.ts';
import type { Operator } from '../../src/controller/operator.ts';

const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });
const running: Operator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
  vi.useRealTimers();
});

async function start(api: FakeKubeApi): Promise<Operator> {
  const { operator } = await startOperator(api);
  running.push(operator);
  return operator;
}

type Ref = { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; namespace?: string };
const daemonSet = (uid: string): Ref => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  name: 'agent',
  uid,
  controller: true,
});

/** A never-covered hostNetwork pod (no exception in its namespace) with these owner references. */
function putPod(api: FakeKubeApi, ns: string, name: string, ownerReferences: Ref[]): void {
  const pod = podObj(ns, name, { app: 'agent' }, { hostNetwork: true });
  api.put('pods', { ...pod, metadata: { ...pod.metadata, ownerReferences } });
}

type Ev = {
  metadata: { namespace: string };
  reason: string;
  note: string;
  regarding: { kind: string; namespace: string; name: string; uid: string };
};
const violations = (api: FakeKubeApi, ns?: string) =>
  (api.list('events', ns) as unknown as Ev[]).filter((e) => e.reason === 'HostNamespaceViolation');
const on = (api: FakeKubeApi, ns: string, kind: string, name: string) =>
  violations(api, ns).filter((e) => e.regarding.kind === kind && e.regarding.name === name);
const violationLabel = (api: FakeKubeApi, ns: string, name: string) =>
  (api.get('pods', ns, name)?.metadata.labels as Record<string, string> | undefined)?.['hostns.io/violation'];

describe('forged owner references', () => {
  it("a pod claiming another namespace's DaemonSet (name, uid) writes only in its own, silencing nothing", async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    putPod(api, 'intruder', 'mimic', [daemonSet('uid-ds-team')]);
    const operator = await start(api);
    await settle(operator);
    // Then the DaemonSet's own pods, in its namespace, offend for the same cause (hostNetwork, never covered).
    putPod(api, 'team', 'agent-a', [daemonSet('uid-ds-team')]);
    putPod(api, 'team', 'agent-b', [daemonSet('uid-ds-team')]);
    await settle(operator);

    const inTeam = on(api, 'team', 'DaemonSet', 'agent');
    expect(inTeam).toHaveLength(1);
    expect(inTeam[0]!.note).toMatch(
      new RegExp(
        '^DaemonSet agent has pods using hostNetwork \\(first: pod agent-.\\), ' +
          'which no active HostNamespaceException in namespace team allows\\.$',
      ),
    );
    // The intruder's claim stays in its namespace: its pod's Event and one about "its" DaemonSet there.
    expect(on(api, 'intruder', 'DaemonSet', 'agent')).toHaveLength(1);
    expect(on(api, 'intruder', 'DaemonSet', 'agent')[0]!.note).toContain('(first: pod mimic)');
    for (const e of violations(api)) expect(e.regarding.namespace).toBe(e.metadata.namespace);
    expect(
      violations(api, 'team')
        .map((e) => e.note)
        .join('\n'),
    ).not.toContain('mimic');
    for (const [ns, pod] of [
      ['intruder', 'mimic'],
      ['team', 'agent-a'],
      ['team', 'agent-b'],
    ]) {
      expect(violationLabel(api, ns!, pod!)).toBe('true');
      expect(on(api, ns!, 'Pod', pod!)).toHaveLength(1);
    }
  });

  it('the other way round: the DaemonSet first, then the intruder; each namespace has its own Event', async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    putPod(api, 'team', 'agent-a', [daemonSet('uid-ds-team')]);
    const operator = await start(api);
    await settle(operator);
    putPod(api, 'intruder', 'mimic', [daemonSet('uid-ds-team')]);
    await settle(operator);
    expect(on(api, 'team', 'DaemonSet', 'agent').map((e) => e.note)).toEqual([
      expect.stringContaining('(first: pod agent-a)'),
    ]);
    expect(on(api, 'intruder', 'DaemonSet', 'agent').map((e) => e.note)).toEqual([
      expect.stringContaining('(first: pod mimic)'),
    ]);
  });

  // Each: the pod is an offender with its own Event, whatever its references claim, and the one
  // workload Event (if any) is in the pod's namespace about the object named.
  it.each<[string, Ref[], { kind: string; name: string; uid: string } | undefined, string]>([
    [
      "a real DaemonSet's name and uid in the same namespace (unverifiable: no DaemonSet cache)",
      [daemonSet('uid-ds-team')],
      { kind: 'DaemonSet', name: 'agent', uid: 'uid-ds-team' },
      'Pod mimic (DaemonSet/agent) uses hostNetwork',
    ],
    [
      'a uid that exists nowhere',
      [daemonSet('no-such-uid')],
      { kind: 'DaemonSet', name: 'agent', uid: 'no-such-uid' },
      'Pod mimic (DaemonSet/agent) uses hostNetwork',
    ],
    [
      'a namespace written into the reference (owner references have none: ignored)',
      [{ ...daemonSet('uid-ds-team'), namespace: 'kube-system' }],
      { kind: 'DaemonSet', name: 'agent', uid: 'uid-ds-team' },
      'Pod mimic (DaemonSet/agent) uses hostNetwork',
    ],
    [
      'two controllers (the API refuses it; which is real cannot be told): the pod is its own workload',
      [
        daemonSet('uid-ds-team'),
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u2', controller: true },
      ],
      undefined,
      'Pod mimic uses hostNetwork',
    ],
    [
      'the same controller listed twice: its own workload too',
      [daemonSet('uid-ds-team'), daemonSet('uid-ds-team')],
      undefined,
      'Pod mimic uses hostNetwork',
    ],
    [
      'a controller that is another pod: no workload Event (a pod is its own workload)',
      [{ apiVersion: 'v1', kind: 'Pod', name: 'agent-a', uid: 'uid-pod', controller: true }],
      undefined,
      'Pod mimic uses hostNetwork',
    ],
    [
      'a Node as controller (as mirror pods have): the Event stays in the namespace',
      [{ apiVersion: 'v1', kind: 'Node', name: 'kwok-node-0', uid: 'uid-node', controller: true }],
      { kind: 'Node', name: 'kwok-node-0', uid: 'uid-node' },
      'Pod mimic (Node/kwok-node-0) uses hostNetwork',
    ],
  ])('%s', async (_, refs, workload, podNote) => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    putPod(api, 'team', 'agent-a', [daemonSet('uid-ds-team')]);
    putPod(api, 'team', 'mimic', refs);
    const operator = await start(api);
    await settle(operator);
    expect(violationLabel(api, 'team', 'mimic')).toBe('true');
    expect(on(api, 'team', 'Pod', 'mimic').map((e) => e.note)).toEqual([expect.stringContaining(podNote)]);
    for (const e of violations(api)) expect(e.metadata.namespace).toBe('team');
    for (const e of violations(api)) expect(e.regarding.namespace).toBe('team');
    const onWorkloads = violations(api).filter((e) => e.regarding.kind !== 'Pod');
    const real = { kind: 'DaemonSet', name: 'agent', uid: 'uid-ds-team' };
    const expected = workload && workload.uid !== real.uid ? [real, workload] : [real];
    expect(onWorkloads.map((e) => ({ kind: e.regarding.kind, name: e.regarding.name, uid: e.regarding.uid }))).toEqual(
      expect.arrayContaining(expected),
    );
    expect(onWorkloads).toHaveLength(expected.length);
  });

  it("a ReplicaSet is followed to its Deployment only when the cache holds it with the pod's uid", async () => {
    useFakeClock(T0);
    const api = new FakeKubeApi();
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true };
    const rs = api.put('replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-5d', namespace: 'team', ownerReferences: [deployment] },
    });
    const rsRef = (uid: string): Ref => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-5d',
      uid,
      controller: true,
    });
    putPod(api, 'team', 'genuine', [rsRef(rs.metadata.uid!)]);
    putPod(api, 'team', 'stale-uid', [rsRef('uid-not-cached')]);
    // Another namespace's pod naming team's ReplicaSet and its uid: no ReplicaSet of that name there.
    putPod(api, 'intruder', 'mimic', [rsRef(rs.metadata.uid!)]);
    const operator = await start(api);
    await settle(operator);

    const regarding = (ns: string) =>
      violations(api, ns)
        .filter((e) => e.regarding.kind !== 'Pod')
        .map((e) => `${e.regarding.kind}/${e.regarding.name}/${e.regarding.uid}`)
        .sort();
    expect(regarding('team')).toEqual(['Deployment/web/uid-web', 'ReplicaSet/web-5d/uid-not-cached']);
    expect(regarding('intruder')).toEqual([`ReplicaSet/web-5d/${rs.metadata.uid}`]);
    expect(on(api, 'team', 'Pod', 'genuine')[0]!.note).toContain('Pod genuine (Deployment/web) uses hostNetwork');
    expect(on(api, 'team', 'Pod', 'stale-uid')[0]!.note).toContain(
      'Pod stale-uid (ReplicaSet/web-5d) uses hostNetwork',
    );
    for (const [ns, pod] of [
      ['team', 'genuine'],
      ['team', 'stale-uid'],
      ['intruder', 'mimic'],
    ])
      expect(violationLabel(api, ns!, pod!)).toBe('true');
  });
});
