// Runs bin/kubectl-hostns as a user does (a real process), against the run's control plane.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { kubeconfigPath } from '../harness/clients.ts';

export const BIN_DIR = join(import.meta.dirname, '..', '..', 'bin');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl-hostns <args> --kubeconfig <run's kubeconfig>`; never throws on a non-zero exit. */
export function hostns(
  args: string[],
  options: { input?: string; env?: Record<string, string>; kubeconfig?: boolean } = {},
): CliResult {
  const kc = options.kubeconfig === false ? [] : ['--kubeconfig', kubeconfigPath()];
  const r = spawnSync(join(BIN_DIR, 'kubectl-hostns'), [...args, ...kc], {
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function hostnsJson<T>(args: string[]): T {
  const r = hostns([...args, '-o', 'json']);
  if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl-hostns ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * stderr without the CLI's note that it decided with its default policy settings: there whenever
 * no operator has published its settings in the cluster (test order decides) or no cluster is read.
 */
export function withoutDefaultsNote(stderr: string): string {
  return stderr.replace(/^(context \S+: )?note: using the CLI's default policy settings .*\n/gm, '');
}
