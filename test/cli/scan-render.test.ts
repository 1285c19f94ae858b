// Rendering before scanning (issue 19): --helm-chart [--values] with helm, --kustomize with kubectl
// kustomize, and findings placed back on the template or patch that produced them.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/kubectl-hostns.ts';
import { findHelm } from '../../src/cli/inputs.ts';
import { helmSourceAt, placeKustomizeFindings, singleFlagLine } from '../../src/report/scan-render.ts';
import type { ScanFinding } from '../../src/report/scan.ts';

const R = join('test', 'cli', 'fixtures', 'render');
const hasHelm = findHelm(process.env) !== undefined;

async function cli(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    readStdin: () => '',
    env,
  };
  return { code: await run(args, io), out, err };
}

describe('placement (pure)', () => {
  it('finds the # Source of the document holding a line, and none across documents', () => {
    const rendered =
      '---\n# Source: c/templates/a.yaml\nkind: A\nx: 1\n---\n# Source: c/charts/s/templates/b.yaml\nkind: B\n---\nkind: C\n';
    expect(helmSourceAt(rendered, 4)).toBe('c/templates/a.yaml');
    expect(helmSourceAt(rendered, 7)).toBe('c/charts/s/templates/b.yaml');
    expect(helmSourceAt(rendered, 9)).toBeUndefined();
  });

  it('a template line is used only when it is the single line setting the flag', () => {
    expect(singleFlagLine('spec:\n  hostNetwork: {{ .Values.h }}\n', 'hostNetwork')).toEqual({ line: 2, column: 3 });
    expect(singleFlagLine('spec: {hostPID: true}\n', 'hostPID')).toEqual({ line: 1, column: 8 });
    expect(singleFlagLine('a:\n  hostPID: true\nb:\n  hostPID: true\n', 'hostPID')).toBeUndefined();
    expect(singleFlagLine('# hostPID is off\n', 'hostPID')).toBeUndefined();
  });

  it('a kustomize finding moves to the one source setting that flag for that object, never to an ambiguous one', () => {
    const f = (file: string, name: string, line = 5): ScanFinding => ({
      file,
      line,
      column: 7,
      kind: 'Deployment',
      namespace: 'n',
      name,
      flag: 'hostPID',
      field: 'spec.template.spec.hostPID',
      status: 'offender',
      exceptions: [],
      lapsed: [],
    });
    const one = [f('rendered', 'prod-web')];
    placeKustomizeFindings(one, 'rendered', [f('patch.yaml', 'web', 8)]);
    expect(one[0]).toMatchObject({ file: 'patch.yaml', line: 8 });
    const two = [f('rendered', 'prod-web')];
    placeKustomizeFindings(two, 'rendered', [f('a.yaml', 'web'), f('b.yaml', 'web')]);
    expect(two[0]!.file).toBe('rendered');
    const other = [f('rendered', 'prod-api')];
    placeKustomizeFindings(other, 'rendered', [f('patch.yaml', 'web')]);
    expect(other[0]!.file).toBe('rendered');
  });
});

describe('--helm-chart', () => {
  it.skipIf(!hasHelm)('secure values pass; host values fail at the template line', async () => {
    expect(await cli(['scan', '--helm-chart', join(R, 'chart')])).toMatchObject({ code: 0 });
    const r = await cli(['scan', '--helm-chart', join(R, 'chart'), '--values', join(R, 'chart', 'values-host.yaml')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${join(R, 'chart', 'templates', 'daemonset.yaml')}:13:7: error: DaemonSet default/hostns-scan-agent sets hostNetwork: true`,
    );
  });

  it('a chart that does not render is an error of the chart (exit 2), the other inputs still scanned', async () => {
    const r = await cli([
      'scan',
      '--helm-chart',
      join(R, 'no-such-chart'),
      join('test', 'cli', 'fixtures', 'seeds', '003-vulnerable.yaml'),
    ]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/no-such-chart: error: helm template .*no-such-chart (failed|: helm not found)/);
    expect(r.out).toContain('003-vulnerable.yaml:7:3: error:');
  });

  it('without helm anywhere, says so (exit 2)', async () => {
    const r = await cli(['scan', '--helm-chart', join(R, 'chart')], {
      PATH: '/nonexistent',
      HOSTNS_CACHE_DIR: '/nonexistent',
    });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/helm not found on PATH nor in the tools cache/);
  });

  it('--values without --helm-chart is bad usage', async () => {
    expect((await cli(['scan', '-', '--values', 'x.yaml'])).code).toBe(2);
  });
});

describe('--kustomize', () => {
  it('an overlay without host namespaces passes; a patch adding hostPID fails at the patch', async () => {
    expect(await cli(['scan', '--kustomize', join(R, 'kustomize', 'overlays', 'prod')])).toMatchObject({ code: 0 });
    const r = await cli(['scan', '--kustomize', join(R, 'kustomize', 'overlays', 'debug'), '-o', 'json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { findings: ScanFinding[] };
    expect(json.findings).toMatchObject([
      {
        file: join(R, 'kustomize', 'overlays', 'debug', 'host-pid.yaml'),
        line: 8,
        column: 7,
        name: 'debug-web',
        namespace: 'debug',
        flag: 'hostPID',
      },
    ]);
  });

  it('a folder without a kustomization is an error of that folder (exit 2)', async () => {
    const r = await cli(['scan', '--kustomize', join(R, 'chart')]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/chart: error: kubectl kustomize .* failed: /);
  });
});
