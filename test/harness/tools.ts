// The ecosystem tools the chart and alert tests run for real: helm and promtool, built from their
// Go modules by tools/ecosystem/build.sh into the project's cache (a cache hit prints the path at
// once; a fresh machine builds them on first use, which takes minutes: .ci/run builds them first).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..', '..');

/** Time for a cold build of one tool on a busy 2-core machine; a cache hit takes milliseconds. */
export const TOOL_BUILD_TIMEOUT_MS = 20 * 60_000;

export function ecosystemTool(tool: 'helm' | 'promtool'): string {
  const r = spawnSync('bash', [join(repoRoot, 'tools/ecosystem/build.sh'), tool], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: TOOL_BUILD_TIMEOUT_MS,
  });
  if (r.status !== 0)
    throw new Error(`tools/ecosystem/build.sh ${tool} failed (exit ${r.status ?? r.signal}); see its message above`);
  return r.stdout.trim();
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool; never throws on a non-zero exit. */
export function run(
  bin: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): ToolResult {
  const r = spawnSync(bin, args, {
    cwd: opts.cwd ?? repoRoot,
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
