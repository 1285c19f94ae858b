// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by source file, so the
// report can say where the time goes. Also runnable: node bench/profile.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';

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

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

/** Groups a file into what a reader cares about: our code, the client library, JSON, GC... */
function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return 'native/builtins';
  if (url.includes('/src/'))
    return `operator ${url
      .slice(url.indexOf('/src/') + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `dependency ${m[1]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  return 'other';
}

export function summarizeProfile(path: string, top = 30): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const totalUs = p.endTime - p.startTime;
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
  const lines: string[] = [];
  lines.push(`profile ${path}`);
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
  return `${lines.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('bench/profile.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/profile.ts <file.cpuprofile> [top]');
  process.stdout.write(summarizeProfile(file, Number(process.argv[3] ?? 30)));
}
