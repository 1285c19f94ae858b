// CPU time of processes from /proc (Linux): how much CPU the operator, the floor and the API
// server each burned during a phase. Where /proc is missing, figures are undefined.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** user + system CPU seconds of `pid` so far (undefined when it is gone or /proc is missing). */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Pids whose command line contains `needle` (e.g. the control plane's data dir). */
export function pidsWithArg(needle: string): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export interface ControlPlanePids {
  apiserver?: number;
  etcd?: number;
}

export function controlPlanePids(dir: string): ControlPlanePids {
  const find = (bin: string) =>
    pidsWithArg(dir).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith(`/${bin}`);
      } catch {
        return false;
      }
    });
  return { apiserver: find('kube-apiserver'), etcd: find('etcd') };
}

/** CPU seconds each pid burned between two readings. */
export class CpuMeter {
  private readonly start: Map<string, number | undefined>;
  private readonly pids: Record<string, number | undefined>;

  constructor(pids: Record<string, number | undefined>) {
    this.pids = pids;
    this.start = new Map(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  }

  read(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const [k, pid] of Object.entries(this.pids)) {
      const a = this.start.get(k);
      const b = cpuSeconds(pid);
      out[k] = a !== undefined && b !== undefined ? Math.round((b - a) * 100) / 100 : undefined;
    }
    return out;
  }
}
