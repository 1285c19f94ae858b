// What the operator reconciles, as typed keys, and the priority lanes of its work.
import { namespaceOfKey } from '../kube/store.ts';

export type ReconcileKey =
  | { kind: 'exception'; namespace: string; name: string }
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'grants' };

export type ControllerName = ReconcileKey['kind'];

/**
 * Lanes, most urgent first: when many exceptions lapse at once, every lapse Event leaves before
 * any status write or grants update, and those before the pod relabels the lapses trigger.
 */
export const LANE = {
  /** An exception's own reconcile and the lifecycle Events it raises. */
  exceptionEvents: 0,
  /** Exception status (also the throttled coveredPods refresh) and the admission grants. */
  status: 1,
  grants: 1,
  /** Pod labels/annotations and violation Events. */
  pods: 2,
} as const;

export const GRANTS_KEY: ReconcileKey = { kind: 'grants' };

export function exceptionKey(storeKey: string): ReconcileKey {
  return { kind: 'exception', namespace: namespaceOfKey(storeKey), name: storeKey.slice(storeKey.indexOf('/') + 1) };
}

export function podKey(storeKey: string): ReconcileKey {
  return { kind: 'pod', namespace: namespaceOfKey(storeKey), name: storeKey.slice(storeKey.indexOf('/') + 1) };
}

/** The queue's identity of a key (equal keys are one piece of work). */
export function keyId(key: ReconcileKey): string {
  return key.kind === 'grants' ? 'grants' : `${key.kind}:${key.namespace}/${key.name}`;
}

/** The lane a key starts in. */
export function laneOf(key: ReconcileKey): number {
  return key.kind === 'exception' ? LANE.exceptionEvents : key.kind === 'grants' ? LANE.grants : LANE.pods;
}
