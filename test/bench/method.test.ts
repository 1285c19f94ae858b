import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { productionFormOf } from '../../bench/production.ts';
import { dirtyPaths } from '../../bench/provenance.ts';
import { fittedGrowth, median, NOISY_FLOOR_SPREAD, ratioVerdict, trials } from '../../bench/stats.ts';

describe('trials: median and spread', () => {
  it('median of odd and even counts; NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(median([Number.NaN, 5])).toBe(5);
  });

  it('spread is (max - min) / median', () => {
    expect(trials([90, 100, 110])).toMatchObject({ median: 100, min: 90, max: 110, spread: 0.2 });
    expect(trials([]).spread).toBeNaN();
  });
});

describe('ratioVerdict', () => {
  it('judges the median of the per-trial ratios', () => {
    const v = ratioVerdict([120, 130, 125], [100, 100, 100], 1.3);
    expect(v).toMatchObject({ judged: true, met: true });
    expect(v.ratio.median).toBeCloseTo(1.25);
    expect(ratioVerdict([140, 131, 150], [100, 100, 100], 1.3)).toMatchObject({ judged: true, met: false });
  });

  it('pairs each trial with its own floor, not the median floor', () => {
    const v = ratioVerdict([200, 100, 100], [160, 80, 80], 1.3);
    expect(v.ratio.values).toEqual([1.25, 1.25, 1.25]);
  });

  it('does not judge with fewer than 3 usable trials', () => {
    expect(ratioVerdict([100, 100], [100, 100], 1.3)).toMatchObject({ judged: false, why: '2 of 3 trials' });
    expect(ratioVerdict([100, Number.NaN, 100], [100, 100, 100], 1.3).judged).toBe(false);
    expect(ratioVerdict([100, 100, 100], [100, 0, 100], 1.3).judged).toBe(false);
  });

  it('does not judge against a noisy floor', () => {
    const v = ratioVerdict([100, 100, 100], [70, 100, 130], 1.3);
    expect(v.floor.spread).toBeGreaterThan(NOISY_FLOOR_SPREAD);
    expect(v).toMatchObject({ judged: false, why: 'floor spread 60 %' });
  });
});

describe('fittedGrowth', () => {
  it('fits the exponent over every point', () => {
    const linear = [1, 2, 5].map((s) => ({ size: s * 10_000, value: s * 7 }));
    expect(fittedGrowth(linear)).toBeCloseTo(1, 5);
    const quadratic = [1, 2, 5].flatMap((s) => [
      { size: s, value: s * s },
      { size: s, value: s * s },
    ]);
    expect(fittedGrowth(quadratic)).toBeCloseTo(2, 5);
  });

  it('needs 3 distinct sizes (two points are a slope, not a fit)', () => {
    expect(
      fittedGrowth([
        { size: 1, value: 1 },
        { size: 2, value: 2 },
        { size: 2, value: 2.2 },
      ]),
    ).toBeNaN();
    expect(
      fittedGrowth([
        { size: 1, value: 1 },
        { size: 2, value: 0 },
        { size: 3, value: 3 },
      ]),
    ).toBeNaN();
  });
});

describe('provenance: dirty only when the tree differs', () => {
  it('an empty status is clean', () => {
    expect(dirtyPaths('', ['bench/results'])).toEqual([]);
  });

  it("the run's own output folder does not count; anything else does", () => {
    const status = ' M bench/results/RESULTS.md\n?? bench/results/run-x/results.json\n M src/main.ts\n?? notes.txt\n';
    expect(dirtyPaths(status, ['bench/results'])).toEqual(['src/main.ts', 'notes.txt']);
    expect(dirtyPaths(' M bench/results-old.md\n', ['bench/results'])).toEqual(['bench/results-old.md']);
  });
});

describe('productionFormOf config/manager', () => {
  it('reads the shipped manager: dist entry, NODE_OPTIONS as node flags, args without the port', () => {
    const f = productionFormOf(readFileSync('config/manager/manager.yaml', 'utf8'));
    expect(f.entry).toBe('dist/main.js');
    expect(f.nodeArgs.every((a) => a.startsWith('--'))).toBe(true);
    expect(f.args).toContain('--leader-elect');
    expect(f.args.some((a) => a.startsWith('--http-port'))).toBe(false);
    expect(f.memoryLimit).toBeDefined();
  });

  it('keeps literal env values, leaves fieldRefs out', () => {
    const yaml = [
      'kind: Deployment',
      'spec: {template: {spec: {containers: [{name: manager, args: [--http-port=8080, --leader-elect],',
      '  env: [{name: NODE_OPTIONS, value: "--max-old-space-size=96  --max-semi-space-size=2"},',
      '        {name: MALLOC_ARENA_MAX, value: "2"}, {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: x}}}]}]}}}',
    ].join('\n');
    expect(productionFormOf(yaml)).toMatchObject({
      nodeArgs: ['--max-old-space-size=96', '--max-semi-space-size=2'],
      env: { MALLOC_ARENA_MAX: '2' },
      args: ['--leader-elect'],
    });
  });

  it('names the file when the manager container is missing', () => {
    expect(() => productionFormOf('kind: Deployment\nspec: {}\n')).toThrow(/manager.yaml: no Deployment/);
    expect(() => productionFormOf('kind: Service\n')).toThrow(/container named manager/);
  });
});
