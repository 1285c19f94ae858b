// The operator's command line: bad input stops the start with one line naming the flag.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCommand, maxConcurrentReconciles, type MainOptions } from '../src/main.ts';
import { policyFrom } from '../src/policy/config.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-main-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
// An empty HOME: no ~/.kube/config to fall back on.
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['src/main.ts', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH!, HOME: scratch, ...env },
    timeout: 30_000,
  });

describe('operator flags', () => {
  it('documented defaults', () => {
    const o = buildCommand().parse(['node', 'main']).opts<MainOptions>();
    expect(o).toMatchObject({
      httpPort: '8080',
      leaderElect: false,
      exemptNamespaces: 'kube-system',
      expiringSoon: '7d',
      maxLifetime: '90d',
      reviewInterval: '30d',
      maxConcurrentReconciles: '16',
      logLevel: 'info',
      leaseName: 'hostns-operator',
    });
    const p = policyFrom(o);
    expect([...p.exemptNamespaces]).toEqual(['kube-system']);
    expect(p.maxLifetime.as('days')).toBe(90);
  });
  it('--patch-concurrency is an alias of --max-concurrent-reconciles; the new name wins when both are set', () => {
    const workers = (args: string[]) => {
      const cmd = buildCommand().parse(['node', 'main', ...args]);
      return maxConcurrentReconciles(
        cmd.opts<MainOptions>(),
        cmd.getOptionValueSource('maxConcurrentReconciles') === 'default',
      );
    };
    expect(workers([])).toBe(16);
    expect(workers(['--patch-concurrency', '4'])).toBe(4);
    expect(workers(['--max-concurrent-reconciles', '8'])).toBe(8);
    expect(workers(['--max-concurrent-reconciles', '8', '--patch-concurrency', '4'])).toBe(8);
    for (const bad of ['many', '1.5', '0', '']) {
      expect(() => workers(['--max-concurrent-reconciles', bad])).toThrow(
        `--max-concurrent-reconciles: ${JSON.stringify(bad)} is not a positive integer`,
      );
      expect(() => workers(['--patch-concurrency', bad])).toThrow(
        `--patch-concurrency: ${JSON.stringify(bad)} is not a positive integer`,
      );
    }
  });
  it('environment variables set flags', () => {
    const old = process.env.HOSTNS_EXEMPT_NAMESPACES;
    process.env.HOSTNS_EXEMPT_NAMESPACES = 'kube-system, cni';
    try {
      expect([...policyFrom(buildCommand().parse(['node', 'main']).opts<MainOptions>()).exemptNamespaces]).toEqual([
        'kube-system',
        'cni',
      ]);
    } finally {
      if (old === undefined) delete process.env.HOSTNS_EXEMPT_NAMESPACES;
      else process.env.HOSTNS_EXEMPT_NAMESPACES = old;
    }
  });
  it.each([
    [['--expiring-soon', 'soon'], /--expiring-soon: "soon" is not a positive duration/],
    [['--max-lifetime', '0d'], /--max-lifetime: "0d" is not a positive duration/],
    [['--http-port', 'eighty'], /--http-port: "eighty" is not a non-negative integer/],
    [['--patch-concurrency', '0'], /--patch-concurrency: "0" is not a positive integer/],
    [['--max-concurrent-reconciles', '-1'], /--max-concurrent-reconciles: "-1" is not a positive integer/],
    [['--leader-elect'], /--leader-elect needs --lease-namespace/],
    [['--ready-max-disconnected', 'a while'], /--ready-max-disconnected: "a while" is not a positive duration/],
    [['--list-page-size', '0'], /--list-page-size: "0" is not a positive integer/],
    [['--list-page-size', '2.5'], /--list-page-size: "2.5" is not a positive integer/],
    [['--list-page-size', 'all'], /--list-page-size: "all" is not a positive integer/],
  ])('%j exits 2 naming the flag', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
  it('no cluster configured: one clear line (client-node would silently use localhost:8080)', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no cluster configured: pass --kubeconfig, set KUBECONFIG/);
  });
  it('unreachable API server: one clear line, exit 1', () => {
    const kc = join(scratch, 'kubeconfig');
    writeFileSync(
      kc,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
    );
    const r = run(['--kubeconfig', kc, '--http-port', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the Kubernetes API at https:\/\/127.0.0.1:1/);
  });
});
