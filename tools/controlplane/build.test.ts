// build.sh's answers when it cannot build: one clear message saying what to install.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-build-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A PATH with bash and coreutils but no Go. */
function pathWithoutGo(): string {
  const bin = join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['bash', 'dirname', 'cut', 'sed', 'cat', 'mkdir', 'rm', 'mv', 'date', 'grep']) {
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
    const r = spawnSync('bash', ['tools/controlplane/build.sh'], {
      encoding: 'utf8',
      env: { ...process.env, KUBEBUILDER_ASSETS: scratch },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`KUBEBUILDER_ASSETS=${scratch} does not hold executable kube-apiserver and etcd`);
  });

  it('KUBEBUILDER_ASSETS with both binaries: used as is, nothing built', () => {
    const assets = join(scratch, 'assets');
    mkdirSync(assets, { recursive: true });
    for (const b of ['kube-apiserver', 'etcd']) symlinkSync('/bin/true', join(assets, b));
    const r = spawnSync('bash', ['tools/controlplane/build.sh'], {
      encoding: 'utf8',
      env: { ...process.env, KUBEBUILDER_ASSETS: assets },
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(assets);
  });

  /** A folder holding stand-ins for `names` (build.sh only checks they are there). */
  function fakeAssets(folder: string, names: string[]): string {
    const dir = join(scratch, folder);
    mkdirSync(dir, { recursive: true });
    for (const n of names) symlinkSync('/bin/true', join(dir, n));
    return dir;
  }
  const nodeTools = ['kube-controller-manager', 'kube-scheduler', 'kwok', 'kwok-stages.yaml'];

  it('--nodes with KUBEBUILDER_ASSETS holding the nodes-mode tools too: that folder, nothing built', () => {
    const assets = fakeAssets('assets-all', ['kube-apiserver', 'etcd', ...nodeTools]);
    const r = spawnSync('bash', ['tools/controlplane/build.sh', '--nodes'], {
      encoding: 'utf8',
      env: { ...process.env, KUBEBUILDER_ASSETS: assets },
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(assets);
  });

  it('--nodes with KUBEBUILDER_ASSETS lacking them, and no Go: says what to install, exit 1', () => {
    const assets = fakeAssets('assets-cp', ['kube-apiserver', 'etcd']);
    const r = spawnSync('bash', ['tools/controlplane/build.sh', '--nodes'], {
      encoding: 'utf8',
      env: {
        PATH: pathWithoutGo(),
        HOME: scratch,
        HOSTNS_CACHE_DIR: join(scratch, 'cache'),
        KUBEBUILDER_ASSETS: assets,
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('kube-controller-manager, kube-scheduler and KWOK v0.8.0');
    expect(r.stderr).toContain('install Go >= 1.26');
  });

  it('a cache holding every artifact: printed, nothing built', () => {
    const cache = join(scratch, 'cache-full');
    const assets = fakeAssets('cache-full/controlplane/k8s-v1.36.3-etcd-v3.6.16-kwok-v0.8.0', [
      'kube-apiserver',
      'etcd',
      ...nodeTools,
    ]);
    for (const args of [[], ['--nodes']]) {
      const r = spawnSync('bash', ['tools/controlplane/build.sh', ...args], {
        encoding: 'utf8',
        env: { ...process.env, HOSTNS_CACHE_DIR: cache },
      });
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout.trim()).toBe(assets);
      expect(r.stderr).toBe('');
    }
  });

  it('KWOK_VERSION and kwok/go.mod disagreeing: names both, exit 1, before building anything', () => {
    const copy = join(scratch, 'copy');
    mkdirSync(join(copy, 'kwok'), { recursive: true });
    copyFileSync('tools/controlplane/build.sh', join(copy, 'build.sh'));
    copyFileSync('tools/controlplane/kwok/go.mod', join(copy, 'kwok', 'go.mod'));
    writeFileSync(
      join(copy, 'versions.env'),
      readFileSync('tools/controlplane/versions.env', 'utf8').replace('KWOK_VERSION=v0.8.0', 'KWOK_VERSION=v0.7.0'),
    );
    const cache = join(scratch, 'cache-kwok');
    fakeAssets('cache-kwok/controlplane/k8s-v1.36.3-etcd-v3.6.16-kwok-v0.7.0', [
      'kube-apiserver',
      'etcd',
      'kube-controller-manager',
      'kube-scheduler',
    ]);
    const r = spawnSync('bash', [join(copy, 'build.sh')], {
      encoding: 'utf8',
      env: { ...process.env, HOSTNS_CACHE_DIR: cache },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('kwok/go.mod does not require sigs.k8s.io/kwok v0.7.0 (versions.env)');
  });
});
