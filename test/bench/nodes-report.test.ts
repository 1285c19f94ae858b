// The nodes world's report: every figure against its floor and goal, trials judged as the bench
// method says, and the same table as RESULTS.md's nodes world section.
import { describe, expect, it } from 'vitest';
import { renderWorld, worldSection, type NodesWorldReport } from '../../bench/nodes-report.ts';
import type { ChurnTrial, LapseTrial } from '../../bench/phases/nodes.ts';
import { renderReport, type BenchResults } from '../../bench/report.ts';

const churn = (cpu: number, writes = 0, reconciles = 0): ChurnTrial => ({
  seconds: 60,
  statusUpdates: 9000,
  operator: { cpuSeconds: cpu * 9, requests: { GET: 6 }, reconciles, watchEvents: { unchanged: 9000 } },
  floor: { cpuSeconds: 2.7, events: { MODIFIED: 9000 } },
  per1000: { operatorCpuSeconds: cpu, floorCpuSeconds: 0.3, operatorRequests: 0.667, operatorWrites: writes },
  loadAverage: [3, 3, 3],
});
const lapse = (relabelMs: number, floorMs: number, floorFirst = false): LapseTrial => ({
  pods: 1000,
  expiredEventMs: 300,
  allRelabelledMs: relabelMs,
  relabelled: 1000,
  operatorWrites: { PATCH: 1000, POST: 1001, PUT: 0 },
  floorPatchMs: floorMs,
  floorFirst,
  loadAverage: [4, 4, 4],
  workloadEventMs: 900,
});
const report = (over: Partial<NodesWorldReport> = {}): NodesWorldReport => ({
  date: '2026-11-27T23:50:00.000Z',
  command: 'npm run bench:nodes',
  commit: 'abc1234',
  machine: '2 CPUs',
  options: { nodes: 1000 },
  world: {
    nodes: 1000,
    daemonSetPods: 3000,
    deploymentPods: 47000,
    podsRunning: 50000,
    createSeconds: 1000,
    heartbeatSeconds: 300,
    podsPerSecond: 50,
    components: { etcd: { cpuSeconds: 100, rssMiB: 900, peakRssMiB: 1000 } },
  },
  startup: { operatorMs: 120_000, floorMs: 100_000, floor: {}, loadAverage: [5, 5, 5] },
  churnTrials: [churn(0.5), churn(0.6), churn(0.55)],
  lapseTrials: [lapse(60_000, 50_000), lapse(62_000, 50_000, true), lapse(58_000, 52_000)],
  errors: [],
  ...over,
});
const row = (md: string, start: string) => md.split('\n').find((l) => l.startsWith(`| ${start}`)) ?? '';

describe('the nodes world report', () => {
  it('judges ratios with three trials and leaves the single startup unjudged', () => {
    const md = renderWorld(report());
    expect(row(md, 'startup to converged')).toContain('1.20x | <= 1.3x | not judged (1 of 3 trials)');
    expect(row(md, 'expiresAt -> every pod relabelled')).toMatch(
      /1\.20x \(1\.12x-1\.24x, spread \d+ %\) \| <= 1\.25x \| met/,
    );
    expect(row(md, 'expiresAt -> every pod relabelled')).toContain('first in trials 2');
    expect(row(md, 'lapse of one exception over a 1,000-pod DaemonSet')).toContain('| <= 1.00 s | met |');
    expect(row(md, 'writes per 1,000 status updates')).toContain('met (3 of 3 windows)');
    expect(md).toContain('World: 1,000 KWOK nodes, 3,000 host-network DaemonSet pods, 47,000 Deployment pods');
    expect(md).toContain('| etcd | 100 | 900 | 1000 |');
  });

  it('misses the zero-write goal when one window wrote', () => {
    const md = renderWorld(report({ churnTrials: [churn(0.5), churn(0.5, 0.111, 1), churn(0.5)] }));
    expect(row(md, 'writes per 1,000 status updates')).toContain('**missed** (2 of 3 windows)');
    expect(row(md, 'reconciles in the window')).toContain('0, 1, 0 | 0 | | 0 | **missed** (2 of 3 windows)');
  });

  it('does not judge a window without status updates (the heartbeat had not started)', () => {
    const idle = { ...churn(0.5), statusUpdates: 0, per1000: { ...churn(0.5).per1000, operatorWrites: Number.NaN } };
    const none = renderWorld(report({ churnTrials: [idle, idle] }));
    expect(row(none, 'writes per 1,000 status updates')).toContain('not judged (no status update in any window)');
    expect(row(none, 'reconciles in the window')).toContain('not judged (no status update in any window)');
    const some = renderWorld(report({ churnTrials: [idle, churn(0.5), churn(0.5)] }));
    expect(row(some, 'writes per 1,000 status updates')).toContain('met (2 of 2 windows; 1 without updates)');
  });

  it('renders a run from before trials (one churn, one lapse)', () => {
    const md = renderWorld(
      report({ churnTrials: undefined, lapseTrials: undefined, churn: churn(0.5), lapse: lapse(1, 1) }),
    );
    expect(row(md, 'CPU per 1,000 pod status updates')).toContain('| 0.500 s | 0.300 s (a plain watch) | 1.67x |');
    expect(row(md, 'expiresAt -> every pod relabelled')).toContain('not judged (1 of 3 trials)');
  });

  it('is the nodes world section of RESULTS.md', () => {
    const results = {
      provenance: { commit: 'x', dirty: false, dirtyPaths: [] },
      form: { entry: 'dist/main.js', nodeArgs: [], env: {}, args: [] },
      machine: { cpus: 2, cpuModel: 'x', memoryGiB: 24, os: 'linux', loadAtStart: 1 },
      versions: {},
      settings: {},
      fixtures: [],
      startup: [],
      memory: [],
      notes: [],
      errors: [],
      date: 'd',
      command: 'c',
    } as unknown as BenchResults;
    const section = worldSection(report());
    const md = renderReport(results, section);
    expect(md).toContain(section.join('\n'));
    expect(renderReport(results)).toContain('Not run yet into this folder (no nodes-world.json)');
  });
});
