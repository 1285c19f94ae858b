// The nodes world's report (bench/nodes-world.ts), and its re-rendering from a kept JSON:
//   node bench/nodes-report.ts [bench/results]   (the folder holding nodes-world.json)
// The same table is the nodes world section of RESULTS.md (worldSection, passed to renderReport).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChurnTrial, ComponentCost, LapseTrial, NodesWorldResult } from './phases/nodes.ts';
import { GOALS } from './report.ts';
import { formatMs, formatTrials, ratioVerdict, trials } from './stats.ts';

export type NodesWorldReport = {
  date: string;
  command: string;
  commit: string;
  machine: string;
  options: object;
  /** The operator's command line (its production form, without leader election). */
  operator?: string;
} & Partial<NodesWorldResult> & { errors: string[]; notes?: string[] };

function nonZero(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0));
}

const num = (v: number) => (Number.isFinite(v) ? String(v) : 'n/a');
const seconds = (v: number) => `${v.toFixed(3)} s`;
const count = (v: number) => v.toLocaleString('en-US');

/** The median of the trials, with their range and spread when there are several. */
function fmtTrials(values: number[], fmt: (v: number) => string): string {
  const t = trials(values);
  return values.length === 1 && Number.isFinite(t.median) ? fmt(t.median) : formatTrials(t, fmt);
}

/** Every trial's value in order, for figures whose goal is an exact count. */
const each = (values: number[]) => values.join(', ');

function verdict(v: ReturnType<typeof ratioVerdict>): string {
  if (!v.judged) return `not judged (${v.why})`;
  return v.met ? 'met' : '**missed**';
}

function costTable(title: string, costs: Record<string, ComponentCost>, cpuWhat: string): string[] {
  const rows = Object.entries(costs).map(
    ([name, c]) => `| ${name} | ${num(c.cpuSeconds)} | ${num(c.rssMiB)} | ${num(c.peakRssMiB)} |`,
  );
  return [
    title,
    '',
    `| component | CPU seconds ${cpuWhat} | RSS MiB | peak RSS MiB |`,
    '| --- | --- | --- | --- |',
    ...rows,
  ];
}

/** The tables, without a title: the world, then every figure against its floor, then the cluster's cost. */
export function worldBody(r: NodesWorldReport): string[] {
  const w = r.world;
  const lines: string[] = [`${r.date}, \`${r.command}\`, commit ${r.commit}. ${r.machine}.`, ''];
  if (r.operator)
    lines.push(
      `Operator: \`${r.operator}\` (config/manager's form, without --leader-elect). Options: \`${JSON.stringify(r.options)}\`.`,
      '',
    );
  if (w) {
    const rate = w.podsPerSecond === undefined ? '' : `, ${w.podsPerSecond} pods/s`;
    lines.push(
      `World: ${count(w.nodes)} KWOK nodes, ${count(w.daemonSetPods)} host-network DaemonSet pods, ` +
        `${count(w.deploymentPods)} Deployment pods (${count(w.podsRunning)} Ready after ${w.createSeconds} s${rate}` +
        `${w.podsCreated === undefined ? '' : `; ${count(w.podsCreated)} pods existed`}); ` +
        `then every running pod's status updated about every ${w.heartbeatSeconds} s (each delay drawn in ` +
        `${w.heartbeatSeconds / 2}-${w.heartbeatSeconds * 1.5} s; KWOK restarted with the heartbeat once the world was built).`,
    );
  }
  if (r.startup || r.churnTrials?.length || r.churn || r.lapseTrials?.length || r.lapse)
    lines.push(
      '',
      '| figure | operator | floor | ratio (median of trials) | goal | verdict | load average (1, 5, 15 min) |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
  const s = r.startup;
  if (s) {
    const v = ratioVerdict([s.operatorMs], [s.floorMs], GOALS.startupRatio);
    lines.push(
      `| startup to converged | ${formatMs(s.operatorMs)} | ${formatMs(s.floorMs)} (LIST + one PATCH per host-network pod, ` +
        `an Event per offender) | ${v.ratio.median.toFixed(2)}x | <= ${GOALS.startupRatio}x | ${verdict(v)} | ` +
        `${s.loadAverage.join(', ')} |`,
    );
  }
  const churns: ChurnTrial[] = r.churnTrials ?? (r.churn ? [r.churn] : []);
  if (churns.length) {
    const cpu = churns.map((c) => c.per1000.operatorCpuSeconds);
    const floorCpu = churns.map((c) => c.per1000.floorCpuSeconds);
    const writes = churns.map((c) => c.per1000.operatorWrites);
    const reconciles = churns.map((c) => c.operator.reconciles);
    const updates = churns.map((c) => c.statusUpdates);
    const requests = churns.map((c) => JSON.stringify(nonZero(c.operator.requests))).join(', ');
    // A window without status updates says nothing about their cost: it is not judged.
    const zero = (v: (number | null)[]) => {
      const judged = v.filter((_, i) => updates[i]! > 0);
      if (judged.length === 0) return 'not judged (no status update in any window)';
      const met = judged.filter((x) => x === 0).length;
      const skipped = v.length - judged.length ? `; ${v.length - judged.length} without updates` : '';
      return `${met === judged.length ? 'met' : '**missed**'} (${met} of ${judged.length} windows${skipped})`;
    };
    const ratio = trials(cpu.map((c, i) => c / floorCpu[i]!)).median;
    lines.push(
      `| CPU per 1,000 pod status updates (${each(updates)} updates in ${churns.map((c) => c.seconds).join(', ')} s) | ` +
        `${fmtTrials(cpu, seconds)} | ${fmtTrials(floorCpu, seconds)} (a plain watch) | ` +
        `${ratio.toFixed(2)}x | - | | ${churns.at(-1)!.loadAverage.join(', ')} |`,
      `| API requests per 1,000 status updates | ${each(churns.map((c) => c.per1000.operatorRequests))} (${requests}: ` +
        'GET is /version every 10 s, the clock) | 0 | | | | |',
      `| writes per 1,000 status updates | ${each(writes)} | 0 | | 0 | ${zero(writes)} | |`,
      `| reconciles in the window | ${each(reconciles)} | 0 | | 0 | ${zero(reconciles)} | |`,
      `| operator's pod watch events in the window | ${churns.map((c) => JSON.stringify(c.operator.watchEvents)).join(', ')} | ` +
        `${churns.map((c) => JSON.stringify(c.floor.events)).join(', ')} | | | | |`,
    );
  }
  const lapses: LapseTrial[] = r.lapseTrials ?? (r.lapse ? [r.lapse] : []);
  if (lapses.length) {
    const ms = (f: (l: LapseTrial) => number | undefined) => lapses.map((l) => f(l) ?? Number.NaN);
    const expiredMs = ms((l) => l.expiredEventMs);
    const expired = trials(expiredMs);
    const relabel = ms((l) => l.allRelabelledMs);
    const floor = ms((l) => l.floorPatchMs);
    const v = ratioVerdict(relabel, floor, GOALS.lapseRelabelRatioP99);
    const pods = lapses[0]!.pods;
    const eventGoal = expired.values.length >= 3 ? (expired.max <= GOALS.lapseEventP99Ms ? 'met' : '**missed**') : '';
    lines.push(
      `| lapse of one exception over a ${count(pods)}-pod DaemonSet: expiresAt -> Expired Event | ` +
        `${fmtTrials(expiredMs, formatMs)} | | | <= ${formatMs(GOALS.lapseEventP99Ms)} | ` +
        `${eventGoal || `not judged (${expired.values.length} of 3 trials)`} | ${lapses.at(-1)!.loadAverage.join(', ')} |`,
      `| expiresAt -> every pod relabelled (${each(lapses.map((l) => l.relabelled))}) | ` +
        `${fmtTrials(relabel, formatMs)} | ${fmtTrials(floor, formatMs)} (${count(pods)} PATCHes; ` +
        `first in trials ${lapses.flatMap((l, i) => (l.floorFirst ? [i + 1] : [])).join(', ') || 'none'}) | ` +
        `${fmtTrials(v.ratio.values, (x) => `${x.toFixed(2)}x`)} | <= ${GOALS.lapseRelabelRatioP99}x | ${verdict(v)} | |`,
      `| expiresAt -> the Event on the DaemonSet (HostNamespaceViolation) | ` +
        `${fmtTrials(
          ms((l) => l.workloadEventMs),
          formatMs,
        )} | | | | | |`,
      `| operator writes during the lapse | ${lapses.map((l) => JSON.stringify(nonZero(l.operatorWrites))).join(', ')} | ` +
        `${count(pods)} PATCH | | | | |`,
    );
  }
  if (w?.components)
    lines.push(
      '',
      ...costTable('Cluster components while the world was built:', w.components, `(${w.createSeconds} s)`),
    );
  if (r.clusterMemory)
    lines.push(
      '',
      ...costTable('Cluster components at the end of the run:', r.clusterMemory, '(since the world was built)'),
    );
  if (r.notes?.length) lines.push('', `Notes: ${r.notes.join('; ')}`);
  if (r.errors.length) lines.push('', `Errors: ${r.errors.join('; ')}`);
  return lines;
}

export function renderWorld(r: NodesWorldReport): string {
  return `${['# Nodes world (issue 15): startup, churn and a DaemonSet lapse', '', ...worldBody(r)].join('\n')}\n`;
}

/** RESULTS.md's nodes world section (bench/report.ts renders it where the nodes world goes). */
export function worldSection(r: NodesWorldReport): string[] {
  return [
    '## Nodes world (issue 15): `npm run bench:nodes`',
    '',
    'Run separately, on its own cluster of KWOK nodes (method in ../README.md, analysis in',
    '[../FINDINGS.md](../FINDINGS.md#nodes-world-issue-15)); from [nodes-world.json](nodes-world.json):',
    '',
    ...worldBody(r),
    '',
  ];
}

/** The section from `dir`/nodes-world.json, when that run exists. */
export function worldSectionFrom(dir: string): string[] | undefined {
  const file = join(dir, 'nodes-world.json');
  if (!existsSync(file)) return undefined;
  return worldSection(JSON.parse(readFileSync(file, 'utf8')) as NodesWorldReport);
}

if (import.meta.main) {
  const dir = process.argv[2] ?? 'bench/results';
  const report = JSON.parse(readFileSync(join(dir, 'nodes-world.json'), 'utf8')) as NodesWorldReport;
  writeFileSync(join(dir, 'nodes-world.md'), renderWorld(report));
  process.stderr.write(`wrote ${join(dir, 'nodes-world.md')}\n`);
}
