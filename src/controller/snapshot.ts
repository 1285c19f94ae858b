// What /metrics reports about the cluster, computed from the caches at `now`.
import type { DateTime } from 'luxon';
import type { ExceptionPhase } from '../api/v1alpha1.ts';
import type { ExceptionGrant } from '../policy/classify.ts';
import type { Caches } from './caches.ts';

export interface ClusterSnapshot {
  exceptionsByPhase: Record<ExceptionPhase, number>;
  podsByClass: Record<'offender' | 'covered' | 'exempt', number>;
  /** Namespaces with offenders only. */
  offendersByNamespace: ReadonlyMap<string, number>;
  /** seconds: until expiry at the snapshot's time; expiresAt: the expiry as Unix seconds. */
  expiries: { namespace: string; name: string; seconds: number; expiresAt: number }[];
  /** Granting exceptions admission does not honour (Enforced=False), pending writes included. */
  notEnforced: number;
}

export function clusterSnapshot(caches: Caches, now: DateTime): ClusterSnapshot {
  const exceptionsByPhase: Record<ExceptionPhase, number> = { Active: 0, ExpiringSoon: 0, Expired: 0, Invalid: 0 };
  const expiries: ClusterSnapshot['expiries'] = [];
  for (const { facts, lifecycle } of caches.evaluatedIn(undefined, now)) {
    exceptionsByPhase[lifecycle.phase]++;
    if (lifecycle.expiresAt)
      expiries.push({
        namespace: facts.namespace,
        name: facts.name,
        seconds: lifecycle.expiresAt.diff(now).as('seconds'),
        expiresAt: lifecycle.expiresAt.toSeconds(),
      });
  }
  const grantsByNs = new Map<string, ExceptionGrant[]>();
  for (const ns of caches.exceptions.namespaces()) grantsByNs.set(ns, caches.grantsIn(ns, now));
  let notEnforced = 0;
  for (const ns of caches.exceptions.namespaces()) {
    const enforcement = caches.enforcementIn(ns, now);
    for (const e of caches.evaluatedIn(ns, now)) if (!enforcement(e).enforced) notEnforced++;
  }
  const podsByClass = { offender: 0, covered: 0, exempt: 0 };
  const offendersByNamespace = new Map<string, number>();
  for (const pod of caches.pods.values()) {
    const cls = caches.classify(pod, grantsByNs.get(pod.namespace) ?? []);
    if (cls.kind !== 'clean') podsByClass[cls.kind]++;
    if (cls.kind === 'offender')
      offendersByNamespace.set(pod.namespace, (offendersByNamespace.get(pod.namespace) ?? 0) + 1);
  }
  return { exceptionsByPhase, podsByClass, offendersByNamespace, expiries, notEnforced };
}
