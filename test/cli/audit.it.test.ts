// `kubectl hostns audit` on the real control plane, with no operator running: classification from
// the API alone, agreement with the operator's pod labels, paging, and clear failures.
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeApiError } from '../../src/cli/cluster.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { EXIT } from '../../src/cli/errors.ts';
import { core, createNamespace, kubeConfig, kubeconfigPath, kubectl } from '../harness/clients.ts';
import { createException, createPod } from './fixtures-cluster.ts';
import { hostns, hostnsJson } from './run-cli.ts';

interface AuditJson {
  summary: { pods: number; offenders: number; covered: number; exempt: number; unlabelled: number };
  pods: {
    namespace: string;
    name: string;
    uses: string[];
    status: string;
    exceptions: string[];
    uncovered: string[];
    lapsed: { name: string }[];
    labelled: boolean;
    operatorLabel: string;
  }[];
}

/** A loopback port nothing listens on (just released by us). */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

let ns: string;
const systemPod = `hostns-cli-audit-${process.pid}`;

beforeAll(async () => {
  ns = await createNamespace('cli-audit');
  await createException(ns, {
    name: 'node-exporter',
    allow: ['hostNetwork'],
    matchLabels: { app: 'node-exporter' },
    expiresIn: { days: 30 },
  });
  await createPod(ns, 'node-exporter-1', { app: 'node-exporter' }, { hostNetwork: true });
  await createPod(ns, 'debug', { app: 'debug' }, { hostPID: true });
  await createPod(ns, 'both', { app: 'node-exporter' }, { hostNetwork: true, hostIPC: true });
  await createPod(ns, 'web', { app: 'web' }, {});
  await createPod('kube-system', systemPod, { app: 'proxy' }, { hostNetwork: true });
});

afterAll(async () => {
  await core()
    .deleteNamespacedPod({ namespace: 'kube-system', name: systemPod, gracePeriodSeconds: 0 })
    .catch(() => undefined);
});

describe('kubectl hostns audit', () => {
  it('lists covered pods (with the exception), offenders and nothing else of the namespace', () => {
    const json = hostnsJson<AuditJson>(['audit', '--group-by', 'pod', '-n', ns]);
    expect(json.pods.map((p) => [p.name, p.status, p.exceptions, p.uncovered])).toEqual([
      ['both', 'offender', ['node-exporter'], ['hostIPC']],
      ['debug', 'offender', [], ['hostPID']],
      ['node-exporter-1', 'covered', ['node-exporter'], []],
    ]);
    expect(json.summary).toMatchObject({ pods: 3, offenders: 2, covered: 1, exempt: 0 });
  });

  it('cluster-wide by default, with kube-system exempt (and --exempt-namespaces to change that)', () => {
    const all = hostnsJson<AuditJson>(['audit', '--group-by', 'pod']);
    expect(all.pods.find((p) => p.name === systemPod)).toMatchObject({ namespace: 'kube-system', status: 'exempt' });
    expect(all.pods.filter((p) => p.namespace === ns)).toHaveLength(3);
    const strict = hostnsJson<AuditJson>(['audit', '--group-by', 'pod', '-A', '--exempt-namespaces', '']);
    expect(strict.pods.find((p) => p.name === systemPod)).toMatchObject({ status: 'offender' });
  });

  it('agrees with the pods the seed 001 audit command lists (kubectl get pods -A -o json | jq)', () => {
    // /work/shared/seeds/001_62c26f23ebf22aa0.txt, Option 1
    const jq = spawnSync(
      'sh',
      [
        '-c',
        `kubectl --kubeconfig '${kubeconfigPath()}' get pods --all-namespaces -o json | jq -r '.items[] | select(.spec.hostNetwork == true) | "\\(.metadata.namespace)/\\(.metadata.name)"'`,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(jq.status).toBe(0);
    const fromJq = jq.stdout.trim().split('\n').filter(Boolean).sort();
    const fromAudit = hostnsJson<AuditJson>(['audit', '--group-by', 'pod'])
      .pods.filter((p) => p.uses.includes('hostNetwork'))
      .map((p) => `${p.namespace}/${p.name}`)
      .sort();
    expect(fromAudit).toEqual(fromJq);
    expect(fromAudit).toContain(`${ns}/node-exporter-1`);
  });

  it('says whether the operator labels agree: the contract keys written as the operator writes them', () => {
    // No operator runs in this test: write what it writes (docs/architecture.md, pod marks).
    expect(kubectl(['-n', ns, 'label', 'pod', 'node-exporter-1', 'hostns.io/exception=node-exporter']).code).toBe(0);
    expect(kubectl(['-n', ns, 'annotate', 'pod', 'node-exporter-1', 'hostns.io/exceptions=node-exporter']).code).toBe(
      0,
    );
    expect(kubectl(['-n', ns, 'label', 'pod', 'debug', 'hostns.io/violation=true']).code).toBe(0);
    expect(kubectl(['-n', ns, 'annotate', 'pod', 'debug', 'hostns.io/violation=hostPID']).code).toBe(0);
    // a wrong mark: `both` is an offender, labelled as covered
    expect(kubectl(['-n', ns, 'label', 'pod', 'both', 'hostns.io/exception=node-exporter']).code).toBe(0);
    const json = hostnsJson<AuditJson>(['audit', '--group-by', 'pod', '-n', ns]);
    const by = Object.fromEntries(json.pods.map((p) => [p.name, p]));
    expect(by['node-exporter-1']).toMatchObject({ labelled: true, operatorLabel: 'exception=node-exporter' });
    expect(by.debug).toMatchObject({ labelled: true, operatorLabel: 'violation=true' });
    expect(by.both).toMatchObject({ labelled: false, operatorLabel: 'exception=node-exporter' });
    const table = hostns(['audit', '--group-by', 'pod', '-n', ns]);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^NAMESPACE +POD +USES +STATUS +EXCEPTION +LABELLED +CONTROLS +DETAIL$/,
    );
    expect(table.stdout).toMatch(new RegExp(`^${ns} +debug +hostPID +offender +yes +not allowed: hostPID$`, 'm'));
  });

  it('reads pods in pages (--chunk-size)', async () => {
    const big = await createNamespace('cli-audit-pages');
    for (let i = 0; i < 7; i++) await createPod(big, `p${i}`, { app: 'x' }, { hostPID: true });
    const json = hostnsJson<AuditJson>(['audit', '--group-by', 'pod', '-n', big, '--chunk-size', '2']);
    expect(json.pods.map((p) => p.name)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('--fail-on-findings exits 1 when an offender runs', () => {
    expect(hostns(['audit', '--group-by', 'pod', '-n', ns]).code).toBe(0);
    expect(hostns(['audit', '--group-by', 'pod', '-n', ns, '--fail-on-findings']).code).toBe(1);
  });

  it('markdown output', () => {
    const md = hostns(['audit', '--group-by', 'pod', '-n', ns, '-o', 'markdown']);
    expect(md.stdout).toContain(`| ${ns} | debug | hostPID | offender |`);
  });

  it('an unreachable cluster is one line and exit 3', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'hostns-cli-'));
    const kc = kubeConfig();
    const cluster = kc.getCurrentCluster()!;
    const dead = new KubeConfig();
    dead.loadFromOptions({
      clusters: [{ ...cluster, server: `https://127.0.0.1:${port}` }],
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    writeFileSync(join(dir, 'kubeconfig'), dead.exportConfig());
    const r = hostns(['audit', '--group-by', 'pod', '--kubeconfig', join(dir, 'kubeconfig')], { kubeconfig: false });
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `error: listing HostNamespaceExceptions: cannot reach the Kubernetes API at https://127.0.0.1:${port} (ECONNREFUSED)\n`,
    );
  });

  it('no kubeconfig at all, or an unknown context: one line', () => {
    const home = mkdtempSync(join(tmpdir(), 'hostns-home-'));
    const none = hostns(['audit', '--group-by', 'pod'], {
      kubeconfig: false,
      env: { KUBECONFIG: '', HOME: home, KUBERNETES_SERVICE_HOST: '' },
    });
    rmSync(home, { recursive: true, force: true });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^error: no cluster configured: pass --kubeconfig, set KUBECONFIG/);
    const ctx = hostns(['audit', '--group-by', 'pod', '--context', 'nope']);
    expect(ctx.code).toBe(2);
    expect(ctx.stderr).toMatch(/^error: --context nope: no such context in the kubeconfig \(have: .+\)\n$/);
  });

  it('KUBECONFIG and --context are honoured', () => {
    const kc = kubeConfig();
    const r = hostns(['audit', '--group-by', 'pod', '-n', ns, '--context', kc.getCurrentContext(), '-o', 'json'], {
      kubeconfig: false,
      env: { KUBECONFIG: kubeconfigPath() },
    });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as AuditJson).summary.pods).toBe(3);
  });

  it("a missing CRD and a missing object are told apart from the API server's real 404 answers", async () => {
    // the CLI's requests go through the operator's client (src/kube/client.ts): its errors, not client-node's
    const client = new KubeClient(kubeConfig());
    // a resource the API server does not serve answers 404 with a plain body, as when the CRD is not installed
    const noCrd = await client.request('GET', '/apis/hostns.io/v1alpha1/nosuchresources').then(
      () => undefined,
      (e: unknown) => e,
    );
    const crdErr = describeApiError(noCrd, client.server, 'listing HostNamespaceExceptions');
    expect(crdErr.exitCode).toBe(EXIT.cluster);
    expect(crdErr.message).toMatch(
      /the HostNamespaceException CRD \(hostnamespaceexceptions\.hostns\.io\) is not installed/,
    );
    const noObj = await client
      .request('GET', `/apis/hostns.io/v1alpha1/namespaces/${ns}/hostnamespaceexceptions/nope`)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const objErr = describeApiError(noObj, client.server, 'reading nope');
    expect(objErr.exitCode).toBe(EXIT.usage);
    expect(objErr.message).toMatch(/not found/);
  });
});
