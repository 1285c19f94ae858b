// Pure statistics for the bench report. Percentiles use the nearest-rank method: the reported
// value is always one that was actually observed (no interpolation between two latencies).

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (p in [0, 100]) of `values`; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p must be within [0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    return { count: 0, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  }
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
  return {
    count: sorted.length,
    min: sorted[0] as number,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

/** measured / floor, or NaN when the floor is not positive. */
export function ratio(measured: number, floor: number): number {
  return floor > 0 && Number.isFinite(measured) ? measured / floor : Number.NaN;
}

/**
 * Growth exponent k of cost ~ size^k between the smallest and largest positive sizes (log-log
 * slope): ~1 is linear, ~2 quadratic, ~0 constant. NaN with fewer than two usable points.
 */
export function growthExponent(points: readonly { size: number; value: number }[]): number {
  const usable = points.filter((p) => p.size > 0 && p.value > 0).sort((a, b) => a.size - b.size);
  if (usable.length < 2) return Number.NaN;
  const a = usable[0]!;
  const b = usable[usable.length - 1]!;
  if (a.size === b.size) return Number.NaN;
  return Math.log(b.value / a.value) / Math.log(b.size / a.size);
}

/** Words for a growth exponent, for the report. */
export function describeGrowth(k: number): string {
  if (!Number.isFinite(k)) return 'n/a';
  if (k < 0.8) return 'sub-linear';
  if (k < 1.25) return 'about linear';
  if (k < 1.75) return 'worse than linear';
  return 'quadratic or worse';
}

/** Per-item cost from two (size, total) points: the slope, e.g. bytes per cached pod. */
export function slope(a: { size: number; value: number }, b: { size: number; value: number }): number {
  if (a.size === b.size) return Number.NaN;
  return (b.value - a.value) / (b.size - a.size);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return 'n/a';
  const abs = Math.abs(b);
  if (abs >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${Math.round(b)} B`;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
}
