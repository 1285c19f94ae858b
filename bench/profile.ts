// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by source file, so the
// report can say where the time goes, and total time (self and callees) of the operator's own
// functions. A window (seconds after the profile started, i.e. about process start) narrows it to
// one phase, e.g. the LIST or the writes of a startup. Also runnable:
//   node bench/profile.ts <file.cpuprofile> [top] [--from S] [--to S]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * `src/...` for a file of the operator, whether run from the sources or from a build (`dist/...`
 * is reported as the source it was compiled from); undefined for anything else.
 */
function operatorFile(url: string): string | undefined {
  if (url.includes('node_modules/')) return undefined;
  for (const dir of ['/src/', '/dist/']) {
    const at = url.indexOf(dir);
    if (at >= 0) return `src/${url.slice(at + dir.length).replace(/\.js$/, '.ts')}`;
  }
  return undefined;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const own = operatorFile(url);
  if (own) return own;
  return url.replace(/^file:\/\//, '');
}

/** Groups a file into what a reader cares about: our code, the client library, JSON, GC... */
function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return 'native/builtins';
  const own = operatorFile(url);
  if (own) return `operator ${own.split('/').slice(0, 2).join('/')}`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `dependency ${m[1]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  return 'other';
}

/** Seconds after the profile's start. */
export interface ProfileWindow {
  fromS?: number;
  toS?: number;
}

export function summarizeProfile(path: string, top = 30, window: ProfileWindow = {}): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fromUs = p.startTime + (window.fromS ?? 0) * 1e6;
  const toUs = window.toS === undefined ? p.endTime : Math.min(p.endTime, p.startTime + window.toS * 1e6);
  const self = new Map<number, number>();
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const totalUs = toUs - Math.max(p.startTime, fromUs);
  const fnTimes = new Map<string, number>();
  const areaTimes = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    fnTimes.set(key, (fnTimes.get(key) ?? 0) + us);
    const a = area(cf.url, cf.functionName);
    areaTimes.set(a, (areaTimes.get(a) ?? 0) + us);
  }
  const busy = totalUs - (areaTimes.get('(idle)') ?? 0);
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1).padStart(5)} %`;
  // Total time: each sample counts once for every distinct operator function on its stack.
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n)!.callFrame;
      if (!operatorFile(cf.url)) continue;
      const key = `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const lines: string[] = [];
  lines.push(`profile ${path}`);
  if (window.fromS !== undefined || window.toS !== undefined)
    lines.push(`window ${window.fromS ?? 0} s to ${window.toS ?? 'end'} s after the profile started`);
  lines.push(
    `wall ${(totalUs / 1e6).toFixed(1)} s, on CPU ${(busy / 1e6).toFixed(1)} s (${pct(busy, totalUs)} of wall)`,
  );
  lines.push('', 'self time by area (share of on-CPU time):');
  for (const [a, us] of [...areaTimes].filter(([a]) => a !== '(idle)').sort((x, y) => y[1] - x[1])) {
    lines.push(`  ${pct(us, busy)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${a}`);
  }
  lines.push('', `top ${top} functions by self time:`);
  for (const [k, us] of [...fnTimes]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)) {
    lines.push(`  ${pct(us, busy)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`);
  }
  lines.push('', `top ${top} operator functions by total time (self and callees):`);
  for (const [k, us] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    lines.push(`  ${pct(us, busy)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('bench/profile.ts')) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' } },
  });
  const [file, top] = positionals;
  if (!file) throw new Error('usage: node bench/profile.ts <file.cpuprofile> [top] [--from S] [--to S]');
  const seconds = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: seconds after the profile started, got ${v}`);
    return n;
  };
  const window = { fromS: seconds(values.from, '--from'), toS: seconds(values.to, '--to') };
  process.stdout.write(summarizeProfile(file, Number(top ?? 30), window));
}
