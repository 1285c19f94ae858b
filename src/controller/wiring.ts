// Which change enqueues which keys: the operator's whole trigger graph, in one place.
//
//   exception changed     -> that exception                                  (lane 0)
//     created, deleted, spec or phase changed
//                         -> every pod of its namespace (lane 2) and its namespace's grants (lane 0)
//   pod changed           -> that pod                                        (lane 2)
//     appeared, left, replaced or relabelled
//                         -> each exception of its namespace, at most once a second (lane 1):
//                            its status.coveredPods may have changed
//   grants object changed -> that namespace's grants and the index           (lane 0)
//                            (also our own write's response:) each exception of the namespace
//                            (lane 1), whose Enforced condition is judged from the object,
//                            and the index when the object appeared (our create)
//   namespace changed     -> its grants (unless it left) and the index       (lane 0)
//     its exception-namespace label changed (--exception-namespace-label)
//                         -> each exception of it (lane 0) and every pod of it (lane 2)
//   NetworkPolicy changed (one restricting egress, or no longer)
//                         -> when an exception there enforces networkRestricted: every pod of its
//                            namespace (lane 2) and each exception (lane 1, coveredPods)
//   grant index changed   -> the index                                       (lane 0)
//   FailedCreate Event of a refusal by our admission policy (src/kube/refusal-record.ts)
//                         -> that refusal: linked on its workload to the lapsed exception (lane 2)
//   ReplicaSet or Job changed -> nothing: attribution is read when a pod or refusal is reconciled
//   our Event on a workload appeared or left (src/kube/workload-event-record.ts)
//                         -> nothing: its name is read when a pod or refusal plans that Event
//
// The response of our own write (origin 'observed') does not enqueue the object it wrote: the
// reconcile that wrote it already left it as desired. Its watch echo carries the same
// resourceVersion and enqueues nothing either.
import type { HostNamespaceException, HostNamespaceGrantIndex, HostNamespaceGrantSet } from '../api/v1alpha1.ts';
import type { PodRecord } from '../kube/pod-record.ts';
import type { RefusalRecord } from '../kube/refusal-record.ts';
import type { Store } from '../kube/store.ts';
import type { Change, MapFunc, Request } from '../runtime/manager.ts';
import type { NetworkPolicyRecord } from '../policy/network.ts';
import type { NamespaceRecord } from './caches.ts';
import {
  exceptionKey,
  GRANT_INDEX_KEY,
  grantsKey,
  LANE,
  podKey,
  refusalKey,
  reportKey,
  type ReconcileKey,
} from './keys.ts';
import { namespaceOfKey } from '../kube/store.ts';

/** Status writes under pod churn: at most one per exception per second. */
export const COVERAGE_THROTTLE_MS = 1000;

type Versioned = { resourceVersion?: string } | undefined;

/** The watch echo of an object already in the cache (our own write, or a relist of the unchanged). */
function isEcho<T>(c: Change<T>, versionOf: (o: T) => Versioned): boolean {
  if (!c.obj || !c.previous) return false;
  const now = versionOf(c.obj)?.resourceVersion;
  return now !== undefined && now === versionOf(c.previous)?.resourceVersion;
}

function* namespaceFanOut(pods: Store<PodRecord>, namespace: string): Iterable<Request<ReconcileKey>> {
  yield { key: grantsKey(namespace), lane: LANE.grants };
  for (const p of pods.keysIn(namespace)) yield { key: podKey(p), lane: LANE.pods };
}

export function onExceptionChange(pods: Store<PodRecord>): MapFunc<HostNamespaceException, ReconcileKey> {
  return function* (c) {
    if (isEcho(c, (e) => e.metadata)) return;
    const { obj, previous: prev } = c;
    if (c.origin !== 'observed') yield { key: exceptionKey(c.key), lane: LANE.exceptionEvents };
    const specChanged =
      !obj || !prev || obj.metadata.generation !== prev.metadata.generation || obj.metadata.uid !== prev.metadata.uid;
    // The phase in status changes exactly when the exception starts or stops granting (or turns Invalid).
    const phaseChanged = obj?.status?.phase !== prev?.status?.phase;
    if (specChanged || phaseChanged) yield* namespaceFanOut(pods, namespaceOfKey(c.key));
  };
}

export function onPodChange(exceptions: Store<HostNamespaceException>): MapFunc<PodRecord, ReconcileKey> {
  return function* (c) {
    if (isEcho(c, (p) => p)) return;
    const { obj, previous: prev } = c;
    if (obj && c.origin !== 'observed') yield { key: podKey(c.key), lane: LANE.pods };
    const coverageMayChange =
      !obj !== !prev || (obj && prev && (obj.uid !== prev.uid || !sameLabels(obj.labels, prev.labels)));
    if (!coverageMayChange) return;
    for (const e of exceptions.keysIn(namespaceOfKey(c.key))) {
      yield { key: exceptionKey(e), lane: LANE.status, throttleMs: COVERAGE_THROTTLE_MS };
    }
  };
}

export function onGrantsChange(
  exceptions: Store<HostNamespaceException>,
): MapFunc<HostNamespaceGrantSet, ReconcileKey> {
  return function* (c) {
    if (isEcho(c, (g) => g.metadata)) return;
    const namespace = namespaceOfKey(c.key);
    // What admission reads there changed: whether each exception is enforced is judged from it.
    for (const e of exceptions.keysIn(namespace)) yield { key: exceptionKey(e), lane: LANE.status };
    // The index lists the namespaces whose grants object exists: one that appeared (our own
    // create included: its response usually arrives before the watch event, which is then an
    // echo) or left changes it.
    const appearedOrLeft = !c.obj !== !c.previous;
    if (c.origin === 'observed') {
      if (appearedOrLeft) yield { key: GRANT_INDEX_KEY, lane: LANE.grants };
      return;
    }
    // Someone else's write (or deletion): restore it if needed.
    yield { key: grantsKey(namespace), lane: LANE.grants };
    yield { key: GRANT_INDEX_KEY, lane: LANE.grants };
  };
}

export function onNamespaceChange(
  exceptions: Store<HostNamespaceException>,
  pods: Store<PodRecord>,
): MapFunc<NamespaceRecord, ReconcileKey> {
  return function* (c) {
    if (isEcho(c, (n) => n)) return;
    if (c.obj) yield { key: grantsKey(c.key), lane: LANE.grants };
    yield { key: GRANT_INDEX_KEY, lane: LANE.grants };
    // Its exceptions turn Invalid (or valid again): their status, Events and pods follow.
    if (c.obj && c.previous && c.obj.exceptionsLabel !== c.previous.exceptionsLabel) {
      for (const e of exceptions.keysIn(c.key)) yield { key: exceptionKey(e), lane: LANE.exceptionEvents };
      for (const p of pods.keysIn(c.key)) yield { key: podKey(p), lane: LANE.pods };
    }
  };
}

/** Whether an exception of `namespace` enforces networkRestricted (only then do NetworkPolicies matter). */
function enforcesNetworkRestricted(exceptions: Store<HostNamespaceException>, namespace: string): boolean {
  for (const k of exceptions.keysIn(namespace)) {
    const controls: unknown = exceptions.get(k)?.spec?.riskAcceptance?.enforcedControls;
    if (Array.isArray(controls) && controls.includes('networkRestricted')) return true;
  }
  return false;
}

export function onNetworkPolicyChange(
  exceptions: Store<HostNamespaceException>,
  pods: Store<PodRecord>,
): MapFunc<NetworkPolicyRecord, ReconcileKey> {
  return function* (c) {
    if (isEcho(c, (n) => n)) return;
    const namespace = namespaceOfKey(c.key);
    if (!enforcesNetworkRestricted(exceptions, namespace)) return;
    for (const p of pods.keysIn(namespace)) yield { key: podKey(p), lane: LANE.pods };
    for (const e of exceptions.keysIn(namespace))
      yield { key: exceptionKey(e), lane: LANE.status, throttleMs: COVERAGE_THROTTLE_MS };
  };
}

export const onGrantIndexChange: MapFunc<HostNamespaceGrantIndex, ReconcileKey> = function* (c) {
  if (isEcho(c, (g) => g.metadata) || c.origin === 'observed') return;
  yield { key: GRANT_INDEX_KEY, lane: LANE.grants };
};

/** A new or repeated refusal (the controller bumps its Event's count on each retry). */
export const onRefusalChange: MapFunc<RefusalRecord, ReconcileKey> = function* (c) {
  if (c.obj && !isEcho(c, (r) => r)) yield { key: refusalKey(c.key), lane: LANE.refusals };
};

/** Every key, queued once when this replica starts leading. */
export function* allKeys(
  exceptions: Store<HostNamespaceException>,
  pods: Store<PodRecord>,
  namespaces: Store<NamespaceRecord>,
  grants: Store<HostNamespaceGrantSet>,
  refusals: Store<RefusalRecord>,
): Iterable<ReconcileKey> {
  for (const key of exceptions.keys()) yield exceptionKey(key);
  for (const key of refusals.keys()) yield refusalKey(key);
  for (const key of pods.keys()) yield podKey(key);
  const grantNamespaces = new Set([...namespaces.keys(), ...exceptions.namespaces()]);
  for (const key of grants.keys()) grantNamespaces.add(namespaceOfKey(key));
  for (const ns of grantNamespaces) yield grantsKey(ns);
  yield GRANT_INDEX_KEY;
}

/** Equal labels, ignoring our own keys: writing a mark changes no exception's coverage. */
function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const theirs = (l: Record<string, string>) => Object.keys(l).filter((k) => !k.startsWith('hostns.io/'));
  const ka = theirs(a);
  if (ka.length !== theirs(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

// With --policy-reports, each namespace's Report (lane 2, at most once a second per namespace):
//   exception changed (spec, status: its phase and conditions), our own status write included
//                         -> the Report of its namespace
//   pod appeared, left, replaced or relabelled -> the Report of its namespace
//   Report changed by someone else (or deleted) -> that Report, restored
/** Report writes under churn: at most one per namespace per second. */
export const REPORT_THROTTLE_MS = 1000;

const reportRequest = (namespace: string): Request<ReconcileKey> => ({
  key: reportKey(namespace),
  lane: LANE.reports,
  throttleMs: REPORT_THROTTLE_MS,
});

export const onExceptionChangeForReport: MapFunc<HostNamespaceException, ReconcileKey> = function* (c) {
  if (!isEcho(c, (e) => e.metadata)) yield reportRequest(namespaceOfKey(c.key));
};

export const onPodChangeForReport: MapFunc<PodRecord, ReconcileKey> = function* (c) {
  if (isEcho(c, (p) => p)) return;
  const { obj, previous: prev } = c;
  if (!obj !== !prev || (obj && prev && (obj.uid !== prev.uid || !sameLabels(obj.labels, prev.labels)))) {
    yield reportRequest(namespaceOfKey(c.key));
  }
};

export const onReportChange: MapFunc<{ metadata: { resourceVersion?: string } }, ReconcileKey> = function* (c) {
  if (isEcho(c, (r) => r.metadata) || c.origin === 'observed') return;
  yield reportRequest(namespaceOfKey(c.key));
};

/** Every namespace's Report, queued once when this replica starts leading. */
export function* allReportKeys(namespaces: Store<NamespaceRecord>, reports: Store<unknown>): Iterable<ReconcileKey> {
  const all = new Set(namespaces.keys());
  for (const key of reports.keys()) all.add(namespaceOfKey(key));
  for (const ns of all) yield reportKey(ns);
}
