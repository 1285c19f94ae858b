// The seeds' examples (extracted into fixtures/seeds/, each citing its seed): the scan fails the
// vulnerable ones and passes the secure ones, through the CLI's exit status as CI sees it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/kubectl-hostns.ts';

const dir = join(import.meta.dirname, 'fixtures', 'seeds');
const files = readdirSync(dir).sort();
const SEEDS = join(import.meta.dirname, '..', '..', '..', 'shared', 'seeds');

async function scan(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    readStdin: () => '',
    env: {},
  };
  const code = await run(['scan', ...args], io);
  return { code, out, err };
}

describe('seed examples', () => {
  // The seeds live next to the checkout on the development machine only; elsewhere the fixtures stand alone.
  it.skipIf(!existsSync(SEEDS))('has a vulnerable and a secure fixture for every seed', () => {
    const seeds = readdirSync(SEEDS).map((f) => f.slice(0, 3));
    for (const s of seeds) {
      expect(
        files.some((f) => f.startsWith(`${s}-vulnerable`)),
        `vulnerable fixture for seed ${s}`,
      ).toBe(true);
      expect(
        files.some((f) => f.startsWith(`${s}-secure`)),
        `secure fixture for seed ${s}`,
      ).toBe(true);
    }
  });

  for (const f of files.filter((f) => f.includes('-vulnerable'))) {
    it(`fails ${f}`, async () => {
      const r = await scan([join(dir, f)]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/: error: .* sets host(Network|PID|IPC): true and no HostNamespaceException/);
    });
  }

  for (const f of files.filter((f) => f.includes('-secure'))) {
    it(`passes ${f}`, async () => {
      const r = await scan([join(dir, f)]);
      expect(r.code).toBe(0);
      expect(r.out).not.toContain(': error:');
    });
  }

  it('reports the line of each flag in the seed 003 pod', async () => {
    const r = await scan([join(dir, '003-vulnerable.yaml'), '-o', 'json']);
    const json = JSON.parse(r.out) as { findings: { line: number; flag: string }[] };
    expect(json.findings.map((f) => [f.flag, f.line])).toEqual([
      ['hostNetwork', 7],
      ['hostPID', 8],
      ['hostIPC', 9],
    ]);
  });
});
