// build.sh's answers when it cannot build: one clear message saying what to install.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-build-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A PATH with bash and coreutils but no Go. */
function pathWithoutGo(): string {
  const bin = join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['bash', 'dirname', 'cut', 'sed', 'cat', 'mkdir', 'rm', 'mv', 'date']) {
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

describe('tools/controlplane/build.sh', () => {
  it('without Go and without assets: says what to install, exit 1', () => {
    const r = spawnSync('bash', ['tools/controlplane/build.sh'], {
      encoding: 'utf8',
      env: { PATH: pathWithoutGo(), HOME: scratch, HOSTNS_CACHE_DIR: join(scratch, 'cache') },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('install Go >= 1.26');
    expect(r.stderr).toContain('or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd');
  });

  it('KUBEBUILDER_ASSETS without the binaries: names the folder, exit 1', () => {
    const r = spawnSync('bash', ['tools/controlplane/build.sh'], { encoding: 'utf8', env: { ...process.env, KUBEBUILDER_ASSETS: scratch } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`KUBEBUILDER_ASSETS=${scratch} does not hold executable kube-apiserver and etcd`);
  });

  it('KUBEBUILDER_ASSETS with both binaries: used as is, nothing built', () => {
    const assets = join(scratch, 'assets');
    mkdirSync(assets, { recursive: true });
    for (const b of ['kube-apiserver', 'etcd']) symlinkSync('/bin/true', join(assets, b));
    const r = spawnSync('bash', ['tools/controlplane/build.sh'], { encoding: 'utf8', env: { ...process.env, KUBEBUILDER_ASSETS: assets } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(assets);
  });
});
