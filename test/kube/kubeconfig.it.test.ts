// KUBECONFIG=a:b as kubectl reads it, for the operator (`npm start`, no --kubeconfig) and the CLI:
// the run's kubeconfig split in two files (contexts in one, cluster and user in the other), a
// missing file first in the list.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, eventually, kubeconfigPath } from '../harness/clients.ts';
import { hostns } from '../cli/run-cli.ts';

let dir = '';
let list = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hostns-kubeconfig-it-'));
  const full = parse(readFileSync(kubeconfigPath(), 'utf8')) as Record<string, unknown>;
  const contexts = join(dir, 'contexts.yaml');
  const credentials = join(dir, 'credentials.yaml');
  writeFileSync(
    contexts,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      contexts: full.contexts,
      'current-context': full['current-context'],
    }),
  );
  writeFileSync(
    credentials,
    stringify({ apiVersion: 'v1', kind: 'Config', clusters: full.clusters, users: full.users }),
  );
  list = [join(dir, 'missing.yaml'), contexts, credentials].join(':');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('KUBECONFIG lists (kubectl merges them)', () => {
  it('kubectl hostns reads KUBECONFIG=missing:contexts:credentials', async () => {
    const ns = await createNamespace('kc-list');
    const r = hostns(['audit', '-n', ns, '-o', 'json'], { kubeconfig: false, env: { KUBECONFIG: list } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBeTruthy();
  });

  it('the operator started with `npm start` and KUBECONFIG=missing:contexts:credentials becomes ready', async () => {
    const port = await freePort();
    const child = spawn('npm', ['start', '--silent', '--', '--http-port', String(port), '--log-level', 'info'], {
      env: { ...process.env, KUBECONFIG: list },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: npm, sh and node stop together
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    try {
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}:\n${log}`);
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return res && (await res.text()) === 'ok\n' ? true : undefined;
        },
        60_000,
        'the operator to be ready',
      );
      expect(log).not.toContain('no such file');
    } finally {
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  });

  it('the operator names the list when none of its files exists', async () => {
    const child = spawn(process.execPath, ['src/main.ts', '--http-port', '0'], {
      env: { ...process.env, KUBECONFIG: `${join(dir, 'a')}:${join(dir, 'b')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain(`KUBECONFIG=${join(dir, 'a')}:${join(dir, 'b')}: no such file (none of them exists)`);
  });
});
