// The refusal reconciler: a workload controller's FailedCreate, where our admission policy refused
// its pod, linked to the lapsed exception that allowed those pods, in one Event on the workload
// (src/policy/refusal.ts). Once per workload per lapse: the Event's name derives from (workload
// uid, the lapsed exceptions and their expiry); repeated refusals and restarts find it in the
// cache of our workload Events (src/kube/workload-event-record.ts) and send nothing, or, when the
// cache has not seen it yet, get 409 for it.
import type { DateTime } from 'luxon';
import type { EventSpec } from '../kube/events.ts';
import { lapsedNamed, refusalKey, refusalNote } from '../policy/refusal.ts';
import type { ExceptionState } from '../policy/violation.ts';
import { workloadId } from '../policy/workloads.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

export function reconcileRefusal(
  namespace: string,
  name: string,
  caches: Caches,
  now: DateTime,
): ReconcileResult<Write> {
  const refusal = caches.refusals.get(`${namespace}/${name}`);
  if (!refusal) return { writes: [] };
  // The refused controller's own top owner: a ReplicaSet's Deployment, a Job's CronJob.
  const workload = caches.workloadOf({ namespace, name: refusal.involved.name, uid: '', owner: refusal.involved });
  const expired = new Map(
    caches
      .exceptionStatesIn(namespace, now)
      .filter((e) => e.phase === 'Expired')
      .map((e) => [e.name, e]),
  );
  // Lapsed exceptions its running pods depend on, and those the policy's message names (the
  // workload may have no pod left).
  const names = new Set(lapsedNamed(refusal.message));
  const id = workloadId(workload);
  for (const [key, list] of caches.impactIn(namespace, now)) {
    if (list.some((i) => workloadId(i.workload) === id)) names.add(key.slice(namespace.length + 1));
  }
  const lapsed = [...names]
    .map((n) => expired.get(n))
    .filter((e): e is ExceptionState => e !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  // Refused for another reason (never allowed, a broken contract): the controller's own Event says it.
  if (!lapsed.length || !workload.uid) return { writes: [] };
  const event: EventSpec = {
    regarding: { ...workload },
    type: 'Warning',
    reason: 'HostNamespaceExceptionLapsed',
    action: 'Admit',
    note: refusalNote(workload, lapsed, refusal.message),
    key: refusalKey(lapsed),
  };
  // Already there (a restart, a new leader, the workload's next refusal): nothing to send.
  if (caches.workloadEventExists(event)) return { writes: [] };
  return { writes: [{ kind: 'event', event }] };
}
