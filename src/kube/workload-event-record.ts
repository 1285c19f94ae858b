// Which of the operator's own Events on workloads exist, by name alone: a restart, a new leader or
// a repeated refusal skips an Event that is already there instead of sending a POST answered 409.
// Pods' Events need no such list (the pod's `hostns.io/violation-event` marker records them) nor do
// exceptions' (`status.announced`), and listing pods' Events would grow with the offenders (a lapse
// under a 1,000-pod DaemonSet makes 1,000): the field selector leaves both out on the server.
import { EXCEPTION_KIND, REPORTING_CONTROLLER } from '../api/v1alpha1.ts';
import type { EventTarget } from './events.ts';
import type { RawObject } from './reflector.ts';

/**
 * core/v1 Events that are ours and on a workload. `reportingComponent` is the core name of
 * events.k8s.io's `reportingController` (the API server selects on both); `!=` requirements are ANDed.
 */
export const WORKLOAD_EVENTS_FIELD_SELECTOR = `reportingComponent=${REPORTING_CONTROLLER},involvedObject.kind!=Pod,involvedObject.kind!=${EXCEPTION_KIND}`;

/** Whether an Event on `regarding` is one WORKLOAD_EVENTS_FIELD_SELECTOR lists. */
export function isWorkloadEvent(regarding: Pick<EventTarget, 'kind'>): boolean {
  return regarding.kind !== 'Pod' && regarding.kind !== EXCEPTION_KIND;
}

/** Present: an Event of that name exists. Nothing else is kept (listed as metadata only). */
export type WorkloadEventRecord = true;

export function toWorkloadEventRecord(raw: RawObject): WorkloadEventRecord | undefined {
  return raw.metadata?.name ? true : undefined;
}
