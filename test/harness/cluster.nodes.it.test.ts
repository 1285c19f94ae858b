// Proves the cluster with simulated nodes behaves as a cluster does for what this operator watches:
// KWOK's nodes and kubelets, the real kube-scheduler and the real workload controllers schedule
// pods, run them, update their status over time and recreate them.
import type { V1Lease, V1Pod } from '@kubernetes/client-node';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apps, batch, clusterNodes, core, createNamespace, eventually, kubeConfig } from './clients.ts';
import {
  addNode,
  daemonSetManifest,
  deploymentManifest,
  isRunning,
  podSpec,
  podsOf,
  removeNode,
  runningPods,
} from './workloads.ts';

const readyNodes = async () =>
  (await core().listNode()).items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );

describe('simulated nodes', () => {
  it('are Ready, with a worker kubelet allocatable, and renew their Lease as a kubelet does', async () => {
    const nodes = await readyNodes();
    expect(nodes.length).toBe(clusterNodes());
    for (const node of nodes) {
      expect(node.status?.allocatable).toMatchObject({ cpu: '32', memory: '256Gi', pods: '110' });
      expect(node.spec?.taints ?? []).toEqual([]);
    }
    const leases = kubeConfig().makeApiClient(CoordinationV1Api);
    const name = nodes[0]!.metadata!.name!;
    const renewTime = (l: V1Lease) => String(l.spec?.renewTime);
    const first = renewTime(await leases.readNamespacedLease({ namespace: 'kube-node-lease', name }));
    // KWOK renews every quarter of the 40 s lease: the node lifecycle controller sees a live node.
    await eventually(
      async () =>
        renewTime(await leases.readNamespacedLease({ namespace: 'kube-node-lease', name })) !== first
          ? true
          : undefined,
      30_000,
      `the Lease of ${name} renewed`,
    );
  });
});

describe('workload controllers on simulated nodes', () => {
  it('a DaemonSet gets one Running pod on every node, in the host network', async () => {
    const ns = await createNamespace('ds');
    const labels = { app: 'node-agent' };
    await apps().createNamespacedDaemonSet({
      namespace: ns,
      body: daemonSetManifest('node-agent', labels, { hostNetwork: true }),
    });
    const pods = await runningPods(ns, labels, clusterNodes());
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(clusterNodes());
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'DaemonSet',
        name: 'node-agent',
        controller: true,
      });
      expect(pod.status?.podIP).toBe(pod.status?.hostIP);
    }
    await eventually(
      async () => {
        const ds = await apps().readNamespacedDaemonSet({ namespace: ns, name: 'node-agent' });
        return ds.status?.numberReady === clusterNodes() ? true : undefined;
      },
      30_000,
      'DaemonSet status numberReady',
    );
  });

  it('a node added gets its DaemonSet pod', async () => {
    const ns = await createNamespace('ds-new-node');
    const labels = { app: 'node-agent' };
    await apps().createNamespacedDaemonSet({ namespace: ns, body: daemonSetManifest('node-agent', labels) });
    await runningPods(ns, labels, clusterNodes());
    const node = await addNode();
    try {
      const pods = await runningPods(ns, labels, clusterNodes() + 1);
      expect(pods.map((p) => p.spec?.nodeName)).toContain(node);
    } finally {
      await removeNode(node);
    }
  });

  it('a Deployment creates a ReplicaSet, which creates Running pods spread over the nodes', async () => {
    const ns = await createNamespace('deploy');
    const labels = { app: 'web' };
    await apps().createNamespacedDeployment({ namespace: ns, body: deploymentManifest('web', labels, 3) });
    const pods = await runningPods(ns, labels, 3);
    const replicaSets = (await apps().listNamespacedReplicaSet({ namespace: ns })).items;
    expect(replicaSets.length).toBe(1);
    expect(replicaSets[0]!.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
    for (const pod of pods)
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: replicaSets[0]!.metadata?.name,
      });
    // The scheduler spreads a ReplicaSet's pods (default topology spreading by hostname).
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(Math.min(3, clusterNodes()));
  });

  it('a deleted pod is removed once its kubelet stopped it, and its ReplicaSet creates a new one', async () => {
    const ns = await createNamespace('recreate');
    const labels = { app: 'web' };
    await apps().createNamespacedDeployment({ namespace: ns, body: deploymentManifest('web', labels, 2) });
    const [victim, survivor] = await runningPods(ns, labels, 2);
    await core().deleteNamespacedPod({ namespace: ns, name: victim!.metadata!.name!, gracePeriodSeconds: 2 });
    const after = await runningPods(ns, labels, 2);
    const names = after.map((p) => p.metadata?.name);
    expect(names).toContain(survivor!.metadata!.name);
    expect(names).not.toContain(victim!.metadata!.name);
    await eventually(
      async () => ((await podsOf(ns, labels)).length === 2 ? true : undefined),
      30_000,
      'the deleted pod gone',
    );
  });

  it('a pod goes through the statuses a kubelet reports: scheduled, ContainerCreating, Running and Ready', async () => {
    const ns = await createNamespace('status');
    await core().createNamespacedPod({ namespace: ns, body: { metadata: { name: 'watched' }, spec: podSpec() } });
    const seen: string[] = [];
    const stateOf = (p: V1Pod) => {
      if (!p.spec?.nodeName) return 'unscheduled';
      const container = p.status?.containerStatuses?.[0]?.state;
      if (container?.waiting) return `${p.status?.phase} ${container.waiting.reason}`;
      if (container?.running) return `${p.status?.phase} ${isRunning(p) ? 'Ready' : 'not ready'}`;
      return `${p.status?.phase} scheduled`;
    };
    const pod = await eventually(
      async () => {
        const p = await core().readNamespacedPod({ namespace: ns, name: 'watched' });
        const state = stateOf(p);
        if (seen.at(-1) !== state) seen.push(state);
        return isRunning(p) ? p : undefined;
      },
      60_000,
      'the pod Running and Ready',
    );
    expect(seen).toContain('Pending ContainerCreating');
    expect(seen.at(-1)).toBe('Running Ready');
    expect(seen.indexOf('Pending ContainerCreating')).toBeLessThan(seen.indexOf('Running Ready'));
    expect(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    expect(pod.status?.podIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(pod.status?.startTime).toBeDefined();
    // The ServiceAccount admission plugin is on here: the pod runs as `default` with a token volume.
    expect(pod.spec?.serviceAccountName).toBe('default');
    expect(pod.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-'))).toBe(true);
  });

  it("a Job's pod runs to completion and the Job completes", async () => {
    const ns = await createNamespace('job');
    await batch().createNamespacedJob({
      namespace: ns,
      body: { metadata: { name: 'once' }, spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
    });
    const job = await eventually(
      async () => {
        const j = await batch().readNamespacedJob({ namespace: ns, name: 'once' });
        return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
      },
      60_000,
      'the Job Complete',
    );
    expect(job.status?.succeeded).toBe(1);
    const [pod] = await podsOf(ns, { 'job-name': 'once' });
    expect(pod?.status?.phase).toBe('Succeeded');
  });
});
