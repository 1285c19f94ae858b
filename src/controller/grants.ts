// The grants reconciler: the admission policy's param object (the HostNamespaceGrants singleton)
// computed from every exception at `now`, written only when it differs. Exceptions over the
// object's bounds are left out and reported in `dropped` (logged, and counted in /metrics).
import type { DateTime } from 'luxon';
import { API_VERSION, GRANTS_KIND, GRANTS_NAME, type HostNamespaceGrants } from '../api/v1alpha1.ts';
import { desiredGrants } from '../policy/grants.ts';
import { stableJson } from '../policy/json.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

export function reconcileGrants(caches: Caches, now: DateTime): ReconcileResult<Write> & { dropped: string[] } {
  const { dropped = [], ...spec } = desiredGrants(caches.evaluatedIn(undefined, now), caches.policy.exemptNamespaces);
  const current = caches.grants.get(GRANTS_NAME);
  if (current && stableJson(current.spec ?? {}) === stableJson(spec)) return { writes: [], dropped };
  const object: HostNamespaceGrants = current
    ? { ...current, spec }
    : {
        apiVersion: API_VERSION,
        kind: GRANTS_KIND,
        metadata: { name: GRANTS_NAME, labels: { 'app.kubernetes.io/managed-by': 'hostns-operator' } },
        spec,
      };
  return { writes: [{ kind: 'grants', object, create: !current }], dropped };
}
