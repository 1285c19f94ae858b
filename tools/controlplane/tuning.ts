// Client rates and worker counts of the nodes-mode cluster (controlplane.ts), in one place: what
// bounds how fast pods are created, scheduled and started. Pure: options -> flags and config files.
//
// Who limits what, for pods to go Running:
// - kube-controller-manager creates them (ReplicaSet and DaemonSet controllers): its client's
//   --kube-api-qps / --kube-api-burst (20 / 30 by default) and --concurrent-*-syncs workers;
// - kube-scheduler binds them: clientConnection.qps / .burst of its configuration (50 / 100);
// - KWOK starts them (status writes): it has no client rate limit at all (sigs.k8s.io/kwok v0.8.0
//   pkg/utils/client/clientset.go sets an always-allowing rate limiter), only its worker counts;
// - kube-apiserver: --max-requests-inflight / --max-mutating-requests-inflight (400 / 200) are,
//   with API Priority and Fairness, the concurrency the priority levels share. Every component here
//   uses the admin certificate (group system:masters), which APF exempts: they do not queue.
import { stringify } from 'yaml';

export interface ClusterTuning {
  /** kube-controller-manager's --kube-api-qps and --kube-api-burst (its own defaults: 20, 30). */
  controllerManagerQps: number;
  controllerManagerBurst: number;
  /** kube-scheduler's clientConnection.qps and .burst (its own defaults: 50, 100). */
  schedulerQps: number;
  schedulerBurst: number;
  /** kube-scheduler's percentageOfNodesToScore; 0: its adaptive default (42 % at 1,000 nodes). */
  schedulerPercentageOfNodesToScore: number;
  /** --concurrent-replicaset-syncs (5), --concurrent-daemonset-syncs (2), --concurrent-deployment-syncs (5). */
  concurrentReplicaSetSyncs: number;
  concurrentDaemonSetSyncs: number;
  concurrentDeploymentSyncs: number;
  /** kube-apiserver --max-requests-inflight (400) and --max-mutating-requests-inflight (200). */
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** KWOK's podPlayStageParallelism, nodePlayStageParallelism and nodeLeaseParallelism (4 each by default). */
  kwokPodWorkers: number;
  kwokNodeWorkers: number;
  kwokLeaseWorkers: number;
  /**
   * kube-controller-manager's StaleControllerConsistency{ReplicaSet,DaemonSet} feature gates (beta,
   * on by default since 1.36): a controller refuses to sync a ReplicaSet or DaemonSet until its
   * informer has seen its own last write, and requeues it with the controllers' exponential backoff
   * (5 ms doubling to 1000 s per key, 10 retries a second in all). On a starved machine informers
   * lag, and creating pods stalls behind that backoff. `true` keeps Kubernetes' default.
   */
  staleControllerConsistency: boolean;
  /**
   * How KWOK starts a pod: `general` (its shipped stages: ContainerCreating, then Running and
   * Ready, two status writes 1-6 s apart) or `fast` (KWOK's `fast` pod stage: Running and Ready at
   * once, one status write).
   */
  podStart: 'general' | 'fast';
}

/**
 * The nodes mode's defaults, what the test suite runs on. Client rate limits as kwokctl sets them
 * (the defaults would take minutes to create a DaemonSet's pods on a thousand nodes); KWOK with 32
 * lease workers, as 4 cannot renew a thousand nodes' Leases in time on a loaded machine.
 */
export const NODES_TUNING: ClusterTuning = {
  controllerManagerQps: 1000,
  controllerManagerBurst: 2000,
  schedulerQps: 1000,
  schedulerBurst: 2000,
  schedulerPercentageOfNodesToScore: 0,
  concurrentReplicaSetSyncs: 5,
  concurrentDaemonSetSyncs: 2,
  concurrentDeploymentSyncs: 5,
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  kwokPodWorkers: 32,
  kwokNodeWorkers: 16,
  kwokLeaseWorkers: 32,
  staleControllerConsistency: true,
  podStart: 'general',
};

/**
 * For building tens of thousands of pods (the nodes-world benchmark): more controller workers,
 * more in flight at the API server, one status write per pod start, the scheduler scoring 10 %
 * of the nodes (every node fits every pod there; scoring fewer is cheaper and changes no figure),
 * and the ReplicaSet and DaemonSet controllers syncing without waiting for their informers to see
 * their last write (as before 1.36; their expectations still prevent double creations).
 */
export const LARGE_CLUSTER_TUNING: ClusterTuning = {
  ...NODES_TUNING,
  schedulerPercentageOfNodesToScore: 10,
  concurrentReplicaSetSyncs: 20,
  concurrentDaemonSetSyncs: 10,
  concurrentDeploymentSyncs: 20,
  maxRequestsInflight: 800,
  maxMutatingRequestsInflight: 400,
  kwokPodWorkers: 64,
  staleControllerConsistency: false,
  podStart: 'fast',
};

const LIMITS: Record<Exclude<keyof ClusterTuning, 'podStart' | 'staleControllerConsistency'>, [number, number]> = {
  controllerManagerQps: [1, 100_000],
  controllerManagerBurst: [1, 100_000],
  schedulerQps: [1, 100_000],
  schedulerBurst: [1, 100_000],
  schedulerPercentageOfNodesToScore: [0, 100],
  concurrentReplicaSetSyncs: [1, 1000],
  concurrentDaemonSetSyncs: [1, 1000],
  concurrentDeploymentSyncs: [1, 1000],
  maxRequestsInflight: [1, 100_000],
  maxMutatingRequestsInflight: [1, 100_000],
  kwokPodWorkers: [1, 1000],
  kwokNodeWorkers: [1, 1000],
  kwokLeaseWorkers: [1, 1000],
};

/** `base` with `overrides` applied, each value checked (an error names the field). */
export function resolveTuning(
  overrides: Partial<ClusterTuning> = {},
  base: ClusterTuning = NODES_TUNING,
): ClusterTuning {
  const tuning = { ...base, ...overrides };
  for (const [field, [min, max]] of Object.entries(LIMITS)) {
    const value = tuning[field as keyof typeof LIMITS];
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`tuning.${field}: expected a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  if (typeof tuning.staleControllerConsistency !== 'boolean')
    throw new Error(
      `tuning.staleControllerConsistency: expected true or false, got ${JSON.stringify(tuning.staleControllerConsistency)}`,
    );
  if (tuning.podStart !== 'general' && tuning.podStart !== 'fast')
    throw new Error(`tuning.podStart: expected "general" or "fast", got ${JSON.stringify(tuning.podStart)}`);
  return tuning;
}

export function apiserverTuningArgs(t: ClusterTuning): string[] {
  return [
    `--max-requests-inflight=${t.maxRequestsInflight}`,
    `--max-mutating-requests-inflight=${t.maxMutatingRequestsInflight}`,
  ];
}

export function controllerManagerTuningArgs(t: ClusterTuning): string[] {
  return [
    `--kube-api-qps=${t.controllerManagerQps}`,
    `--kube-api-burst=${t.controllerManagerBurst}`,
    `--concurrent-replicaset-syncs=${t.concurrentReplicaSetSyncs}`,
    `--concurrent-daemonset-syncs=${t.concurrentDaemonSetSyncs}`,
    `--concurrent-deployment-syncs=${t.concurrentDeploymentSyncs}`,
    ...(t.staleControllerConsistency
      ? []
      : ['--feature-gates=StaleControllerConsistencyReplicaSet=false,StaleControllerConsistencyDaemonSet=false']),
  ];
}

/** kube-scheduler's configuration file (with --config its deprecated client flags are ignored). */
export function schedulerConfigYaml(t: ClusterTuning, kubeconfigPath: string): string {
  return stringify({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: kubeconfigPath, qps: t.schedulerQps, burst: t.schedulerBurst },
    leaderElection: { leaderElect: false },
    ...(t.schedulerPercentageOfNodesToScore ? { percentageOfNodesToScore: t.schedulerPercentageOfNodesToScore } : {}),
  });
}

/** KWOK's configuration document (prepended to its stages file). */
export function kwokConfigYaml(t: ClusterTuning): string {
  const config = {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokConfiguration',
    options: {
      nodeLeaseParallelism: t.kwokLeaseWorkers,
      nodePlayStageParallelism: t.kwokNodeWorkers,
      podPlayStageParallelism: t.kwokPodWorkers,
    },
  };
  return `---\n${stringify(config)}`;
}

/** KWOK's shipped stages whose work the `fast` pod stage does in one step. */
const GENERAL_POD_START_STAGES = new Set([
  'pod-create',
  'pod-init-container-running',
  'pod-init-container-completed',
  'pod-ready',
]);

/**
 * The stages file's pod start: `general` keeps `shipped` (the joined stage documents of
 * build.sh) as is; `fast` replaces its pod start stages by `fastPodReady`.
 */
export function podStartStages(shipped: string, podStart: ClusterTuning['podStart'], fastPodReady: string): string {
  if (podStart === 'general') return shipped;
  const kept = shipped
    .split(/^---\s*$/m)
    .filter(
      (doc) => doc.trim() && !GENERAL_POD_START_STAGES.has(/^metadata:\n {2}name:\s*(\S+)/m.exec(doc)?.[1] ?? ''),
    );
  return [...kept, fastPodReady].map((doc) => `---\n${doc.trim()}\n`).join('');
}
