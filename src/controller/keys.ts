// What the operator reconciles, as typed keys, and the priority lanes of its work.
import { namespaceOfKey } from '../kube/store.ts';

export type ReconcileKey =
  | { kind: 'exception'; namespace: string; name: string }
  | { kind: 'pod'; namespace: string; name: string }
  /** One namespace's admission param (HostNamespaceGrantSet `grants`). */
  | { kind: 'grants'; namespace: string }
  /** Which namespaces have their grants object (HostNamespaceGrantIndex `cluster`). */
  | { kind: 'grantIndex' }
  /** One namespace's OpenReports Report (with --policy-reports). */
  | { kind: 'report'; namespace: string }
  /** One FailedCreate Event in which our admission policy refused a workload's pod (keyed by the Event). */
  | { kind: 'refusal'; namespace: string; name: string };

/** The controller a key belongs to, as /metrics labels it (the index is part of the grants controller). */
export type ControllerName = 'exception' | 'pod' | 'grants' | 'report' | 'refusal';
export function controllerOf(key: ReconcileKey): ControllerName {
  return key.kind === 'grantIndex' ? 'grants' : key.kind;
}

/**
 * Lanes, most urgent first: when many exceptions lapse at once, every lapse Event leaves before
 * any status write or grants update, and those before the pod relabels the lapses trigger.
 */
export const LANE = {
  /** An exception's own reconcile and the lifecycle Events it raises. */
  exceptionEvents: 0,
  /**
   * The admission params share the first lane: one namespace's burst of status writes must not
   * delay another namespace's grant or revocation.
   */
  grants: 0,
  /** Exception status (also the throttled coveredPods refresh). */
  status: 1,
  /** Pod labels/annotations and violation Events. */
  pods: 2,
  /** OpenReports Reports: after the pods they describe. */
  reports: 2,
  /** A refused pod creation linked to its lapsed exception, on the workload: with the pods' Events. */
  refusals: 2,
} as const;

export const GRANT_INDEX_KEY: ReconcileKey = { kind: 'grantIndex' };

export function grantsKey(namespace: string): ReconcileKey {
  return { kind: 'grants', namespace };
}

export function reportKey(namespace: string): ReconcileKey {
  return { kind: 'report', namespace };
}

export function exceptionKey(storeKey: string): ReconcileKey {
  return { kind: 'exception', namespace: namespaceOfKey(storeKey), name: storeKey.slice(storeKey.indexOf('/') + 1) };
}

export function refusalKey(storeKey: string): ReconcileKey {
  return { kind: 'refusal', namespace: namespaceOfKey(storeKey), name: storeKey.slice(storeKey.indexOf('/') + 1) };
}

export function podKey(storeKey: string): ReconcileKey {
  return { kind: 'pod', namespace: namespaceOfKey(storeKey), name: storeKey.slice(storeKey.indexOf('/') + 1) };
}

/** The queue's identity of a key (equal keys are one piece of work). */
export function keyId(key: ReconcileKey): string {
  switch (key.kind) {
    case 'grantIndex':
      return 'grantIndex';
    case 'grants':
      return `grants:${key.namespace}`;
    case 'report':
      return `report:${key.namespace}`;
    default:
      return `${key.kind}:${key.namespace}/${key.name}`;
  }
}

/** The lane a key starts in. */
export function laneOf(key: ReconcileKey): number {
  if (key.kind === 'report') return LANE.reports;
  if (key.kind === 'refusal') return LANE.refusals;
  return key.kind === 'exception' ? LANE.exceptionEvents : key.kind === 'pod' ? LANE.pods : LANE.grants;
}
