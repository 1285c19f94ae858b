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

/** Several trials of one figure: the median and how far the trials spread around it. */
export interface Trials {
  values: number[];
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: 0.1 = the trials lie within 10 % of the median. */
  spread: number;
}

/** Median (the mean of the middle two for an even count); NaN for an empty list. */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function trials(values: readonly number[]): Trials {
  const v = values.filter(Number.isFinite);
  const m = median(v);
  const min = v.length ? Math.min(...v) : Number.NaN;
  const max = v.length ? Math.max(...v) : Number.NaN;
  return { values: [...values], median: m, min, max, spread: m > 0 ? (max - min) / m : Number.NaN };
}

/** A floor whose trials spread more than this is reported as noisy and never carries a "met". */
export const NOISY_FLOOR_SPREAD = 0.25;

/**
 * The verdict of "measured <= limit x floor" from paired trials: the median of the per-trial
 * ratios, and whether it may be judged at all (enough trials, a floor that is not noisy).
 */
export function ratioVerdict(
  measured: readonly number[],
  floor: readonly number[],
  limit: number,
  minTrials = 3,
): { ratio: Trials; floor: Trials; judged: boolean; met?: boolean; why?: string } {
  const ratios = measured.map((m, i) => ratio(m, floor[i] ?? Number.NaN));
  const r = trials(ratios);
  const f = trials(floor);
  const usable = ratios.filter(Number.isFinite).length;
  if (usable < minTrials) return { ratio: r, floor: f, judged: false, why: `${usable} of ${minTrials} trials` };
  if (!(f.spread <= NOISY_FLOOR_SPREAD))
    return { ratio: r, floor: f, judged: false, why: `floor spread ${(f.spread * 100).toFixed(0)} %` };
  return { ratio: r, floor: f, judged: true, met: r.median <= limit };
}

/**
 * Growth exponent k of cost ~ size^k by a least-squares fit of log(value) on log(size) over
 * every usable point; NaN with fewer than `minPoints` distinct sizes (a slope through two points
 * is no fit).
 */
export function fittedGrowth(points: readonly { size: number; value: number }[], minPoints = 3): number {
  const usable = points.filter((p) => p.size > 0 && p.value > 0);
  if (new Set(usable.map((p) => p.size)).size < minPoints) return Number.NaN;
  const xs = usable.map((p) => Math.log(p.size));
  const ys = usable.map((p) => Math.log(p.value));
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : Number.NaN;
}

export function formatTrials(t: Trials, fmt: (v: number) => string): string {
  if (!Number.isFinite(t.median)) return 'n/a';
  return `${fmt(t.median)} (${fmt(t.min)}-${fmt(t.max)}, spread ${(t.spread * 100).toFixed(0)} %)`;
}
