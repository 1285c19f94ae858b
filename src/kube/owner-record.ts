// What the operator keeps of a ReplicaSet or a Job: its uid and its controller reference, nothing
// else, read from metadata-only watches. Only objects with a controller are kept: a missing entry
// and an unowned object mean the same to attribution (the ReplicaSet or Job is the workload).
import { controllerRef, type OwnerRef } from '../policy/workloads.ts';
import type { RawObject } from './reflector.ts';

export interface OwnedRecord {
  uid: string;
  /** Shared by every object one controller owns (a Deployment's ReplicaSets, a CronJob's Jobs). */
  owner: OwnerRef;
}

/** At most this many distinct controllers share their reference object; past it, none is shared. */
const MAX_SHARED = 50_000;
const shared = new Map<string, OwnerRef>();

/** One frozen reference per controller (a DaemonSet's 1,000 pods hold the same one). */
export function shareOwner(ref: OwnerRef): OwnerRef {
  const have = shared.get(ref.uid);
  if (have && have.name === ref.name && have.kind === ref.kind && have.apiVersion === ref.apiVersion) return have;
  const frozen = Object.freeze({ ...ref });
  if (ref.uid && shared.size < MAX_SHARED) shared.set(ref.uid, frozen);
  return frozen;
}

/** Raw object (PartialObjectMetadata or full) -> its uid and controller, or undefined when it has none. */
export function toOwnedRecord(raw: RawObject): OwnedRecord | undefined {
  const owner = controllerRef(raw.metadata as { ownerReferences?: unknown } | undefined);
  const uid = raw.metadata?.uid;
  if (!owner || typeof uid !== 'string') return undefined;
  return { uid, owner: shareOwner(owner) };
}
