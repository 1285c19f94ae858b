// kubectl's plugin discovery: with bin/ on PATH (or a symlink to the launcher anywhere on PATH),
// `kubectl hostns ...` runs our CLI, flags and stdin included.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, kubeconfigPath } from '../harness/clients.ts';
import { createException, createPod } from './fixtures-cluster.ts';
import { BIN_DIR } from './run-cli.ts';

const version = (JSON.parse(readFileSync(join(BIN_DIR, '..', 'package.json'), 'utf8')) as { version: string }).version;

function kubectlWith(pathDir: string, args: string[], input?: string) {
  const r = spawnSync('kubectl', args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${pathDir}:${process.env.PATH}`, KUBECONFIG: kubeconfigPath(), NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

let ns: string;

beforeAll(async () => {
  ns = await createNamespace('cli-plugin');
  await createException(ns, {
    name: 'agent',
    allow: ['hostNetwork'],
    matchLabels: { app: 'agent' },
    expiresIn: { days: 20 },
  });
  await createPod(ns, 'agent-1', { app: 'agent' }, { hostNetwork: true });
});

describe('kubectl plugin discovery', () => {
  it('kubectl plugin list finds kubectl-hostns in bin/', () => {
    const r = kubectlWith(BIN_DIR, ['plugin', 'list']);
    expect(r.stdout).toContain(join(BIN_DIR, 'kubectl-hostns'));
  });

  it('kubectl hostns --version', () => {
    const r = kubectlWith(BIN_DIR, ['hostns', '--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('kubectl hostns audit / review against the cluster (KUBECONFIG)', () => {
    const audit = kubectlWith(BIN_DIR, ['hostns', 'audit', '--group-by', 'pod', '-n', ns]);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(
      new RegExp(`^${ns} +agent-1 +hostNetwork +covered +agent +no +1/1 met +by agent$`, 'm'),
    );
    const review = kubectlWith(BIN_DIR, ['hostns', 'review', '-n', ns, '--fail-on-findings']);
    expect(review.code).toBe(1); // expires within 30 days
    expect(review.stdout).toMatch(/expires in (19|20)d \(within 30d\)/);
  });

  it('kubectl hostns scan - reads stdin and sets the exit status', () => {
    const manifest = readFileSync(join(import.meta.dirname, 'fixtures', 'seeds', '002-vulnerable.yaml'), 'utf8');
    const r = kubectlWith(BIN_DIR, ['hostns', 'scan', '-'], manifest);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^<stdin>:9:3: error: Pod default\/promiscuous-pod sets hostNetwork: true/m);
  });

  it('works through a symlink to the launcher placed elsewhere on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostns-path-'));
    symlinkSync(join(BIN_DIR, 'kubectl-hostns'), join(dir, 'kubectl-hostns'));
    const r = kubectlWith(dir, ['hostns', 'audit', '--group-by', 'pod', '-n', ns, '-o', 'json']);
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ pods: 1, covered: 1 });
  });

  it('kubectl hostns review --help shows examples', () => {
    const r = kubectlWith(BIN_DIR, ['hostns', 'review', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: kubectl hostns review [options]');
    expect(r.stdout).toContain(
      'kubectl hostns review --mark-reviewed node-exporter -n monitoring --by alice@example.com',
    );
  });
});
