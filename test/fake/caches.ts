// The operator's caches filled by hand, for the reconcilers and the wiring as pure functions of
// (caches, now): the stores a test writes into, and objects shaped as the cache holds them.
import type { HostNamespaceException, HostNamespaceGrantIndex, HostNamespaceGrantSet } from '../../src/api/v1alpha1.ts';
import { Caches, type NamespaceRecord } from '../../src/controller/caches.ts';
import type { OwnedRecord } from '../../src/kube/owner-record.ts';
import { toPodRecord, type PodRecord } from '../../src/kube/pod-record.ts';
import type { RefusalRecord } from '../../src/kube/refusal-record.ts';
import { StoreWriter } from '../../src/kube/store.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import type { OwnerRef } from '../../src/policy/workloads.ts';
import { podObj } from './cluster.ts';

/** Empty stores, and the Caches reading them (the default policy). */
export function cacheWorld() {
  const stores = {
    exceptions: new StoreWriter<HostNamespaceException>(),
    pods: new StoreWriter<PodRecord>(),
    grants: new StoreWriter<HostNamespaceGrantSet>(),
    namespaces: new StoreWriter<NamespaceRecord>(),
    grantIndex: new StoreWriter<HostNamespaceGrantIndex>(),
    replicaSets: new StoreWriter<OwnedRecord>(),
    jobs: new StoreWriter<OwnedRecord>(),
    refusals: new StoreWriter<RefusalRecord>(),
    grantsWriteErrors: new Map<string, string>(),
  };
  return { ...stores, caches: new Caches({ ...stores, policy: DEFAULT_POLICY }) };
}

/** `obj` with the metadata the API server gives a stored object (uid from its name). */
export function stored<T extends { metadata: object }>(obj: T, name: string, created = '2026-11-01T00:00:00Z'): T {
  return {
    ...obj,
    metadata: { ...obj.metadata, uid: `uid-${name}`, resourceVersion: '1', generation: 1, creationTimestamp: created },
  };
}

/** The cached record of a pod (uid from its name), controlled by `owner` when given. */
export function podRecord(
  ns: string,
  name: string,
  labels: Record<string, string>,
  flags: { hostNetwork?: boolean; hostPID?: boolean } = {},
  owner?: OwnerRef,
): PodRecord {
  const raw = podObj(ns, name, labels, flags) as unknown as Record<string, unknown> & {
    metadata: Record<string, unknown>;
  };
  raw.metadata.uid = `uid-${name}`;
  if (owner) raw.metadata.ownerReferences = [{ ...owner, controller: true }];
  raw.metadata.resourceVersion = '7';
  return toPodRecord(raw)!;
}
