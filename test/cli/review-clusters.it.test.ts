// `kubectl hostns review` across clusters on TWO real control planes (the run's, and a second one
// started here), plus contexts that fail in each way a cluster can: nothing listening, credentials
// refused, no answer, a context naming no cluster, the CRD not installed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../tools/controlplane/controlplane.ts';
import { installCrds } from '../../tools/controlplane/crds.ts';
import { createNamespace, eventually, kubeConfig } from '../harness/clients.ts';
import { createException, createPod } from './fixtures-cluster.ts';
import { hostns, withoutDefaultsNote } from './run-cli.ts';

interface FleetJson {
  summary: string;
  clusters: { cluster: string; server: string; reviewed: boolean; exceptions?: number; error?: string }[];
  exceptions: { cluster: string; namespace: string; name: string; coveredPods: number; findings: { kind: string }[] }[];
}

let second: ControlPlane;
let ns: string;
let kubeconfig: string;
let silent: Server;
const scratch = mkdtempSync(join(tmpdir(), 'hostns-fleet-'));

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * eu (the run's control plane), us (the second one), and the failing contexts: gone (nothing
 * listening), badtoken (eu with a token it refuses: 401), silent (accepts, never answers),
 * dangling (names a cluster the file does not define).
 */
function writeFleetKubeconfig(eu: KubeConfig, us: KubeConfig, gonePort: number, silentPort: number): string {
  const euCluster = eu.getCurrentCluster()!;
  const usCluster = us.getCurrentCluster()!;
  const fleet = new KubeConfig();
  fleet.loadFromOptions({
    clusters: [
      { ...euCluster, name: 'eu' },
      { ...usCluster, name: 'us' },
      { ...euCluster, name: 'gone', server: `https://127.0.0.1:${gonePort}` },
      { ...euCluster, name: 'silent', server: `https://127.0.0.1:${silentPort}` },
    ],
    users: [
      { ...eu.getCurrentUser()!, name: 'eu-admin' },
      { ...us.getCurrentUser()!, name: 'us-admin' },
      { name: 'stranger', token: 'not-a-token-this-cluster-knows' },
    ],
    contexts: [
      { name: 'eu', cluster: 'eu', user: 'eu-admin' },
      { name: 'us', cluster: 'us', user: 'us-admin' },
      { name: 'gone', cluster: 'gone', user: 'eu-admin' },
      { name: 'badtoken', cluster: 'eu', user: 'stranger' },
      { name: 'silent', cluster: 'silent', user: 'eu-admin' },
      { name: 'dangling', cluster: 'nowhere', user: 'eu-admin' },
    ],
    currentContext: 'eu',
  });
  const path = join(scratch, 'fleet.kubeconfig');
  writeFileSync(path, fleet.exportConfig(), { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  second = await ControlPlane.start();
  installCrds(second.kubeconfigPath);
  const us = new KubeConfig();
  us.loadFromFile(second.kubeconfigPath);

  // the same namespace in both clusters, different exceptions in each
  ns = await createNamespace('cli-fleet');
  await createException(ns, {
    name: 'node-exporter',
    allow: ['hostNetwork'],
    matchLabels: { app: 'node-exporter' },
    expiresIn: { days: 60 },
  });
  await createPod(ns, 'node-exporter-1', { app: 'node-exporter' }, { hostNetwork: true });
  const usCore = us.makeApiClient(CoreV1Api);
  const usObjects = us.makeApiClient(CustomObjectsApi);
  await usCore.createNamespace({ body: { metadata: { name: ns } } });
  await createException(
    ns,
    { name: 'build-cache', allow: ['hostIPC'], matchLabels: { app: 'build-cache' }, expiresIn: { days: 5 } },
    usObjects,
  );
  await createException(
    ns,
    { name: 'spare', allow: ['hostPID'], matchLabels: { app: 'nobody' }, expiresIn: { days: 60 } },
    usObjects,
  );
  await createPod(ns, 'build-cache-0', { app: 'build-cache' }, { hostIPC: true }, {}, usCore);

  silent = createTcpServer(() => undefined); // accepts connections, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  kubeconfig = writeFleetKubeconfig(kubeConfig(), us, await deadPort(), (silent.address() as { port: number }).port);
});

afterAll(async () => {
  silent?.close();
  await second?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const review = (args: string[]) => hostns(['review', '--kubeconfig', kubeconfig, ...args], { kubeconfig: false });
const reviewJson = (args: string[]) => {
  const r = review([...args, '-o', 'json']);
  return { ...r, json: JSON.parse(r.stdout) as FleetJson };
};

describe('kubectl hostns review across two clusters', () => {
  it('--context twice: both clusters at once, every row with its cluster, urgent first across them', () => {
    const { code, stderr, json } = reviewJson(['--context', 'eu', '--context', 'us', '-n', ns]);
    expect(withoutDefaultsNote(stderr)).toBe('');
    expect(code).toBe(0);
    expect(json.clusters).toEqual([
      { cluster: 'eu', server: kubeConfig().getCurrentCluster()!.server, reviewed: true, exceptions: 1 },
      { cluster: 'us', server: second.server, reviewed: true, exceptions: 2 },
    ]);
    expect(
      json.exceptions.map((r) => [r.cluster, r.name, r.coveredPods, r.findings.map((f) => f.kind).join()]),
    ).toEqual([
      ['us', 'build-cache', 1, 'expiring'],
      ['us', 'spare', 0, 'unused'],
      ['eu', 'node-exporter', 1, ''],
    ]);
    expect(json.summary).toBe('3 exceptions, 2 with findings (1 expiring, 1 unused); 2 clusters reviewed (eu, us)');
  });

  it('table and Markdown carry a CLUSTER column; --fail-on-findings still exits 1', () => {
    const table = review(['--context', 'eu', '--context', 'us', '-n', ns]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^CLUSTER +NAMESPACE +NAME +OWNER +ALLOW +PHASE +EXPIRES +DAYS LEFT +PODS +TICKET /);
    expect(lines[1]).toMatch(new RegExp(`^us +${ns} +build-cache +team-observability +hostIPC +ExpiringSoon +`));
    expect(lines[3]).toMatch(new RegExp(`^eu +${ns} +node-exporter +`));
    const md = review(['--context', 'eu', '--context', 'us', '-n', ns, '-o', 'markdown']);
    expect(md.stdout).toMatch(/^### Host namespace exceptions: review of .* UTC, clusters eu, us\n/);
    expect(md.stdout).toContain(`| eu | ${ns} | node-exporter | team-observability | hostNetwork | Active |`);
    expect(review(['--context', 'eu', '--context', 'us', '-n', ns, '--fail-on-findings']).code).toBe(1);
  });

  it('one --context keeps the single-cluster review: no CLUSTER column, same exit statuses', () => {
    const r = review(['--context', 'us', '-n', ns]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAMESPACE +NAME +OWNER /);
    const gone = review(['--context', 'gone']);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(
      /^error: listing HostNamespaceExceptions: cannot reach the Kubernetes API at .* \(ECONNREFUSED\)\n$/,
    );
  });

  it('clusters that fail are rows with their error, the others are reviewed; exit 2 (incomplete)', () => {
    const args = [
      '--context',
      'eu',
      '--context',
      'gone',
      '--context',
      'badtoken',
      '--context',
      'silent',
      '--context',
      'dangling',
    ];
    const { code, stderr, json } = reviewJson([...args, '-n', ns, '--request-timeout', '3']);
    expect(code).toBe(2);
    const errors = Object.fromEntries(json.clusters.filter((c) => !c.reviewed).map((c) => [c.cluster, c.error]));
    expect(errors).toEqual({
      gone: expect.stringMatching(
        /^listing HostNamespaceExceptions: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
      ),
      badtoken: expect.stringMatching(/did not accept our credentials \(401 Unauthorized\)$/),
      silent: expect.stringMatching(
        /^listing HostNamespaceExceptions: no answer from the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ within 3s$/,
      ),
      dangling: 'the context names cluster "nowhere", which the kubeconfig does not define',
    });
    expect(json.exceptions.map((r) => `${r.cluster}/${r.name}`)).toEqual(['eu/node-exporter']);
    expect(json.summary).toBe(
      '1 exception, 0 with findings; 1 of 5 clusters reviewed (eu); NOT reviewed: gone, badtoken, silent, dangling',
    );
    // one line per cluster not reviewed on stderr, for whoever reads only that
    expect(
      withoutDefaultsNote(stderr)
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/^(error: context [^:]+): .*$/, '$1')),
    ).toEqual(['error: context gone', 'error: context badtoken', 'error: context silent', 'error: context dangling']);

    const table = review([...args, '-n', ns, '--request-timeout', '3']);
    expect(table.code).toBe(2);
    const rows = table.stdout
      .split('\n')
      .slice(1, 6)
      .map((l) => l.split(/ {3,}/).slice(0, 2));
    expect(rows.map(([cluster, cell]) => [cluster, cell!.replace(/: .*/, '')])).toEqual([
      ['gone', 'cluster not reviewed'],
      ['badtoken', 'cluster not reviewed'],
      ['silent', 'cluster not reviewed'],
      ['dangling', 'cluster not reviewed'],
      ['eu', ns],
    ]);
  });

  it('--all-contexts reviews every context of the kubeconfig', () => {
    const { code, json } = reviewJson(['--all-contexts', '-n', ns, '--request-timeout', '3']);
    expect(code).toBe(2);
    expect(json.clusters.map((c) => [c.cluster, c.reviewed])).toEqual([
      ['eu', true],
      ['us', true],
      ['gone', false],
      ['badtoken', false],
      ['silent', false],
      ['dangling', false],
    ]);
    expect(json.exceptions).toHaveLength(3);
  });

  it('no cluster answered: every one a row, exit 3', () => {
    const r = review(['--context', 'gone', '--context', 'badtoken', '-n', ns]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /^CLUSTER .*\ngone +cluster not reviewed: .*ECONNREFUSED.*\nbadtoken +cluster not reviewed: .*401/,
    );
    expect(r.stdout).toContain('0 of 2 clusters reviewed; NOT reviewed: gone, badtoken');
  });

  it('a cluster without the CRD is a row saying so, the other is reviewed', async () => {
    execFileSync(
      'kubectl',
      ['--kubeconfig', second.kubeconfigPath, 'delete', 'crd', 'hostnamespaceexceptions.hostns.io', '--wait=true'],
      {
        stdio: 'ignore',
      },
    );
    const json = await eventually(
      () => {
        const r = reviewJson(['--context', 'eu', '--context', 'us', '-n', ns]);
        return r.json.clusters[1]!.reviewed ? undefined : r;
      },
      30_000,
      'the CRD gone from the second cluster',
    );
    expect(json.code).toBe(2);
    expect(json.json.clusters[1]!.error).toBe(
      `listing HostNamespaceExceptions: the HostNamespaceException CRD (hostnamespaceexceptions.hostns.io) is not installed in the cluster at ${second.server} (kubectl apply -k config/crd)`,
    );
    expect(json.json.exceptions.map((r) => r.cluster)).toEqual(['eu']);
  });
});
