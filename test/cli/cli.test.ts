// The scan subcommand end to end, in process (no cluster needed): inputs, formats, exit statuses.
import { DATE_TIME_MESSAGE, SINGLE_LINE_MESSAGE } from '../../src/api/validation.ts';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/kubectl-hostns.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const NOW = ['--now', '2026-06-01T00:00:00Z'];

async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    readStdin: () => stdin,
    env: {},
  };
  const code = await run(args, io);
  return { code, out, err };
}

describe('kubectl hostns scan', () => {
  it('walks folders recursively (*.yaml, *.yml, *.json; hidden folders skipped)', async () => {
    const r = await cli(['scan', join(fixtures, 'scan', 'apps'), '-o', 'json', ...NOW]);
    const json = JSON.parse(r.out);
    expect(json.files).toBe(3);
    expect(
      json.findings.map((f: { kind: string; flag: string; status: string }) => `${f.kind}:${f.flag}:${f.status}`),
    ).toEqual(['CronJob:hostIPC:offender', 'DaemonSet:hostNetwork:offender', 'DaemonSet:hostPID:offender']);
    // the exception next to the DaemonSet is part of the change: it does not approve it
    expect(json.exceptions).toMatchObject([{ name: 'node-exporter', inChange: true, counts: false }]);
    expect(r.code).toBe(1);
    const all = JSON.parse((await cli(['scan', join(fixtures, 'scan'), '-o', 'json', ...NOW])).out);
    expect(all.findings.some((f: { name: string }) => f.name === 'hidden')).toBe(false);
    const named = JSON.parse((await cli(['scan', join(fixtures, 'scan', '.hidden'), '-o', 'json'])).out);
    expect(named.findings.map((f: { name: string }) => f.name)).toEqual(['hidden']);
  });

  it('--exceptions adds the allowed path', async () => {
    const r = await cli([
      'scan',
      join(fixtures, 'scan', 'apps', 'cronjob.json'),
      '--exceptions',
      join(fixtures, 'exceptions'),
      ...NOW,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'note: CronJob ops/cleanup sets hostIPC: true, allowed by HostNamespaceException cleanup-ipc',
    );
  });

  it('an expired exception does not count (--now after its expiry)', async () => {
    const r = await cli([
      'scan',
      join(fixtures, 'scan', 'apps', 'cronjob.json'),
      '--exceptions',
      join(fixtures, 'exceptions'),
      '--now',
      '2026-07-02T00:00:00Z',
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('(HostNamespaceException cleanup-ipc has expired)');
    expect(r.out).toMatch(/ops\.yaml:1: note: HostNamespaceException ops\/cleanup-ipc does not count \(expired\)/);
  });

  it('a syntax error names file and line, the scan goes on, and the exit status says incomplete (2)', async () => {
    const r = await cli(['scan', join(fixtures, 'scan'), ...NOW]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/broken\.yaml:5:\d+: error: YAML syntax error: /);
    expect(r.out).toContain('cronjob.json:12:13: error: CronJob ops/cleanup');
    expect(r.out).toMatch(/result incomplete\n$/);
    expect(r.out.match(/broken\.yaml/g)).toHaveLength(1);
  });

  it('a missing path is reported and makes the result incomplete', async () => {
    const r = await cli(['scan', join(fixtures, 'nope.yaml'), join(fixtures, 'seeds', '002-secure.yaml')]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('nope.yaml: error: no such file or folder');
  });

  it('reads stdin with -', async () => {
    const r = await cli(['scan', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n');
    expect(r.code).toBe(1);
    expect(r.out).toContain('<stdin>:5:3: error: Pod default/p sets hostPID: true');
  });

  it('--namespace places objects that name none', async () => {
    const r = await cli(['scan', '-', '-n', 'prod'], 'kind: Pod\nmetadata: {name: p}\nspec: {hostPID: true}\n');
    expect(r.out).toContain('Pod prod/p');
  });

  it('SARIF output', async () => {
    const r = await cli(['scan', join(fixtures, 'seeds', '003-vulnerable.yaml'), '-o', 'sarif']);
    const sarif = JSON.parse(r.out);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toEqual([
      'HOSTNS001',
      'HOSTNS002',
      'HOSTNS003',
    ]);
    expect(r.code).toBe(1);
  });
});

describe('usage', () => {
  it('--version and --help exit 0', async () => {
    expect(await cli(['--version'])).toMatchObject({ code: 0, out: '0.1.0\n' });
    const help = await cli(['scan', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('kustomize build overlays/prod | kubectl hostns scan -');
  });

  it('bad usage exits 2 with one clear line', async () => {
    expect((await cli(['scan'])).code).toBe(2);
    expect((await cli(['scan', '-', '-o', 'xml'])).err).toMatch(
      /option '-o, --output <format>' argument 'xml' is invalid/,
    );
    const bad = await cli(['scan', '-', '--within', '3d']);
    expect(bad.code).toBe(2);
    const dur = await cli(['review', '--within', 'soon']);
    expect(dur).toMatchObject({
      code: 2,
      err: 'error: --within: "soon" is not a positive duration (use e.g. 7d, 36h, 90m, 45s or P7D)\n',
    });
    const now = await cli(['audit', '--now', 'yesterday']);
    expect(now).toMatchObject({ code: 2, err: `error: --now: "yesterday" ${DATE_TIME_MESSAGE}\n` });
    // The API's one date grammar: what the API server would refuse in an exception, the CLI refuses too.
    for (const bad of ['2026-12-17t10:00:00z', '2026-12-01T00:00:00+24:00', '2026-02-30T00:00:00Z']) {
      expect(await cli(['audit', '--now', bad])).toMatchObject({
        code: 2,
        err: `error: --now: ${JSON.stringify(bad)} ${DATE_TIME_MESSAGE}\n`,
      });
    }
    const invisible = await cli(['review', '--mark-reviewed', 'x', '-n', 'y', '--by', 'jane\u200b']);
    expect(invisible).toMatchObject({ code: 2, err: `error: --by: "jane\u200b" ${SINGLE_LINE_MESSAGE}\n` });
    const backdated = await cli([
      'review',
      '--mark-reviewed',
      'x',
      '-n',
      'y',
      '--by',
      'z',
      '--now',
      '2026-01-01T00:00:00Z',
    ]);
    expect(backdated).toMatchObject({
      code: 2,
      err: 'error: --now cannot be used with --mark-reviewed: a review is recorded at the time it happens\n',
    });
    const both = await cli(['audit', '-n', 'x', '-A']);
    expect(both).toMatchObject({ code: 2, err: 'error: -n/--namespace and -A/--all-namespaces exclude each other\n' });
  });
});
