// Forged owner references on the real API server, with the real operator process: anyone who may
// create a pod may write its ownerReferences. Whatever they claim, the pod is labelled and gets its
// own Event, Events go only into the pod's namespace, a ReplicaSet is followed to its Deployment
// only when the operator's cache holds it with that uid, and a pod in one namespace naming another
// namespace's DaemonSet (its name and uid) cannot silence that DaemonSet's Event. No nodes are
// needed (and without a garbage collector, pods whose owner does not exist stay).
import type { CoreV1Event, V1OwnerReference } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apps, core, createNamespace, eventually, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { daemonSetManifest, deploymentManifest, eventsAbout, podSpec } from '../harness/workloads.ts';

let op: OperatorProcess | undefined;

beforeAll(async () => {
  op = await OperatorProcess.start();
});

afterAll(async () => {
  await op?.kill('SIGTERM');
});

const controllerOf = (kind: string, name: string, uid: string, apiVersion = 'apps/v1'): V1OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid,
  controller: true,
});

/** A hostNetwork pod no exception covers, with the owner references its creator chose. */
async function createPod(ns: string, name: string, ownerReferences: V1OwnerReference[]) {
  return core().createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, labels: { app: 'agent' }, ownerReferences }, spec: podSpec({ hostNetwork: true }) },
  });
}

/** Waits until the operator labelled the pod an offender and its own Event exists; returns the Event. */
async function offender(ns: string, name: string): Promise<CoreV1Event> {
  return eventually(
    async () => {
      const pod = await core().readNamespacedPod({ namespace: ns, name });
      if (pod.metadata?.labels?.['hostns.io/violation'] !== 'true') return undefined;
      return (await eventsAbout(ns, 'Pod', name)).find((e) => e.reason === 'HostNamespaceViolation');
    },
    30_000,
    `pod ${ns}/${name} labelled an offender, with its Event`,
  );
}

const noneAllows = (ns: string) => `which no active HostNamespaceException in namespace ${ns} allows.`;

const violationsOn = async (ns: string, kind: string, name: string) =>
  (await eventsAbout(ns, kind, name)).filter((e) => e.reason === 'HostNamespaceViolation');

describe('forged owner references', () => {
  it("a pod naming another namespace's DaemonSet writes only in its own and silences nothing there", async () => {
    const team = await createNamespace('forged-team');
    const intruder = await createNamespace('forged-intruder');
    const ds = await apps().createNamespacedDaemonSet({
      namespace: team,
      body: daemonSetManifest('agent', { app: 'agent' }, { hostNetwork: true }),
    });
    const ref = controllerOf('DaemonSet', 'agent', ds.metadata!.uid!);

    // The intruder first: its pod and "its" DaemonSet's Event, in its namespace, with the same cause.
    await createPod(intruder, 'mimic', [ref]);
    const mimic = await offender(intruder, 'mimic');
    expect(mimic.message).toBe(`Pod mimic (DaemonSet/agent) uses hostNetwork, ${noneAllows(intruder)}`);
    await eventually(async () => (await violationsOn(intruder, 'DaemonSet', 'agent'))[0], 30_000, 'intruder Event');

    // Then the DaemonSet's own pod, created as its controller does: its Event on the real DaemonSet.
    await createPod(team, 'agent-a', [{ ...ref, blockOwnerDeletion: true }]);
    await offender(team, 'agent-a');
    const onDs = await eventually(
      async () => (await violationsOn(team, 'DaemonSet', 'agent'))[0],
      30_000,
      'team Event',
    );
    expect(onDs.message).toBe(`DaemonSet agent has pods using hostNetwork (first: pod agent-a), ${noneAllows(team)}`);
    expect(onDs.involvedObject.uid).toBe(ds.metadata!.uid);

    // Every Event about that uid sits in the namespace of what it is about: nothing crossed over.
    const aboutUid = (
      await core().listEventForAllNamespaces({ fieldSelector: `involvedObject.uid=${ds.metadata!.uid}` })
    ).items;
    expect(
      aboutUid
        .map((e) => [e.metadata.namespace, e.involvedObject.namespace, e.message?.match(/first: pod (\S+)\)/)?.[1]])
        .sort(),
    ).toEqual(
      [
        [intruder, intruder, 'mimic'],
        [team, team, 'agent-a'],
      ].sort(),
    );
    const described = kubectl(['describe', 'daemonset', 'agent', '-n', team]).stdout;
    expect(described).toContain('(first: pod agent-a)');
    expect(described).not.toContain('mimic');
  });

  it("same namespace: a real DaemonSet's uid, one that exists nowhere; each pod its Event, one per uid", async () => {
    const ns = await createNamespace('forged-same');
    const ds = await apps().createNamespacedDaemonSet({
      namespace: ns,
      body: daemonSetManifest('agent', { app: 'agent' }, { hostNetwork: true }),
    });
    const ref = controllerOf('DaemonSet', 'agent', ds.metadata!.uid!);
    await createPod(ns, 'agent-a', [ref]);
    await offender(ns, 'agent-a');
    await createPod(ns, 'claims-real-uid', [ref]);
    await createPod(ns, 'claims-no-uid', [controllerOf('DaemonSet', 'agent', '00000000-0000-4000-8000-000000000000')]);
    for (const pod of ['claims-real-uid', 'claims-no-uid'])
      expect((await offender(ns, pod)).message).toBe(
        `Pod ${pod} (DaemonSet/agent) uses hostNetwork, ${noneAllows(ns)}`,
      );
    await op!.converged(30_000);
    const byUid = (await violationsOn(ns, 'DaemonSet', 'agent')).map((e) => e.involvedObject.uid).sort();
    // The real DaemonSet's one Event (its pods found first), and one about the uid that exists nowhere,
    // which `kubectl describe daemonset` (it selects by uid) does not show.
    expect(byUid).toEqual([ds.metadata!.uid, '00000000-0000-4000-8000-000000000000'].sort());
    const described = kubectl(['describe', 'daemonset', 'agent', '-n', ns]).stdout;
    expect(described.match(/HostNamespaceViolation/g)).toHaveLength(1);
    expect(described).toContain('(first: pod agent-a)');
  });

  it('several controllers: the API server refuses the pod (and the operator would take none of them)', async () => {
    const ns = await createNamespace('forged-two');
    const two = [
      controllerOf('DaemonSet', 'a', '11111111-1111-4111-8111-111111111111'),
      controllerOf('StatefulSet', 'b', '22222222-2222-4222-8222-222222222222'),
    ];
    const refused = await createPod(ns, 'two', two).then(
      () => undefined,
      (err: { body?: string; code?: number }) => err,
    );
    expect(refused?.code).toBe(422);
    expect(String(refused?.body)).toContain('Only one reference can have Controller set to true');
  });

  it("a ReplicaSet is followed to its Deployment only when the operator's cache holds it with that uid", async () => {
    const ns = await createNamespace('forged-rs');
    const deployment = await apps().createNamespacedDeployment({
      namespace: ns,
      body: deploymentManifest('web', { app: 'agent' }, 1, { hostNetwork: true }),
    });
    const rs = await apps().createNamespacedReplicaSet({
      namespace: ns,
      body: {
        metadata: { name: 'web-5d', ownerReferences: [controllerOf('Deployment', 'web', deployment.metadata!.uid!)] },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'agent' } },
          template: { metadata: { labels: { app: 'agent' } }, spec: podSpec({ hostNetwork: true }) },
        },
      },
    });
    const forgedUid = '33333333-3333-4333-8333-333333333333';
    await createPod(ns, 'genuine', [controllerOf('ReplicaSet', 'web-5d', rs.metadata!.uid!)]);
    await createPod(ns, 'forged', [controllerOf('ReplicaSet', 'web-5d', forgedUid)]);
    expect((await offender(ns, 'genuine')).message).toContain('Pod genuine (Deployment/web) uses hostNetwork');
    expect((await offender(ns, 'forged')).message).toContain('Pod forged (ReplicaSet/web-5d) uses hostNetwork');
    await op!.converged(30_000);
    expect((await violationsOn(ns, 'Deployment', 'web')).map((e) => e.message)).toEqual([
      expect.stringContaining('Deployment web has pods using hostNetwork (first: pod genuine)'),
    ]);
    // The unverified ReplicaSet is the workload, under the uid the pod claimed: not the real one's.
    expect((await violationsOn(ns, 'ReplicaSet', 'web-5d')).map((e) => e.involvedObject.uid)).toEqual([forgedUid]);
    expect(kubectl(['describe', 'replicaset', 'web-5d', '-n', ns]).stdout).not.toContain('HostNamespaceViolation');
  });
});
