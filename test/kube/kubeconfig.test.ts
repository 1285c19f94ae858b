// KUBECONFIG as kubectl reads it: a list of files, merged (first file wins per name and for
// current-context), missing files skipped; --kubeconfig is one file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeConfigError, kubeconfigFiles, loadKubeConfig } from '../../src/kube/kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'hostns-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, body: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'Config', ...body }));
  return path;
}

// a: the context and current-context, pointing at a cluster and user that live in b.
const a = file('a', {
  'current-context': 'dev',
  contexts: [{ name: 'dev', context: { cluster: 'c1', user: 'u1', namespace: 'team' } }],
});
const b = file('b', {
  'current-context': 'other',
  clusters: [{ name: 'c1', cluster: { server: 'https://b.example:6443', 'certificate-authority': 'ca.crt' } }],
  users: [{ name: 'u1', user: { token: 'from-b' } }],
  contexts: [
    { name: 'dev', context: { cluster: 'nope', user: 'nope' } },
    { name: 'other', context: { cluster: 'c1', user: 'u1' } },
  ],
});
// c: a duplicate cluster name, later in the list: ignored.
const c = file('c', { clusters: [{ name: 'c1', cluster: { server: 'https://c.example:6443' } }] });
const missing = join(dir, 'missing');

describe('KUBECONFIG lists', () => {
  it('splits on the path delimiter, dropping empty entries and repeats', () => {
    expect(kubeconfigFiles(`${a}::${b}:${a}:`, ':')).toEqual([a, b]);
  });

  it('merges the files: current-context and names from the first file that sets them', () => {
    const kc = loadKubeConfig({}, { KUBECONFIG: [a, b, c].join(':') });
    expect(kc.getCurrentContext()).toBe('dev');
    expect(kc.getContextObject('dev')).toMatchObject({ cluster: 'c1', user: 'u1', namespace: 'team' });
    expect(kc.getCurrentCluster()?.server).toBe('https://b.example:6443');
    expect(kc.getCurrentCluster()?.caFile).toBe(join(dir, 'ca.crt')); // relative to its own file
    expect(kc.getCurrentUser()?.token).toBe('from-b');
    expect(
      kc
        .getContexts()
        .map((x) => x.name)
        .sort(),
    ).toEqual(['dev', 'other']);
  });

  it("the order decides: b first gives b's current-context", () => {
    const kc = loadKubeConfig({}, { KUBECONFIG: [b, a].join(':') });
    expect(kc.getCurrentContext()).toBe('other');
    expect(kc.getContextObject('dev')).toMatchObject({ cluster: 'nope' });
  });

  it('skips files that do not exist, as kubectl does', () => {
    const kc = loadKubeConfig({}, { KUBECONFIG: [missing, a, b].join(':') });
    expect(kc.getCurrentCluster()?.server).toBe('https://b.example:6443');
  });

  it('--context picks from the merged contexts', () => {
    expect(loadKubeConfig({ context: 'other' }, { KUBECONFIG: [a, b].join(':') }).getCurrentContext()).toBe('other');
  });

  it('one clear line when no listed file exists, or the merge has no usable context', () => {
    expect(() => loadKubeConfig({}, { KUBECONFIG: `${missing}:${missing}2` })).toThrow(
      new KubeConfigError('usage', `KUBECONFIG=${missing}:${missing}2: no such file (none of them exists)`),
    );
    expect(() => loadKubeConfig({}, { KUBECONFIG: a })).toThrow(/no current context/);
  });

  it('--kubeconfig is one file (not a list), and wins over KUBECONFIG', () => {
    expect(() => loadKubeConfig({ kubeconfig: `${a}:${b}` }, {})).toThrow(`--kubeconfig ${a}:${b}: no such file`);
    const kc = loadKubeConfig({ kubeconfig: b }, { KUBECONFIG: [a, b].join(':') });
    expect(kc.getCurrentContext()).toBe('other');
  });
});
