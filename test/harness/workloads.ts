// Helpers for tests on the cluster with simulated nodes: workload manifests, reading a workload's
// pods and Events, adding a node.
import { randomBytes } from 'node:crypto';
import type { CoreV1Event, V1DaemonSet, V1Deployment, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { fakeNode, type NodePool } from '../../tools/controlplane/nodes.ts';
import { core, eventually, kubectl } from './clients.ts';

export type Labels = Record<string, string>;
type Spec = Partial<V1PodSpec>;

/** A pod spec with one container (no requests: 110 of them fit on a node). */
export function podSpec(extra: Spec = {}): V1PodSpec {
  return { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }], ...extra };
}

export function daemonSetManifest(name: string, labels: Labels, extra: Spec = {}): V1DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec(extra) } },
  };
}

export function deploymentManifest(name: string, labels: Labels, replicas: number, extra: Spec = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec(extra) } },
  };
}

/** Running with every container ready, as a kubelet reports a started pod. */
export function isRunning(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' && !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

export async function podsOf(namespace: string, labels: Labels): Promise<V1Pod[]> {
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return (await core().listNamespacedPod({ namespace, labelSelector })).items;
}

/** Waits until exactly `count` pods with `labels` are Running (and none is being deleted); returns them. */
export async function runningPods(
  namespace: string,
  labels: Labels,
  count: number,
  timeoutMs = 60_000,
): Promise<V1Pod[]> {
  return eventually(
    async () => {
      const pods = (await podsOf(namespace, labels)).filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === count && pods.every(isRunning) ? pods : undefined;
    },
    timeoutMs,
    `${count} Running pods with ${JSON.stringify(labels)} in ${namespace}`,
  );
}

/** Events about one object (`kind`/`name`) in `namespace`, oldest first. */
export async function eventsAbout(namespace: string, kind: string, name: string): Promise<CoreV1Event[]> {
  const fieldSelector = `involvedObject.kind=${kind},involvedObject.name=${name}`;
  return (await core().listNamespacedEvent({ namespace, fieldSelector })).items;
}

/** Waits for an Event with `reason` on the object; returns it. */
export async function eventOn(
  namespace: string,
  kind: string,
  name: string,
  reason: string,
  timeoutMs = 60_000,
): Promise<CoreV1Event> {
  return eventually(
    async () => (await eventsAbout(namespace, kind, name)).find((e) => e.reason === reason),
    timeoutMs,
    `a ${reason} Event on ${kind} ${namespace}/${name}`,
  );
}

/** Whether every node named is Ready (KWOK marks a node Ready a moment after it is created). */
async function allReady(names: readonly string[]): Promise<boolean> {
  const { items } = await core().listNode();
  const ready = new Set(
    items
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata!.name!),
  );
  return names.every((n) => ready.has(n));
}

/**
 * Adds `count` simulated nodes, waits until KWOK has made them all Ready, and returns their names
 * (`<prefix>-<random>-<i>`). Their addresses come from a block of indices above the ones the
 * cluster started with, so they never collide with theirs. `pool`: labels and taints of their own.
 */
export async function addNodes(count: number, prefix = 'it-node', pool: NodePool = {}): Promise<string[]> {
  const run = randomBytes(3).toString('hex');
  const first = 8192 + (randomBytes(2).readUInt16BE(0) % (8192 - count));
  const names = Array.from({ length: count }, (_, i) => (count === 1 ? `${prefix}-${run}` : `${prefix}-${run}-${i}`));
  // 20 at a time, as the cluster creates its own nodes.
  for (let batch = 0; batch < count; batch += 20)
    await Promise.all(
      names
        .slice(batch, batch + 20)
        .map((name, i) => core().createNode({ body: fakeNode(name, first + batch + i, pool) })),
    );
  await eventually(
    async () => ((await allReady(names)) ? true : undefined),
    60_000 + count * 1_000,
    `${count} nodes Ready`,
  );
  return names;
}

/** Adds one simulated node (KWOK makes it Ready) and returns its name. */
export async function addNode(prefix = 'it-node', pool: NodePool = {}): Promise<string> {
  return (await addNodes(1, prefix, pool))[0]!;
}

/** Removes a node a test added (its pods are then removed by the pod garbage collector). */
export async function removeNode(name: string): Promise<void> {
  await core().deleteNode({ name });
}

/**
 * The shared nodes cluster keeps earlier files' workloads (a CronJob fires every minute, a DaemonSet
 * refused after a lapse retries its pod): their reconciles and writes would count in a test that
 * counts the operator's. Files run one at a time, so such a test removes them (every namespace but
 * `keep` and the system's) and waits until their pods are gone before counting.
 */
export async function removeOtherWorkloads(keep: string): Promise<void> {
  const system = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'default', keep]);
  const { items } = await core().listNamespace();
  const others = items.map((n) => n.metadata!.name!).filter((n) => !system.has(n));
  for (const ns of others)
    kubectl([
      'delete',
      'cronjobs,jobs,daemonsets,deployments,replicasets,statefulsets,pods',
      '--all',
      '-n',
      ns,
      '--wait=false',
    ]);
  await eventually(
    async () => {
      const pods = await core().listPodForAllNamespaces();
      return pods.items.some((p) => others.includes(p.metadata!.namespace!)) ? undefined : true;
    },
    90_000,
    "earlier files' pods gone",
  );
}
