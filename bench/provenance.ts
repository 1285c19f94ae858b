// Where a run's figures come from: the exact commit, and whether the tree differed from it; and
// how busy the shared machine was while a trial ran (the load average), so a reader can tell a
// quiet trial from a crowded one.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';

export interface Provenance {
  commit: string;
  /** True only when `git status --porcelain` lists a change (tracked or untracked) outside `ignored`. */
  dirty: boolean;
  /** The changed paths when dirty (at most 20). */
  changes: string[];
}

/** `porcelain`: the output of `git status --porcelain`; paths under `ignored` do not count. */
export function dirtyPaths(porcelain: string, ignored: readonly string[]): string[] {
  return porcelain
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.slice(3))
    .filter((p) => !ignored.some((i) => p === i || p.startsWith(i.endsWith('/') ? i : `${i}/`)));
}

/** The commit and dirty flag of the working tree; `ignored`: the run's own output folder. */
export function provenance(ignored: readonly string[]): Provenance {
  const git = (args: string[]) => execFileSync('git', args, { encoding: 'utf8' });
  const changes = dirtyPaths(git(['status', '--porcelain', '--untracked-files=all']), ignored);
  return { commit: git(['rev-parse', 'HEAD']).trim(), dirty: changes.length > 0, changes: changes.slice(0, 20) };
}

/** The 1-minute load average now, two decimals. */
export function load1(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
