// KWOK stages that keep a running pod's status changing, as a kubelet's probes and status sync do.
// KWOK's shipped pod stages stop at Running: after that a simulated pod never changes again.
//
// How a stage repeats: KWOK matches the stages against every watch event of a pod and schedules
// the one that matches after its delay. The heartbeat's patch sets `lastProbeTime` of the Ready and
// ContainersReady conditions to now, so it changes the pod (a new resourceVersion), whose watch
// event matches the same stage again: one status update per pod per interval, for as long as the
// pod runs. (The delay is at least 1 s: times are stored in whole seconds, and a patch that
// changes nothing would end the loop.) Readiness is not flipped, on purpose: a flip makes the
// ReplicaSet and DaemonSet controllers rewrite their own status each time, so a benchmark would
// measure kube-controller-manager rather than the pod watchers.
//
// Two stages with disjoint selectors:
// - `pod-heartbeat-annotated`, always present: a pod opts in with the annotation
//   `pod-heartbeat.stage.kwok.x-k8s.io/delay: 2s` (and optionally `.../jitter-delay: 3s`, the
//   upper bound of a uniformly drawn delay), as KWOK's own stages read their delays. The test
//   suite's shared cluster has no cluster-wide heartbeat: a test asks for it on its own pods.
// - `pod-heartbeat`, only with a cluster-wide interval (`podStatusHeartbeat`, `--pod-heartbeat`):
//   every other running pod, each after a delay drawn in [interval / 2, 3 x interval / 2] (at
//   least 1 s): one beat per pod per interval on average, and pods that started together (or that
//   a restarted KWOK finds all at once) spread over one interval from their first beat.
// Job pods are left to KWOK's pod-complete stage (a pod matching both would pick one at random).
import { stringify } from 'yaml';

/** The annotation a pod opts in with: its heartbeat interval (a Go duration: `2s`, `1m`). */
export const HEARTBEAT_DELAY_ANNOTATION = 'pod-heartbeat.stage.kwok.x-k8s.io/delay';
/** Optional upper bound of the interval, drawn uniformly between the two. */
export const HEARTBEAT_JITTER_ANNOTATION = 'pod-heartbeat.stage.kwok.x-k8s.io/jitter-delay';

const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 24 * 3600_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/**
 * `10s`, `1.5m`, `500ms`, `1h` -> milliseconds, from 1 s to 24 h. `what` names the flag or field
 * in the error.
 */
export function parseHeartbeatInterval(text: string, what = '--pod-heartbeat'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) : NaN;
  if (!(ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS))
    throw new Error(`${what}: expected a duration from 1s to 24h such as 10s, 2m or 1500ms, got "${text}"`);
  return ms;
}

/** The status patch: the probe times a kubelet refreshes, at now. */
const PROBE_PATCH = `{{ $now := Now }}
conditions:
- type: Ready
  status: "True"
  lastProbeTime: {{ $now | Quote }}
- type: ContainersReady
  status: "True"
  lastProbeTime: {{ $now | Quote }}
`;

const annotation = (key: string) => `.metadata.annotations["${key}"]`;

/** Running, Ready, not deleted and not a Job's pod: a pod a kubelet keeps probing. */
const RUNNING_POD = [
  { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
  { key: '.status.phase', operator: 'In', values: ['Running'] },
  { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'In', values: ['True'] },
  { key: '.metadata.ownerReferences.[].kind', operator: 'NotIn', values: ['Job'] },
];

function stage(name: string, matchExpressions: object[], delay: object): object {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions },
      delay,
      // A strategic merge patch (KWOK's default for pods): conditions merge by type.
      steps: [{ patch: { subresource: 'status', root: 'status', template: PROBE_PATCH } }],
    },
  };
}

/**
 * The heartbeat stages as YAML documents to append to KWOK's stages file: the per-pod opt-in
 * always, and with `intervalMs` the cluster-wide one.
 */
export function podHeartbeatStages(intervalMs?: number): string {
  if (intervalMs !== undefined && !(intervalMs >= MIN_INTERVAL_MS && intervalMs <= MAX_INTERVAL_MS))
    throw new Error(`podStatusHeartbeat: expected 1000 to ${MAX_INTERVAL_MS} ms, got ${intervalMs}`);
  const optedIn = { key: annotation(HEARTBEAT_DELAY_ANNOTATION), operator: 'Exists' };
  const stages = [
    stage('pod-heartbeat-annotated', [...RUNNING_POD, optedIn], {
      // An annotation that is no duration beats every 10 s rather than in a tight loop.
      durationMilliseconds: 10_000,
      durationFrom: { expressionFrom: annotation(HEARTBEAT_DELAY_ANNOTATION) },
      jitterDurationFrom: { expressionFrom: annotation(HEARTBEAT_JITTER_ANNOTATION) },
    }),
  ];
  if (intervalMs !== undefined) {
    stages.push(
      stage('pod-heartbeat', [...RUNNING_POD, { ...optedIn, operator: 'DoesNotExist' }], {
        durationMilliseconds: Math.max(MIN_INTERVAL_MS, Math.round(intervalMs / 2)),
        jitterDurationMilliseconds: Math.round(intervalMs * 1.5),
      }),
    );
  }
  return stages.map((s) => `---\n${stringify(s, { lineWidth: 0 })}`).join('');
}
