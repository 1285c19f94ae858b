// The networkRestricted control: a NetworkPolicy of the pod's own namespace selects the pod and has
// Egress in its policyTypes, so the pod's egress is restricted to what the policies allow. Only
// the operator checks it (admission sees no other object; `scan` of files has no NetworkPolicies
// of the cluster). The rules of the policies are not judged: an Egress policy allowing everything
// still counts, as Kubernetes itself counts the pod as egress-isolated.
import type { LabelSelector } from '../api/v1alpha1.ts';
import { matchesLabelSelector, selectorProblems, type Labels } from './selector.ts';

/** The lean NetworkPolicy the operator caches: what selects pods, and whether it isolates egress. */
export interface NetworkPolicyRecord {
  namespace: string;
  name: string;
  resourceVersion: string;
  podSelector: LabelSelector;
  restrictsEgress: boolean;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/**
 * Raw NetworkPolicy -> record; undefined for one that does not restrict egress (it can never make a
 * pod networkRestricted, so it is not kept), and for one whose podSelector cannot be read or names
 * the operator's own hostns.io/ marks (it would select a pod or not as the operator marks it). The API server
 * defaults policyTypes (Ingress, plus Egress when egress rules are given), so stored objects have it.
 */
export function toNetworkPolicyRecord(raw: unknown): NetworkPolicyRecord | undefined {
  const meta = obj(obj(raw).metadata);
  const spec = obj(obj(raw).spec);
  if (typeof meta.name !== 'string' || typeof meta.namespace !== 'string') return undefined;
  const types = Array.isArray(spec.policyTypes) ? spec.policyTypes : [];
  if (!types.includes('Egress')) return undefined;
  const podSelector = spec.podSelector === undefined ? {} : spec.podSelector;
  if (selectorProblems(podSelector, 'spec.podSelector').length > 0) return undefined;
  return {
    namespace: meta.namespace,
    name: meta.name,
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    podSelector: podSelector as LabelSelector,
    restrictsEgress: true,
  };
}

/**
 * Whether the pod keeps networkRestricted, given the NetworkPolicies of its namespace: never with
 * hostNetwork (NetworkPolicy does not apply to the node's network namespace).
 */
export function isNetworkRestricted(
  pod: { labels: Labels; hostNetwork: boolean },
  policiesInNamespace: Iterable<Pick<NetworkPolicyRecord, 'podSelector' | 'restrictsEgress'>>,
): boolean {
  if (pod.hostNetwork) return false;
  for (const p of policiesInNamespace)
    if (p.restrictsEgress && matchesLabelSelector(p.podSelector, pod.labels)) return true;
  return false;
}
