// Which workload a pod belongs to: its top owner, followed through controller references only
// (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, Pod -> DaemonSet, Pod -> StatefulSet).
// Pure: the owners of ReplicaSets and Jobs come from a lookup the caller backs with a lean cache
// (the operator) or a list (the CLI); nothing here asks the API for anything.

/** A controller reference as kept in the lean caches (ownerReferences[] with controller: true). */
export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** A pod's top owner; a pod no controller owns is its own workload (kind `Pod`). */
export interface Workload {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** '' when unknown (a bare pod read without its uid). */
  uid: string;
}

/**
 * Kinds whose own controller is followed: the intermediate objects a workload controller creates.
 * Anything else (a DaemonSet, a StatefulSet, a CronJob, any custom kind) is a top owner.
 */
const INTERMEDIATE = new Set(['apps/ReplicaSet', 'batch/Job']);

/** `apps/v1` -> `apps`; `v1` -> '' (the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function isIntermediate(ref: Pick<OwnerRef, 'apiVersion' | 'kind'>): boolean {
  return INTERMEDIATE.has(`${groupOf(ref.apiVersion)}/${ref.kind}`);
}

/**
 * The controller of one ReplicaSet or Job (`ref` names it, uid included), or undefined when it has
 * none or is not known. A cached object with another uid is a different object under the same name
 * (deleted and recreated): it says nothing about `ref`.
 */
export type ControllerLookup = (namespace: string, ref: OwnerRef) => OwnerRef | undefined;

/** Owner chains are two links long in Kubernetes; anything longer is a loop or a custom tower. */
export const MAX_OWNER_DEPTH = 8;

/**
 * The top owner of a pod. `owner` is the pod's controller reference (undefined: a bare pod). Each
 * ReplicaSet or Job is followed to its controller while the lookup knows it; a missing one stops
 * the walk there (the ReplicaSet, orphaned or not yet seen, is then the workload). A cycle of
 * references stops at the last object before it repeats.
 */
export function workloadOf(
  pod: { namespace: string; name: string; uid: string; owner?: OwnerRef },
  lookup: ControllerLookup,
): Workload {
  if (!pod.owner) return { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid };
  let top = pod.owner;
  const seen = new Set([top.uid || `${top.kind}/${top.name}`]);
  for (let depth = 0; depth < MAX_OWNER_DEPTH && isIntermediate(top); depth++) {
    const up = lookup(pod.namespace, top);
    if (!up) break;
    const id = up.uid || `${up.kind}/${up.name}`;
    if (seen.has(id)) break;
    seen.add(id);
    top = up;
  }
  return { apiVersion: top.apiVersion, kind: top.kind, namespace: pod.namespace, name: top.name, uid: top.uid };
}

/** `DaemonSet monitoring/node-exporter`: how a person reads a workload. */
export function workloadLabel(w: Pick<Workload, 'kind' | 'namespace' | 'name'>): string {
  return `${w.kind} ${w.namespace}/${w.name}`;
}

/** One identity per workload, for grouping: kind, namespace and name (the uid may be unknown). */
export function workloadId(w: Pick<Workload, 'apiVersion' | 'kind' | 'namespace' | 'name'>): string {
  return `${groupOf(w.apiVersion)}/${w.kind}/${w.namespace}/${w.name}`;
}

/**
 * The controller reference of an object's metadata, or undefined: the one ownerReferences entry
 * with `controller: true`, when its fields are all strings. Several such entries (the API server
 * refuses them, a manifest or another source may not) name no controller: which one is real cannot
 * be told, and a pod's creator must not pick its workload by listing many.
 */
export function controllerRef(meta: { ownerReferences?: unknown } | undefined): OwnerRef | undefined {
  const refs = meta?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const controllers = (
    refs as ({ apiVersion?: unknown; kind?: unknown; name?: unknown; uid?: unknown; controller?: unknown } | null)[]
  ).filter((r) => r?.controller === true);
  if (controllers.length !== 1) return undefined;
  const { apiVersion, kind, name, uid } = controllers[0]!;
  if (typeof apiVersion === 'string' && typeof kind === 'string' && typeof name === 'string' && kind && name)
    return { apiVersion, kind, name, uid: typeof uid === 'string' ? uid : '' };
  return undefined;
}

/** What a workload can no longer do once admission refuses its pods: the consequence people feel. */
export function lostAbility(w: Pick<Workload, 'kind' | 'name'>): string {
  switch (w.kind) {
    case 'DaemonSet':
      return `new nodes get no ${w.name}, and its pods evicted or deleted are not replaced`;
    case 'Deployment':
    case 'ReplicaSet':
      return `rollouts, scale-ups and replacements of ${w.name} pods fail`;
    case 'StatefulSet':
      return `a ${w.name} replica that is deleted or evicted is not recreated`;
    case 'CronJob':
      return `the next runs of ${w.name} get no pod`;
    case 'Job':
      return `${w.name} cannot start or retry pods`;
    case 'Pod':
      return `a replacement of pod ${w.name} is refused`;
    default:
      return `${w.kind} ${w.name} cannot create pods`;
  }
}
