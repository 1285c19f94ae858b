// The heap after full collections, for the in-process memory measures (run with node --expose-gc).
const gc = (globalThis as { gc?: () => void }).gc;

/** Heap bytes in use after two full GCs (the second collects what the first's finalizers released). */
export function heapUsedAfterGc(): number {
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
