// Compares builds measured by separate `npm run bench` runs (each with its own floors), e.g. a
// commit before a refactor against one after it, run in alternating order:
//   node bench/compare-runs.ts bench/results/refactor-before-after
// reads every <dir>/<build>-<round>/results.json and prints one markdown table: per run, the
// startup and lapse figures with their floors, the load, and the operator's writes; then the
// median ratio per build. Only ratios within one run are comparable (the floors absorb the load).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.ts';

interface Percentiles {
  p99: number;
}
interface RunResults {
  form: { entry: string };
  startup: {
    trials: { ratio: number; floor: { wallMs: number }; operator: { convergedMs?: number; load: number } }[];
  }[];
  lapse?: {
    trials: {
      load: number;
      eventDelay: Percentiles;
      eventFloor: Percentiles;
      relabelDelay: Percentiles;
      patchFloor: Percentiles;
      eventRatioP99: number;
      relabelRatioP99: number;
      operatorRequests: Record<string, number>;
    }[];
  };
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: node bench/compare-runs.ts <dir holding <build>-<round>/results.json>');
const runs = readdirSync(dir)
  .filter((d) => /^[\w.]+-\d+$/.test(d) && existsSync(join(dir, d, 'results.json')))
  .map((d) => ({
    name: d,
    build: d.replace(/-\d+$/, ''),
    r: JSON.parse(readFileSync(join(dir, d, 'results.json'), 'utf8')) as RunResults,
  }))
  .sort((a, b) => a.name.localeCompare(b.name));

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const x = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(2)}x`);
const writes = (req: Record<string, number> | undefined) =>
  req
    ? Object.entries(req)
        .filter(([k]) => !k.includes('leases') && !k.startsWith('get '))
        .reduce((n, [, v]) => n + v, 0)
    : undefined;

console.log(
  '| run | entry | startup: operator / floor (ratio), load | lapse Expired p99: operator / floor (ratio) | relabel p99: operator / floor (ratio) | lapse writes | load |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const byBuild = new Map<string, { startup: number[]; expired: number[]; relabel: number[] }>();
for (const { name, build, r } of runs) {
  const st = r.startup[0]?.trials[0];
  const lt = r.lapse?.trials[0];
  const agg = byBuild.get(build) ?? { startup: [], expired: [], relabel: [] };
  byBuild.set(build, agg);
  if (st) agg.startup.push(st.ratio);
  if (lt) {
    agg.expired.push(lt.eventRatioP99);
    agg.relabel.push(lt.relabelRatioP99);
  }
  console.log(
    `| ${name} | ${r.form.entry} | ${st ? `${s(st.operator.convergedMs)} / ${s(st.floor.wallMs)} (${x(st.ratio)}), ${st.operator.load}` : '-'} | ` +
      `${lt ? `${s(lt.eventDelay.p99)} / ${s(lt.eventFloor.p99)} (${x(lt.eventRatioP99)})` : '-'} | ` +
      `${lt ? `${s(lt.relabelDelay.p99)} / ${s(lt.patchFloor.p99)} (${x(lt.relabelRatioP99)})` : '-'} | ` +
      `${writes(lt?.operatorRequests) ?? '-'} | ${lt?.load ?? '-'} |`,
  );
}
console.log('\n| build | runs | startup ratio, median | Expired p99 ratio, median | relabel p99 ratio, median |');
console.log('| --- | --- | --- | --- | --- |');
for (const [build, a] of byBuild) {
  const m = (v: number[]) => (v.length ? x(median(v)) : '-');
  console.log(`| ${build} | ${a.startup.length} | ${m(a.startup)} | ${m(a.expired)} | ${m(a.relabel)} |`);
}
