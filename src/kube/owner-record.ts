// What the operator keeps of a ReplicaSet or a Job: its uid and its controller reference, nothing
// else, read from metadata-only watches. Only objects with a controller are kept: a missing entry
// and an unowned object mean the same to attribution (the ReplicaSet or Job is the workload).
import { controllerRef, type OwnerRef } from '../policy/workloads.ts';
import type { RawObject } from './reflector.ts';
import { shareOwnerRef } from './shared-values.ts';

export interface OwnedRecord {
  uid: string;
  /** Shared by every object one controller owns (a Deployment's ReplicaSets, a CronJob's Jobs). */
  owner: OwnerRef;
}

/** Raw object (PartialObjectMetadata or full) -> its uid and controller, or undefined when it has none. */
export function toOwnedRecord(raw: RawObject): OwnedRecord | undefined {
  const owner = controllerRef(raw.metadata as { ownerReferences?: unknown } | undefined);
  const uid = raw.metadata?.uid;
  if (!owner || typeof uid !== 'string') return undefined;
  return { uid, owner: shareOwnerRef(owner) };
}
