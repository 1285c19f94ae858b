// The pure parts of the issue-16 phases: admission config as installed, probe outcomes, the API
// server cost arithmetic, and how RESULTS.md judges the new figures.
import { describe, expect, it } from 'vitest';
import { outcomeOf, shippedAdmission } from '../../bench/admission-config.ts';
import { HttpError } from '../../bench/minimal-client.ts';
import { costPer1000, type CostWindow } from '../../bench/phases/apiserver-cost.ts';
import { inTrialOrder, paced } from '../../bench/phases/common.ts';
import type { AdmissionWindow } from '../../bench/phases/admission.ts';
import type { ProbeRun } from '../../bench/phases/enforcement.ts';
import { expiredByResource, type RelistTrial } from '../../bench/phases/relist.ts';
import { renderReport, type BenchResults } from '../../bench/report.ts';
import { summarize } from '../../bench/stats.ts';

describe('shippedAdmission', () => {
  const manifests = shippedAdmission(['bench-floor-steady-0']);

  it('holds every policy and binding of config/admission, not the grant index the operator writes', () => {
    const names = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(names).toContain('ValidatingAdmissionPolicy/hostns-host-namespaces');
    expect(names).toContain('ValidatingAdmissionPolicyBinding/hostns-grants-required');
    expect(names).toContain('ValidatingAdmissionPolicyBinding/hostns-operator-pod-writes');
    expect(manifests.some((m) => m.kind === 'HostNamespaceGrantIndex')).toBe(false);
  });

  it("extends each binding's exempt list with the operator's exempt namespaces, as an install keeps them in step", () => {
    const exemptLists = manifests.flatMap(
      (m) =>
        m.spec?.matchResources?.namespaceSelector?.matchExpressions
          ?.filter((e) => e.key === 'kubernetes.io/metadata.name')
          .map((e) => e.values) ?? [],
    );
    expect(exemptLists.length).toBe(2);
    for (const values of exemptLists) expect(values).toEqual(['bench-floor-steady-0', 'kube-system']);
  });
});

describe('outcomeOf a pod create', () => {
  const denied = (status: number, policy: string) =>
    new HttpError('POST', '/api/v1/namespaces/a/pods', status, `ValidatingAdmissionPolicy '${policy}' denied request`);

  it('is a refusal only when the host namespace policy refused', () => {
    expect(outcomeOf(denied(403, 'hostns-host-namespaces'))).toBe('refused');
    expect(outcomeOf(denied(422, 'hostns-host-namespaces'))).toBe('refused');
  });

  it('is an error for another policy, a server error or a broken connection', () => {
    expect(outcomeOf(denied(403, 'hostns-grants-required'))).toBe('error');
    expect(outcomeOf(denied(500, 'hostns-host-namespaces'))).toBe('error');
    expect(outcomeOf(new Error('socket hang up'))).toBe('error');
  });
});

describe('inTrialOrder', () => {
  it('runs the floor first in even trials and the operator first in odd ones', async () => {
    for (const [t, first] of [
      [0, 'floor'],
      [1, 'operator'],
      [2, 'floor'],
    ] as const) {
      const ran: string[] = [];
      const r = await inTrialOrder(
        t,
        async () => void ran.push('floor'),
        async () => void ran.push('operator'),
      );
      expect(ran[0]).toBe(first);
      expect(r.order).toBe(`${first} first`);
    }
  });
});

describe('paced', () => {
  it('sends every call at the rate while the answers keep up', async () => {
    const sent: number[] = [];
    const r = await paced(1000, 20, 4, async (i) => void sent.push(i));
    expect(sent).toEqual([...Array(20).keys()]);
    expect(r.skipped).toBe(0);
  });
});

describe('costPer1000', () => {
  const win = (apiserverCpu: number, seconds: number, events: number): CostWindow => ({
    load: 1,
    seconds,
    events,
    failed: 0,
    apiserverCpu,
  });

  it("is the window's CPU per event over the baseline's, per 1,000 events", () => {
    expect(costPer1000(win(2.5, 10, 500), win(1, 10, 500))).toBeCloseTo(3);
    // Fewer updates got through in the baseline: its CPU counts per update, not per second.
    expect(costPer1000(win(2.5, 10, 500), win(0.5, 10, 250))).toBeCloseTo(3);
  });

  it('is NaN without events in either window', () => {
    expect(costPer1000(win(1, 10, 0), win(1, 10, 500))).toBeNaN();
    expect(costPer1000(win(1, 10, 500), win(1, 10, 0))).toBeNaN();
  });
});

function results(extra: Partial<BenchResults>): BenchResults {
  return {
    date: '2026-11-27T23:00:00Z',
    command: 'npm run bench',
    provenance: { commit: 'abc', dirty: false, changes: [] },
    machine: { cpus: 2, cpuModel: 'x', memoryGiB: 24, os: 'linux', loadAtStart: 1 },
    versions: {},
    settings: {},
    form: { entry: 'dist/main.js', nodeArgs: [], env: {}, args: [] },
    fixtures: [],
    startup: [],
    memory: [],
    notes: [],
    errors: [],
    ...extra,
  } as BenchResults;
}

const admissionWindow = (policy: boolean, cleanMs: number, hostMs: number): AdmissionWindow => ({
  policy,
  load: 1,
  seconds: 20,
  sent: 1000,
  skipped: 0,
  failed: 0,
  clean: summarize([cleanMs]),
  host: summarize([hostMs]),
});

const probe = (refusedMs: number): ProbeRun => ({
  expiryMs: 0,
  load: 1,
  refused: summarize([refusedMs]),
  neverRefused: 0,
  admittedAfterExpiry: 0,
  stillAdmitted: summarize([0]),
  refusedEarly: 0,
  probes: 1000,
  probeErrors: 0,
  roundMs: [900],
});

describe('RESULTS.md for the new phases', () => {
  it('judges admission cost per trial ratio against the 1.1x goal', () => {
    const trials = [0, 1, 2].map((t) => ({
      trial: t + 1,
      order: 'operator first' as const,
      policy: admissionWindow(true, 10, 30),
      none: admissionWindow(false, 10, 10),
      cleanRatioP50: 1,
      cleanRatioP99: 1,
      hostRatioP50: 3,
      hostRatioP99: 3,
    }));
    const md = renderReport(
      results({
        admission: {
          exceptions: 320,
          namespaces: 5,
          grantsPerNamespace: 64,
          rate: 50,
          seconds: 20,
          setupMs: 1,
          switchMs: [],
          trials,
        },
      }),
    );
    expect(md).toMatch(/7 admission: clean pod create p99.*\| <= 1.1x \| met \|/);
    expect(md).toMatch(/7 admission: covered host pod create p99.*\| <= 1.1x \| \*\*missed\*\* \|/);
    expect(md).toContain('## 7. Admission cost');
  });

  it('judges enforcement on the p99 itself (<= 1 s) between its bounds, not on its ratio to the floor', () => {
    const trial = (t: number, operatorMs: number, lowerMs: number) => ({
      trial: t,
      order: 'floor first' as const,
      operator: { ...probe(operatorMs), stillAdmitted: summarize([lowerMs]), paramUpdate: summarize([400]) },
      floor: { ...probe(2000), floorWrites: summarize([100]), floorLateMs: 0 },
      ratioP99: operatorMs / 2000,
    });
    const enforcement = (ms: number, lowerMs: number) => ({
      exceptions: 1000,
      leadSeconds: 45,
      probeConcurrency: 32,
      trials: [trial(1, ms, lowerMs), trial(2, ms, lowerMs), trial(3, ms, lowerMs)],
    });
    expect(renderReport(results({ enforcement: enforcement(900, 0) }))).toMatch(
      /8 enforcement .*\| <= 1.00 s \| met \|/,
    );
    expect(renderReport(results({ enforcement: enforcement(1500, 1200) }))).toMatch(
      /8 enforcement .*\| <= 1.00 s \| \*\*missed\*\* \|/,
    );
    expect(renderReport(results({ enforcement: enforcement(1500, 0) }))).toMatch(
      /8 enforcement .*\| <= 1.00 s \| not resolved \(between 0 ms and 1.50 s\) \|/,
    );
  });

  it('reports the relist against the LIST floor, and any write it caused as not 0', () => {
    const trial = (t: number, writes: Record<string, number>): RelistTrial => ({
      trial: t,
      order: t % 2 ? 'operator first' : 'floor first',
      load: 1,
      apiserverDownMs: 20_000,
      expiredMs: 100,
      relistedMs: 9000,
      listMs: 8000,
      expired: { pods: 1, namespaces: 1 },
      rssBeforeBytes: 150 * 2 ** 20,
      rssPeakSampledBytes: 240 * 2 ** 20,
      peakRssBytes: 260 * 2 ** 20,
      writes,
      floor: { pods: 150_000, listMs: 4000, cpuSeconds: 3, peakRssBytes: 120 * 2 ** 20, wallMs: 4500 },
    });
    const md = renderReport(results({ relist: { pods: 150_000, trials: [1, 2, 3].map((t) => trial(t, {})) } }));
    expect(md).toMatch(
      /11 relist after watch expiry \(410\) at 150,000 pods.*\| 8.00 s .*\| 4.00 s .*\| 2.00x .*writes: 0 \(met\)/,
    );
    expect(md).toContain('## 11. Relist after watch expiry');
    const wrote = renderReport(
      results({ relist: { pods: 150_000, trials: [trial(1, {}), trial(2, { 'patch pods': 3 })] } }),
    );
    expect(wrote).toContain('writes: **not 0**');
  });
});

describe('expiredByResource', () => {
  it('sums the 410 restarts of each resource from /metrics, other reasons left out', () => {
    const text = [
      '# HELP hostns_watch_restarts_total Watches re-established',
      'hostns_watch_restarts_total{resource="pods",reason="expired"} 2',
      'hostns_watch_restarts_total{resource="pods",reason="error"} 5',
      'hostns_watch_restarts_total{resource="namespaces",reason="expired"} 1',
      'hostns_watch_restarts_total_other{resource="jobs",reason="expired"} 9',
    ].join('\n');
    expect(expiredByResource(text)).toEqual({ pods: 2, namespaces: 1 });
    expect(expiredByResource('')).toEqual({});
  });
});
