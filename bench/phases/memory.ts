// Phase 4, memory: the operator's resident memory from /proc (VmRSS now, VmHWM its peak) and its
// heap after a forced GC (/debug/heap); client-node's informer as a peer.
import type { OperatorProcess } from '../../tools/operator-process.ts';
import { type BenchContext, runChild } from './common.ts';

/** What GET /debug/heap answers (process.memoryUsage() after gc()) and the operator's cached pods. */
export interface HeapReport {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  cachedPods: number;
  gcForced: boolean;
}

export interface OperatorMemory {
  /** VmHWM: the peak resident set since the process started, read before the forced GC. */
  peakRss?: number;
  /** VmRSS at the same moment. */
  rss?: number;
  heap?: HeapReport;
}

export interface PeerMemory {
  cachedPods: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  syncMs: number;
}

export interface MemoryResult {
  size: number;
  podsInCluster: number;
  /** One reading per operator start at this size (each startup trial). */
  operator: OperatorMemory[];
  /** /proc of the last operator at this size once every phase ran (its peak includes steady and lapse). */
  afterPhases?: { rss: number; peakRss: number };
  peer?: PeerMemory;
}

/** /proc first (the forced GC of /debug/heap would lower VmRSS), then the heap. */
export async function measureOperator(op: OperatorProcess): Promise<OperatorMemory> {
  const proc = op.memory();
  const r = await op.get('/debug/heap', 60_000).catch(() => undefined);
  const heap = r?.status === 200 ? (JSON.parse(r.text) as HeapReport) : undefined;
  return { peakRss: proc?.peakRss, rss: proc?.rss, heap };
}

export async function runPeer(ctx: BenchContext): Promise<PeerMemory> {
  const { result } = await runChild<PeerMemory>(
    ['bench/peer-informer.ts', '--kubeconfig', ctx.adminKubeconfig],
    ['--expose-gc', '--max-old-space-size=8192'],
  );
  return result;
}
