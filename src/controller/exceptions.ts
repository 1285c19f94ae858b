// The exception reconciler: for one HostNamespaceException, the lifecycle Events due and the
// status that records them, as one reconcile of one key. Exactly once: each Event is created
// under a deterministic name first (409 AlreadyExists = an earlier attempt did it), then the
// status PUT at the cached resourceVersion records it in status.announced. A crash in between
// leaves the Event without its record; the next run plans it again and the create answers 409.
// Fan-out (a phase change re-queues the namespace's pods and the grants) is declared in
// wiring.ts: it follows from the status this write changes.
import type { DateTime } from 'luxon';
import { API_VERSION, EXCEPTION_KIND } from '../api/v1alpha1.ts';
import { stableJson } from '../policy/json.ts';
import { isGranting } from '../policy/lifecycle.ts';
import { planException } from '../policy/status.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

/** Wake a few ms after a transition rather than before: at the instant itself the phase must already have changed. */
export const TRANSITION_MARGIN_MS = 5;

export function reconcileException(
  namespace: string,
  name: string,
  caches: Caches,
  now: DateTime,
): ReconcileResult<Write> {
  const key = `${namespace}/${name}`;
  const obj = caches.exceptions.get(key);
  const evaluated = caches.evaluated(key, now);
  if (!obj || !evaluated) return { writes: [] };
  const { facts, lifecycle } = evaluated;
  const covered = isGranting(lifecycle.phase) ? (caches.coveredCounts(namespace, now).get(key) ?? 0) : 0;

  const enforcement = caches.enforcementIn(namespace, now)(evaluated);
  const next = lifecycle.nextTransitionAt;
  const timer = next ? { requeueAfter: next.diff(now).toMillis() + TRANSITION_MARGIN_MS } : {};
  // While its namespace's grants write is under way, nothing is announced or recorded: an
  // Activated Event then means admission honours the exception, and the status is written once
  // (not Enforced=False, then True). The grants object's change re-queues this key either way.
  if (enforcement.reason === 'GrantsPending') return { writes: [], ...timer };
  const workloads = caches.impactIn(namespace, now).get(key) ?? [];
  const plan = planException(obj, facts, lifecycle, covered, enforcement, now, workloads);
  const writes: Write[] = plan.events.map((e) => ({
    kind: 'event',
    event: {
      regarding: { apiVersion: API_VERSION, kind: EXCEPTION_KIND, namespace, name, uid: obj.metadata.uid ?? '' },
      type: e.type,
      reason: e.reason,
      action: e.action,
      note: e.note,
      key: e.key,
    },
  }));
  if (stableJson(plan.status) !== stableJson(obj.status ?? {}))
    writes.push({ kind: 'exceptionStatus', object: { ...obj, status: plan.status } });

  return { writes, ...timer };
}
