// What workload attribution costs in memory: the lean caches of ReplicaSets and Jobs (uid and
// controller only) and the controller reference each cached pod keeps, measured on the heap after
// a full GC. Run: node --expose-gc bench/workload-cache-memory.ts [replicaSets] [pods]
// Figures go to docs/architecture.md ("Workloads"); no API server involved.
import { toOwnedRecord, type OwnedRecord } from '../src/kube/owner-record.ts';
import { toPodRecord, type PodRecord } from '../src/kube/pod-record.ts';
import { StoreWriter } from '../src/kube/store.ts';
import { heapUsedAfterGc } from './heap.ts';

const heap = heapUsedAfterGc;
heap(); // fails early without --expose-gc
const uid = (i: number, tag: string) => `${tag}${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;

const replicaSets = Number(process.argv[2] ?? 50_000);
const pods = Number(process.argv[3] ?? 150_000);
const perNamespace = 100;

// 10 ReplicaSets per Deployment (revisionHistoryLimit), as PartialObjectMetadata carries them.
function rsStoreOf(replicaSets: number): StoreWriter<OwnedRecord> {
  const rsStore = new StoreWriter<OwnedRecord>();
  for (let i = 0; i < replicaSets; i++) {
    const d = Math.floor(i / 10);
    const ns = `ns-${Math.floor(d / perNamespace)}`;
    const raw = {
      metadata: {
        name: `deploy-${d}-${(i % 10).toString(16).padStart(10, '0')}`,
        namespace: ns,
        uid: uid(i, 'a'),
        resourceVersion: String(1000 + i),
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: `deploy-${d}`, uid: uid(d, 'd'), controller: true },
        ],
      },
    };
    rsStore.set(`${ns}/${raw.metadata.name}`, toOwnedRecord(raw)!);
  }
  return rsStore;
}

// Host-network pods of DaemonSets (the only pods the operator caches): 1 DaemonSet per 1,000 pods,
// with and without the controller reference and node name, to isolate what attribution adds.
function podStore(withOwner: boolean): StoreWriter<PodRecord> {
  const store = new StoreWriter<PodRecord>();
  for (let i = 0; i < pods; i++) {
    const ds = Math.floor(i / 1000);
    const ns = `ds-${ds % 50}`;
    const raw = {
      metadata: {
        name: `agent-${ds}-${i.toString(36)}`,
        namespace: ns,
        uid: uid(i, 'p'),
        resourceVersion: String(i),
        labels: { app: `agent-${ds}` },
        ...(withOwner
          ? {
              ownerReferences: [
                { apiVersion: 'apps/v1', kind: 'DaemonSet', name: `agent-${ds}`, uid: uid(ds, 'c'), controller: true },
              ],
            }
          : {}),
      },
      spec: {
        hostNetwork: true,
        ...(withOwner ? { nodeName: `node-${i % 1000}` } : {}),
        containers: [{ name: 'agent', image: 'agent:1' }],
      },
    };
    store.set(`${ns}/${raw.metadata.name}`, toPodRecord(raw)!);
  }
  return store;
}
// Warm-up: compile and run every path once, so code and one-time allocations are not counted.
rsStoreOf(1000);
podStore(true);
podStore(false);
/**
 * Heap bytes `build`'s result holds, measured while it is alive (read after the measure, so it is
 * not collected before it), and how many entries it has. The result is dropped on return.
 */
function retained(build: () => { size: number }): { bytes: number; entries: number } {
  const base = heap();
  const value = build();
  return { bytes: heap() - base, entries: value.size };
}
const rsBytes = retained(() => rsStoreOf(replicaSets)).bytes;
const plainBytes = retained(() => podStore(false)).bytes;
const ownedBytes = retained(() => podStore(true)).bytes;

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
console.log(
  `ReplicaSet cache: ${replicaSets} entries, ${mib(rsBytes)} MiB, ${Math.round(rsBytes / replicaSets)} B each`,
);
console.log(
  `pod cache, ${pods} host-network pods: ${mib(plainBytes)} MiB without owner/node, ${mib(ownedBytes)} MiB with ` +
    `(+${Math.round((ownedBytes - plainBytes) / pods)} B per pod)`,
);
