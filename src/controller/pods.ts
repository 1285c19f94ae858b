// The pod reconciler: our labels/annotations on one pod (offender, covered, or none), and a
// HostNamespaceViolation Event when it becomes an offender. The Event first, the label after:
// the label records that the Event exists. The Event's key includes the resourceVersion decided
// on, so a crash in between re-finds the same Event.
import type { DateTime } from 'luxon';
import { LABEL_VIOLATION } from '../api/v1alpha1.ts';
import { rfc3339 } from '../policy/grants.ts';
import { desiredMarks, marksPatch } from '../policy/pod-marks.ts';
import { violationNote } from '../policy/classify.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

export function reconcilePod(namespace: string, name: string, caches: Caches, now: DateTime): ReconcileResult<Write> {
  const pod = caches.pods.get(`${namespace}/${name}`);
  if (!pod) return { writes: [] };
  const evaluated = caches.evaluatedIn(namespace, now);
  const cls = caches.classify(pod, caches.grantsIn(namespace, now));
  const patch = marksPatch(pod.marks, desiredMarks(cls));
  if (!patch) return { writes: [] };

  const writes: Write[] = [];
  if (cls.kind === 'offender' && pod.marks.labels[LABEL_VIOLATION] !== 'true') {
    const expiresAtOf = (exception: string) => {
      const t = evaluated.find((e) => e.facts.name === exception)?.facts.expiresAt;
      return t ? rfc3339(t) : undefined;
    };
    writes.push({
      kind: 'event',
      event: {
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace, name, uid: pod.uid },
        type: 'Warning',
        reason: 'HostNamespaceViolation',
        action: 'Classify',
        note: violationNote(pod, cls.uncovered, cls.lapsed, expiresAtOf),
        key: `${pod.resourceVersion}/${cls.uncovered.join(',')}`,
      },
    });
  }
  writes.push({ kind: 'podMarks', namespace, name, uid: pod.uid, metadata: patch.metadata });
  return { writes };
}
