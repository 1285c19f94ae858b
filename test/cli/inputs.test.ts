// Reading scan inputs: symlinked folders followed once (loops reported), broken links reported,
// files read in pieces; through the CLI's exit status as CI sees it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/kubectl-hostns.ts';
import { readInputs } from '../../src/cli/inputs.ts';
import { withoutDefaultsNote } from './run-cli.ts';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata: {name: in-link}\nspec:\n  hostPID: true\n';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    readStdin: () => '',
    env: {},
  };
  return { code: await run(args, io), out, err };
}

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'hostns-inputs-'));
  mkdirSync(join(root, 'repo', 'apps'), { recursive: true });
  mkdirSync(join(root, 'elsewhere', 'nested'), { recursive: true });
  writeFileSync(join(root, 'elsewhere', 'nested', 'pod.yaml'), POD);
  writeFileSync(join(root, 'repo', 'apps', 'ok.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
  return root;
}

describe('a small heap', () => {
  it('a single document too large for the heap is an error (exit 2), not an abort (134)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostns-heap-'));
    const items = Array.from({ length: 30000 }, (_, i) => ({
      kind: 'Pod',
      metadata: { name: `p${i}` },
      spec: { hostPID: true },
    }));
    writeFileSync(join(dir, 'list.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 1));
    const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'kubectl-hostns.ts');
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', cli, 'scan', join(dir, 'list.json')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(
      /list\.json:1:1: error: document 1 is [\d.]+ MB: over the [\d.]+ MB this process can parse/,
    );
  });
});

describe('memory follows the largest document, not the file', () => {
  // 34 MB of the heap are the CLI's modules; the whole file held would need about 500 MB
  it('16 MB of small documents (1% with a finding) scan in an 80 MB heap', { timeout: 180_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostns-many-'));
    const doc = (i: number) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w${i}, namespace: ns}\nspec:\n  template:\n` +
      `    metadata: {labels: {app: a${i}}}\n    spec:\n${i % 100 ? '' : '      hostNetwork: true\n'}` +
      `      containers: [{name: m, image: registry.example.com/a:${i}}]\n`;
    const parts: string[] = [];
    for (let i = 0, n = 0; n < 16 * 1024 * 1024; i++) n += parts[parts.push((i ? '---\n' : '') + doc(i)) - 1]!.length;
    writeFileSync(join(dir, 'many.yaml'), parts.join(''));
    const cli = join(import.meta.dirname, '..', '..', 'src', 'cli', 'kubectl-hostns.ts');
    const args = ['--max-old-space-size=80', cli, 'scan', join(dir, 'many.yaml'), '-o', 'json'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.status).toBe(1);
    const json = JSON.parse(r.stdout) as { objects: number; findings: unknown[]; errors: unknown[] };
    expect(json).toMatchObject({ objects: parts.length, errors: [] });
    expect(json.findings).toHaveLength(Math.ceil(parts.length / 100));
  });
});

describe('symbolic links in scanned folders', () => {
  it('follows a symlinked folder and a symlinked file: the offender inside fails the scan', async () => {
    const root = tree();
    symlinkSync(join(root, 'elsewhere'), join(root, 'repo', 'linked-dir'));
    symlinkSync(join(root, 'elsewhere', 'nested', 'pod.yaml'), join(root, 'repo', 'linked-pod.yaml'));
    const r = await cli(['scan', join(root, 'repo')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${join(root, 'repo', 'linked-dir', 'nested', 'pod.yaml')}:5:3: error: Pod default/in-link sets hostPID: true`,
    );
    expect(r.out).toContain(`${join(root, 'repo', 'linked-pod.yaml')}:5:3: error:`);
    expect(withoutDefaultsNote(r.err)).toBe('');
  });

  it('a loop (a link to a parent, to itself through two links) is reported once, not followed, and the scan ends', async () => {
    const root = tree();
    symlinkSync(join(root, 'repo'), join(root, 'repo', 'apps', 'back-to-repo'));
    symlinkSync(join(root, 'b'), join(root, 'repo', 'a'));
    symlinkSync(join(root, 'repo', 'a'), join(root, 'b'));
    const { sources, errors } = readInputs([join(root, 'repo')], () => '');
    expect(sources.map((s) => s.path)).toEqual([join(root, 'repo', 'apps', 'ok.yaml')]);
    expect(errors.map((e) => e.message).sort()).toEqual([
      expect.stringMatching(/^broken symbolic link \(ELOOP\)$/),
      expect.stringMatching(/^symbolic link loop: leads back to .*repo, not followed$/),
    ]);
    const r = await cli(['scan', join(root, 'repo')]);
    expect(r.code).toBe(2);
  });

  it('a broken link is an error of that path (exit 2), never a silent skip', async () => {
    const root = tree();
    symlinkSync(join(root, 'gone'), join(root, 'repo', 'dangling.yaml'));
    const r = await cli(['scan', join(root, 'repo')]);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${join(root, 'repo', 'dangling.yaml')}: error: broken symbolic link (ENOENT)`);
  });

  it('files under an --exceptions folder are trusted even when the scan covers them too', async () => {
    const root = tree();
    mkdirSync(join(root, 'repo', 'exceptions'));
    writeFileSync(
      join(root, 'repo', 'exceptions', 'e.yaml'),
      `apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: e, namespace: default}
spec:
  owner: team
  allow: [hostPID]
  podSelector: {matchLabels: {}}
  riskAcceptance: {justification: reads the host process table for profiling, acceptedBy: board, acceptedAt: "2026-05-20T00:00:00Z"}
  expiresAt: "2026-06-20T00:00:00Z"
`,
    );
    writeFileSync(join(root, 'repo', 'apps', 'pod.yaml'), POD);
    const now = ['--now', '2026-06-01T00:00:00Z'];
    const untrusted = await cli(['scan', join(root, 'repo'), ...now]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.out).toContain('(exception-in-change)');
    const trusted = await cli(['scan', join(root, 'repo'), '--exceptions', join(root, 'repo', 'exceptions'), ...now]);
    expect(trusted.out).not.toContain('exception-in-change');
    expect(trusted.out).toContain('allowed by HostNamespaceException e');
    expect(trusted.code).toBe(0);
    const inline = await cli(['scan', join(root, 'repo'), '--trust-inline-exceptions', ...now]);
    expect(inline.code).toBe(0);
  });
});
