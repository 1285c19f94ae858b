// What the operator keeps of a FailedCreate Event (core/v1, watched with fieldSelector
// reason=FailedCreate): only those where one of our admission policies refused the pod, and of
// them only the object refused and the message. A few per failing workload, gone with the Event.
import { isOurRefusal } from '../policy/refusal.ts';
import { truncateUtf8 } from '../policy/limits.ts';
import type { OwnerRef } from '../policy/workloads.ts';
import type { RawObject } from './reflector.ts';

export interface RefusalRecord {
  resourceVersion: string;
  /** The controller whose pod creation was refused (DaemonSet, ReplicaSet, Job, StatefulSet, ...). */
  involved: OwnerRef;
  /** The controller's message, which quotes the policy's (bounded). */
  message: string;
}

/** The quoted refusal kept: the policy's message is about 600 bytes; the Event note holds 1 KiB in all. */
const MESSAGE_MAX_BYTES = 2048;

export function toRefusalRecord(raw: RawObject): RefusalRecord | undefined {
  const e = raw as RawObject & {
    reason?: unknown;
    message?: unknown;
    involvedObject?: { apiVersion?: unknown; kind?: unknown; name?: unknown; uid?: unknown; namespace?: unknown };
  };
  if (e.reason !== 'FailedCreate' || typeof e.message !== 'string' || !isOurRefusal(e.message)) return undefined;
  const o = e.involvedObject ?? {};
  if (typeof o.kind !== 'string' || typeof o.name !== 'string' || typeof o.uid !== 'string') return undefined;
  if (o.namespace !== raw.metadata?.namespace) return undefined;
  return {
    resourceVersion: raw.metadata?.resourceVersion ?? '',
    involved: {
      apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : '',
      kind: o.kind,
      name: o.name,
      uid: o.uid,
    },
    message: truncateUtf8(e.message, MESSAGE_MAX_BYTES),
  };
}
