import { describe, expect, it } from 'vitest';
import { describeGrowth, formatBytes, formatMs, percentile, ratio, slope, summarize } from '../../bench/stats.ts';

describe('percentile (nearest rank)', () => {
  const values = [15, 20, 35, 40, 50];

  it('returns observed values only', () => {
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it('p0 is the minimum, and input order does not matter', () => {
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(percentile([50, 15, 40, 20, 35], 50)).toBe(35);
  });

  it('p99 of 1..100 is 99, of 1..1000 is 990', () => {
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99);
    expect(
      percentile(
        Array.from({ length: 1000 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(990);
  });

  it('p99 of a small sample is its maximum', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 99)).toBe(1000);
  });

  it('NaN for no values; refuses p out of range', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/p must be within/);
    expect(() => percentile([1], Number.NaN)).toThrow(/p must be within/);
  });

  it('does not reorder its input', () => {
    const v = [3, 1, 2];
    percentile(v, 50);
    expect(v).toEqual([3, 1, 2]);
  });
});

describe('summarize', () => {
  it('agrees with percentile and computes min, max, mean', () => {
    const v = Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
    const s = summarize(v);
    expect(s).toMatchObject({
      count: 200,
      min: 0,
      max: 199,
      p50: percentile(v, 50),
      p90: percentile(v, 90),
      p99: percentile(v, 99),
    });
    expect(s.mean).toBeCloseTo(99.5);
  });

  it('is all NaN with count 0 for no values', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p99).toBeNaN();
  });
});

describe('ratio, growth, slope', () => {
  it('ratio is NaN without a positive floor', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNaN();
    expect(ratio(Number.NaN, 2)).toBeNaN();
  });

  it('growth in words', () => {
    expect(describeGrowth(1.05)).toBe('about linear');
    expect(describeGrowth(1.9)).toBe('quadratic or worse');
    expect(describeGrowth(Number.NaN)).toBe('n/a');
  });

  it('slope gives the per-item cost between two sizes', () => {
    expect(slope({ size: 0, value: 10_000 }, { size: 20_000, value: 10_000 + 20_000 * 700 })).toBe(700);
    expect(slope({ size: 5, value: 1 }, { size: 5, value: 2 })).toBeNaN();
  });

  it('formats', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(1500)).toBe('1.50 s');
    expect(formatMs(65_000)).toBe('65.0 s');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});
