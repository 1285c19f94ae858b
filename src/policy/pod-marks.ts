// The labels and annotations the operator keeps on pods, and the minimal patch to get there.
import {
  ANNOTATION_EXCEPTIONS,
  ANNOTATION_VIOLATION,
  ANNOTATION_VIOLATION_EVENT,
  LABEL_EXCEPTION,
  LABEL_VIOLATION,
} from '../api/v1alpha1.ts';
import type { PodClass } from './classify.ts';
import { joinWithinBytes, OUR_ANNOTATION_MAX_BYTES } from './limits.ts';

/** Our keys on one pod; a key absent here must be absent from the pod. */
export interface PodMarks {
  labels: Partial<Record<typeof LABEL_VIOLATION | typeof LABEL_EXCEPTION, string>>;
  annotations: Partial<
    Record<typeof ANNOTATION_VIOLATION | typeof ANNOTATION_EXCEPTIONS | typeof ANNOTATION_VIOLATION_EVENT, string>
  >;
}

/** Our label keys and annotation keys on pods. */
export const LABEL_KEYS = [LABEL_VIOLATION, LABEL_EXCEPTION] as const;
export const ANNOTATION_KEYS = [ANNOTATION_VIOLATION, ANNOTATION_EXCEPTIONS, ANNOTATION_VIOLATION_EVENT] as const;

/**
 * Offenders: `hostns.io/violation=true` + annotation naming the flags at fault.
 * Covered: `hostns.io/exception=<first covering exception>` + annotation listing all of them.
 * Both keep `violationEvent` (src/policy/violation.ts), the record of the last violation Event
 * raised: a covered pod keeps it so that flipping back to the same cause raises nothing new.
 * Clean and exempt pods carry none of our keys.
 */
export function desiredMarks(cls: PodClass, violationEvent?: string): PodMarks {
  const event = violationEvent === undefined ? {} : { [ANNOTATION_VIOLATION_EVENT]: violationEvent };
  switch (cls.kind) {
    case 'offender':
      return {
        labels: { [LABEL_VIOLATION]: 'true' },
        annotations: { [ANNOTATION_VIOLATION]: cls.uncovered.join(','), ...event },
      };
    case 'covered':
      return {
        labels: { [LABEL_EXCEPTION]: cls.exceptions[0]! },
        // Many covering exceptions must not make the annotation (and so the whole patch) too long.
        annotations: {
          [ANNOTATION_EXCEPTIONS]: joinWithinBytes(cls.exceptions, ',', OUR_ANNOTATION_MAX_BYTES),
          ...event,
        },
      };
    default:
      return { labels: {}, annotations: {} };
  }
}

/** Our keys as they are on the pod now. */
export function currentMarks(
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
): PodMarks {
  const out: PodMarks = { labels: {}, annotations: {} };
  for (const k of LABEL_KEYS) if (labels && Object.hasOwn(labels, k)) out.labels[k] = labels[k]!;
  for (const k of ANNOTATION_KEYS)
    if (annotations && Object.hasOwn(annotations, k)) out.annotations[k] = annotations[k]!;
  return out;
}

export interface MetadataMergePatch {
  metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> };
}

/**
 * A JSON merge patch touching only our keys (null deletes), or undefined when nothing differs.
 * Never mentions any other key, so it cannot clobber anyone else's labels.
 */
export function marksPatch(current: PodMarks, desired: PodMarks): MetadataMergePatch | undefined {
  const labels: Record<string, string | null> = {};
  const annotations: Record<string, string | null> = {};
  for (const k of LABEL_KEYS) {
    const want = desired.labels[k];
    if (current.labels[k] !== want) labels[k] = want ?? null;
  }
  for (const k of ANNOTATION_KEYS) {
    const want = desired.annotations[k];
    if (current.annotations[k] !== want) annotations[k] = want ?? null;
  }
  const patch: MetadataMergePatch = { metadata: {} };
  if (Object.keys(labels).length) patch.metadata.labels = labels;
  if (Object.keys(annotations).length) patch.metadata.annotations = annotations;
  return Object.keys(patch.metadata).length ? patch : undefined;
}

/**
 * The same patch without annotations: what still must be written (the label that `kubectl get -l`
 * and admission rely on) when the API refuses our annotations, e.g. because the pod's other
 * annotations already use the whole 256 KiB. Undefined when the patch touched only annotations.
 */
export function labelsOnly(patch: MetadataMergePatch): MetadataMergePatch | undefined {
  return patch.metadata.labels ? { metadata: { labels: patch.metadata.labels } } : undefined;
}
