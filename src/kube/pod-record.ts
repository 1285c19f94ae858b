// The lean pod the controller caches: identity, labels, the three host flags and our own marks.
// Pods that use no host namespace and carry none of our keys are not cached at all: their host
// flags are immutable, so they can never need a label (kube-state-metrics-style lean caching).
import { ANNOTATION_VIOLATION_EVENT } from '../api/v1alpha1.ts';
import { ANNOTATION_KEYS, currentMarks, LABEL_KEYS, type PodMarks } from '../policy/pod-marks.ts';
import type { PodFacts } from '../policy/classify.ts';
import { podSecurityProfile, type PodSecurityProfile } from '../policy/contract.ts';
import { controllerRef, type OwnerRef } from '../policy/workloads.ts';
import type { RawObject } from './reflector.ts';
import { SharedStringMaps, shareOwnerRef } from './shared-values.ts';

export interface PodRecord extends PodFacts {
  uid: string;
  /** Of the last change of a kept fact: an update that changes none leaves the record as it was. */
  resourceVersion: string;
  marks: PodMarks;
  /** The controller reference (workload attribution, src/policy/workloads.ts); shared by a workload's pods. */
  owner?: OwnerRef;
  /** The node the pod is bound to, once scheduled (how many nodes a workload's pods run on). */
  nodeName?: string;
}

const EMPTY_MARKS: PodMarks = Object.freeze({ labels: Object.freeze({}), annotations: Object.freeze({}) });
const interned = new Map<string, string>();
/** Namespaces and node names repeat across thousands of pods: keep one copy of each string. */
function intern(s: string): string {
  const have = interned.get(s);
  if (have !== undefined) return have;
  interned.set(s, s);
  return s;
}

/**
 * Pods of one workload share a spec, so they share one profile object: a 1,000-pod DaemonSet
 * costs one profile, not 1,000. Bounded: past the cap, profiles are simply not shared.
 */
const profiles = new Map<string, PodSecurityProfile>();
const MAX_SHARED_PROFILES = 20_000;
function internProfile(p: PodSecurityProfile): PodSecurityProfile {
  const key = JSON.stringify(p);
  const have = profiles.get(key);
  if (have) return have;
  if (profiles.size < MAX_SHARED_PROFILES) profiles.set(key, Object.freeze(p));
  return p;
}

/** Labels and marks, one copy per distinct value (a workload's pods carry the same ones). */
const sharedMaps = new SharedStringMaps();

/** Marks objects by their (shared) parts: one per distinct pair, collected with its parts. */
const marksByParts = new WeakMap<object, WeakMap<object, PodMarks>>();

/**
 * Our marks, shared when they are a workload's (an exception's name, `true`); an offender's Event
 * marker names its own uid, so its annotations are its own and only the labels part is shared.
 */
function shareMarks(marks: PodMarks): PodMarks {
  const labels = sharedMaps.share(marks.labels) as PodMarks['labels'];
  if (marks.annotations[ANNOTATION_VIOLATION_EVENT] !== undefined)
    return Object.freeze({ labels, annotations: Object.freeze(marks.annotations) });
  const annotations = sharedMaps.share(marks.annotations) as PodMarks['annotations'];
  let byAnnotations = marksByParts.get(labels);
  if (!byAnnotations) marksByParts.set(labels, (byAnnotations = new WeakMap()));
  let shared = byAnnotations.get(annotations);
  if (!shared) byAnnotations.set(annotations, (shared = Object.freeze({ labels, annotations })));
  return shared;
}

/** `v` is a map holding one of `keys` as a string: what currentMarks would keep of it. */
function holdsAnyOf(v: unknown, keys: readonly string[]): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  return keys.some((k) => Object.hasOwn(v, k) && typeof (v as Record<string, unknown>)[k] === 'string');
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** Raw pod JSON -> PodRecord, or undefined when there is nothing to ever do for this pod. */
export function toPodRecord(raw: RawObject): PodRecord | undefined {
  const meta = (raw.metadata ?? {}) as {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: unknown;
    annotations?: unknown;
    ownerReferences?: unknown;
  };
  const spec = (raw.spec ?? {}) as {
    hostNetwork?: unknown;
    hostPID?: unknown;
    hostIPC?: unknown;
    serviceAccountName?: unknown;
    nodeName?: unknown;
  };
  const hostNetwork = spec.hostNetwork === true;
  const hostPID = spec.hostPID === true;
  const hostIPC = spec.hostIPC === true;
  // Most pods use no host namespace and carry none of our keys: decided without copying anything
  // (every pod of a LIST and every status update of a watch comes through here).
  if (!hostNetwork && !hostPID && !hostIPC && !holdsAnyOf(meta.labels, LABEL_KEYS)) {
    if (!holdsAnyOf(meta.annotations, ANNOTATION_KEYS)) return undefined;
  }
  if (typeof meta.name !== 'string' || typeof meta.namespace !== 'string') return undefined;
  const labels = stringMap(meta.labels) ?? {};
  const marks = currentMarks(labels, stringMap(meta.annotations));
  const marked = Object.keys(marks.labels).length > 0 || Object.keys(marks.annotations).length > 0;
  const owner = controllerRef(meta);
  // Every field always present (undefined when absent): one object shape for every record, its
  // fields inside the object rather than in a separate property array.
  return {
    namespace: intern(meta.namespace),
    name: meta.name,
    uid: typeof meta.uid === 'string' ? meta.uid : '',
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    labels: sharedMaps.share(labels),
    hostNetwork,
    hostPID,
    hostIPC,
    marks: marked ? shareMarks(marks) : EMPTY_MARKS,
    // What an exception's contract checks; only host-namespace pods are ever checked against one.
    security: hostNetwork || hostPID || hostIPC ? internProfile(podSecurityProfile(spec)) : undefined,
    // Shared by content: pods of one workload hold one reference, whatever uid it claims.
    owner: owner ? shareOwnerRef(owner) : undefined,
    nodeName: typeof spec.nodeName === 'string' && spec.nodeName ? intern(spec.nodeName) : undefined,
  };
}

/**
 * Two records of a pod hold the same facts: equal in everything but the resourceVersion. What a
 * kubelet writes (status: conditions, IPs, container states) is not kept, so its updates compare
 * equal and the cached record stays. Compares every field, so a fact added to PodRecord counts.
 */
export function samePodFacts(a: PodRecord, b: PodRecord): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => k === 'resourceVersion' || (Object.hasOwn(b, k) && sameJson(a[k as never], b[k as never])));
}

/** Deep equality of JSON-like values (interned and frozen parts compare by identity first). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(y, k) && sameJson(x[k], y[k]));
}
