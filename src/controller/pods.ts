// The pod reconciler: our labels/annotations on one pod (offender, covered, or none), and a
// HostNamespaceViolation Event for each cause of its offence (src/policy/violation.ts). The Event
// first, then the marks with the marker that records it: a crash in between re-finds the same
// Event (its name derives from the pod's uid and the cause), and an offender whose genuine marker
// already names every flag at fault raises nothing, however often its labels or status change.
import type { DateTime } from 'luxon';
import type { EventSpec } from '../kube/events.ts';
import { ANNOTATION_VIOLATION_EVENT, LABEL_VIOLATION } from '../api/v1alpha1.ts';
import { desiredMarks, marksPatch } from '../policy/pod-marks.ts';
import {
  causeFlags,
  causeKey,
  markedCause,
  priorCover,
  violationCause,
  violationMarker,
  violationNote,
  workloadViolationNote,
} from '../policy/violation.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

export function reconcilePod(namespace: string, name: string, caches: Caches, now: DateTime): ReconcileResult<Write> {
  const pod = caches.pods.get(`${namespace}/${name}`);
  if (!pod) return { writes: [] };
  const cls = caches.classify(pod, caches.grantsIn(namespace, now));
  const current = pod.marks.annotations[ANNOTATION_VIOLATION_EVENT];
  // Only a marker genuine for this pod is kept; a forged one goes.
  const recorded = markedCause(pod.uid, current);
  let marker = recorded === undefined ? undefined : current;
  const events: Write[] = [];

  if (cls.kind === 'offender') {
    // Still an offender for flags an Event already named (fewer at fault is no new cause).
    const named = recorded === undefined ? [] : causeFlags(recorded).split(',');
    const sameOffence =
      pod.marks.labels[LABEL_VIOLATION] === 'true' &&
      recorded !== undefined &&
      cls.uncovered.every((f) => named.includes(f));
    if (!sameOffence) {
      const cause = violationCause(pod, cls, priorCover(pod.marks), caches.exceptionStatesIn(namespace, now));
      const key = causeKey(cause);
      marker = violationMarker(pod.uid, key);
      if (marker !== current) {
        const workload = caches.workloadOf(pod);
        const owned = workload.kind !== 'Pod';
        events.push({
          kind: 'event',
          event: {
            regarding: { apiVersion: 'v1', kind: 'Pod', namespace, name, uid: pod.uid },
            type: 'Warning',
            reason: 'HostNamespaceViolation',
            action: 'Classify',
            note: violationNote({ ...pod, owner: owned ? `${workload.kind}/${workload.name}` : undefined }, cause),
            key,
          },
        });
        // The same cause once on the workload: its name derives from (workload uid, cause), so
        // the workload's other pods, and a restart, find it in the cache of our workload Events
        // (or, before the cache saw it, get 409) instead of repeating it.
        if (owned && workload.uid) {
          const onWorkload: EventSpec = {
            regarding: { ...workload },
            type: 'Warning',
            reason: 'HostNamespaceViolation',
            action: 'Classify',
            note: workloadViolationNote(workload, name, cause),
            key,
          };
          if (!caches.workloadEventExists(onWorkload)) events.push({ kind: 'event', event: onWorkload });
        }
      }
    }
  }
  const patch = marksPatch(pod.marks, desiredMarks(cls, marker));
  const writes: Write[] = events;
  if (patch) writes.push({ kind: 'podMarks', namespace, name, uid: pod.uid, metadata: patch.metadata });
  return { writes };
}
