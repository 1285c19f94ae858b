// The grants reconcilers: each namespace's admission param (HostNamespaceGrantSet `grants`,
// computed from that namespace's exceptions alone, so nothing written in one namespace changes
// admission in another) and the grant index (which namespaces have theirs, read by
// hostns-grants-required; it also states the operator's policy settings for kubectl hostns).
// Each writes only when the object differs (grants-writer.ts).
import type { DateTime } from 'luxon';
import { desiredGrantIndex } from '../policy/grants.ts';
import { publishedPolicySettings } from '../policy/settings.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

export function reconcileGrants(
  namespace: string,
  caches: Caches,
  now: DateTime,
): ReconcileResult<Write> & { overBudget: string[] } {
  const record = caches.namespaces.get(namespace);
  const hasExceptions = caches.exceptions.keysIn(namespace).size > 0;
  // A namespace that is gone or going takes its grants object with it.
  if ((!record && !hasExceptions) || record?.terminating) return { writes: [], overBudget: [] };
  const desired = caches.desiredGrants(namespace, now);
  return {
    writes: [{ kind: 'grants', namespace, spec: desired?.spec, current: caches.writtenGrants(namespace) }],
    overBudget: desired?.overBudget ?? [],
  };
}

/** `identity`: this replica, named in the published policy settings. */
export function reconcileGrantIndex(caches: Caches, now: DateTime, identity: string): ReconcileResult<Write> {
  const hasGrants = (ns: string) => {
    const g = caches.writtenGrants(ns);
    const n = caches.namespaces.get(ns);
    // Created for this very namespace, not left in the cache from a deleted one of the same name.
    return !!g && !!n && (g.metadata.creationTimestamp ?? '') >= n.creationTimestamp;
  };
  const desired = desiredGrantIndex(caches.namespaces.values(), hasGrants, caches.policy.exemptNamespaces);
  const settings = publishedPolicySettings(caches.policy, now, identity);
  return { writes: [{ kind: 'grantIndex', namespaces: desired, settings, current: caches.writtenGrantIndex }] };
}
