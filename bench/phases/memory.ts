// Phase 4, memory: the operator's heap after the startup sync, and client-node's informer as a peer.
import type { OperatorProcess } from '../operator.ts';
import { type HeapReport } from '../operator.ts';
import { type BenchContext, runChild } from './common.ts';

export interface MemoryResult {
  size: number;
  podsInCluster: number;
  operator?: HeapReport;
  peer?: { cachedPods: number; heapUsed: number; heapTotal: number; rss: number; external: number; syncMs: number };
  error?: string;
}

export async function measureOperatorHeap(op: OperatorProcess): Promise<HeapReport | undefined> {
  try {
    return await op.heap();
  } catch {
    return undefined;
  }
}

export async function runPeer(ctx: BenchContext): Promise<MemoryResult['peer']> {
  const { result } = await runChild<NonNullable<MemoryResult['peer']>>(
    ['bench/peer-informer.ts', '--kubeconfig', ctx.adminKubeconfig],
    ['--expose-gc', '--max-old-space-size=8192'],
  );
  return result;
}
