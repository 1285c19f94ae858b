// tools/ecosystem/build.sh's answers without building: cache hits, a clear message without Go, an
// unknown tool. (The real builds run once per machine; .ci/run times them.)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-tools-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const versions = Object.fromEntries(
  readFileSync('tools/ecosystem/versions.env', 'utf8')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => l.split('=') as [string, string]),
);

/** A PATH with bash and coreutils but no Go. */
function pathWithoutGo(): string {
  const bin = join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['bash', 'dirname', 'mkdir', 'rm', 'mv', 'date', 'cat', 'flock']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) {
      try {
        symlinkSync(found, join(bin, tool));
      } catch {
        /* already linked */
      }
    }
  }
  return bin;
}
const build = (args: string[], cache: string) =>
  spawnSync('bash', ['tools/ecosystem/build.sh', ...args], {
    encoding: 'utf8',
    env: { PATH: pathWithoutGo(), HOME: scratch, HOSTNS_CACHE_DIR: cache },
  });

describe('tools/ecosystem/build.sh', () => {
  it('pins helm and promtool versions', () => {
    expect(versions.HELM_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(versions.PROMETHEUS_VERSION).toMatch(/^v0\.\d+\.\d+$/);
  });

  it('without Go and without the cached binary: says what to install and where it goes, exit 1', () => {
    const cache = join(scratch, 'empty');
    for (const [tool, version] of [
      ['helm', versions.HELM_VERSION],
      ['promtool', versions.PROMETHEUS_VERSION],
    ]) {
      const r = build([tool!], cache);
      expect(r.status, tool).toBe(1);
      expect(r.stderr).toContain(`needs ${tool} ${version}`);
      const where = `${cache}/tools/${tool}-${version}`;
      expect(r.stderr).toContain(`Install Go >= 1.26: it is then built from its Go module, once, into ${where}`);
    }
  });

  it('with the binaries cached: prints their paths, in the order asked, without Go', () => {
    const cache = join(scratch, 'cache');
    const helm = join(cache, 'tools', `helm-${versions.HELM_VERSION}`, 'helm');
    const promtool = join(cache, 'tools', `promtool-${versions.PROMETHEUS_VERSION}`, 'promtool');
    for (const bin of [helm, promtool]) {
      mkdirSync(join(bin, '..'), { recursive: true });
      symlinkSync('/bin/true', bin);
    }
    expect(build([], cache).stdout).toBe(`${helm}\n${promtool}\n`);
    expect(build(['promtool', 'helm'], cache).stdout).toBe(`${promtool}\n${helm}\n`);
  });

  it('an unknown tool: names it and the known ones, exit 2', () => {
    const r = build(['kubectl'], join(scratch, 'cache'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown tool 'kubectl': expected helm or promtool");
  });
});
