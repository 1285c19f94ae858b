// docs/install.md, "Install with Helm", on the real control plane with the real helm: install,
// upgrade (a changed value takes effect), uninstall. The release lives in a namespace of its own;
// the chart's cluster-scoped objects (admission policies, ClusterRoles) are removed again by the
// uninstall test, or by afterAll should a test fail before it. No kubelet runs here: the Deployment
// creates no pods, so the operator runs beside it as a process (with the test's credentials) and
// writes the admission params, as the Deployment's pods would; admission is checked with
// server-side dry runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseObjects, repoRoot, toYaml, type KubeObject } from '../deploy/manifests.ts';
import { createNamespace, eventually, kubeconfigPath, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { ecosystemTool, run, TOOL_BUILD_TIMEOUT_MS, type ToolResult } from '../harness/tools.ts';

const RELEASE = 'hostns-operator';
const ns = `helm-${randomBytes(4).toString('hex')}`;
let helmBin = '';
let scratch = '';
let manifest: KubeObject[] = [];
let operator: OperatorProcess | undefined;

/** helm as the docs run it, from the repository root, with its state in a scratch folder. */
const helm = (args: string[]): ToolResult =>
  run(helmBin, args, {
    env: {
      KUBECONFIG: kubeconfigPath(),
      HELM_CACHE_HOME: join(scratch, 'cache'),
      HELM_CONFIG_HOME: join(scratch, 'config'),
      HELM_DATA_HOME: join(scratch, 'data'),
    },
  });
const ok = (r: ToolResult, what: string) => {
  expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};
const show = (command: string, r: ToolResult) => console.log(`[output] $ ${command}\n${r.stdout}${r.stderr}`);
const json = <T>(args: string[]) => JSON.parse(ok(kubectl([...args, '-o', 'json']), args.join(' ')).stdout) as T;
/** A pod using the host network, created in a dry run: admission decides, nothing is stored. */
const hostNetworkPod = (namespace: string) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'agent', namespace },
    spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
  };
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath(), 'create', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify(pod),
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

/**
 * The admission params the operator wrote (a grants object per namespace, the index) are not the
 * chart's: helm leaves them. The guard lets them be deleted once annotated (docs/install.md,
 * Uninstall with Helm).
 */
const allowParamsDeletion = (): ToolResult[] => [
  kubectl(['annotate', 'hostnamespacegrantsets', '--all', '-A', 'hostns.io/allow-delete=true', '--overwrite']),
  kubectl(['annotate', 'hostnamespacegrantindexes', '--all', 'hostns.io/allow-delete=true', '--overwrite']),
];
const deleteParams = (): ToolResult[] => [
  kubectl(['delete', 'hostnamespacegrantsets', '--all', '-A', '--ignore-not-found']),
  kubectl(['delete', 'hostnamespacegrantindexes', '--all', '--ignore-not-found']),
];

beforeAll(async () => {
  helmBin = ecosystemTool('helm');
  scratch = mkdtempSync(join(tmpdir(), 'hostns-helm-'));
  // docs/install.md: the release namespace, labelled for Pod Security `restricted`.
  ok(kubectl(['create', 'namespace', ns]), 'create namespace');
  const psa = ['enforce', 'audit', 'warn'].map((mode) => `pod-security.kubernetes.io/${mode}=restricted`);
  ok(kubectl(['label', 'namespace', ns, ...psa]), 'label namespace');
  // A fresh cluster, as a user's would be: cluster-scoped objects of the chart that earlier test
  // files applied with kubectl (and left) could not be adopted by the release. CRDs stay.
  const rendered = parseObjects(
    ok(helm(['template', RELEASE, 'charts/hostns-operator', '-n', ns]), 'helm template').stdout,
  );
  for (const o of rendered) {
    if (o.metadata.namespace || o.kind === 'CustomResourceDefinition') continue;
    kubectl(['delete', '--ignore-not-found', '--wait=false', o.kind, o.metadata.name]);
  }
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await operator?.kill('SIGTERM');
  // Only if a test failed before the uninstall test: leave no admission policy behind.
  if (helmBin && helm(['status', RELEASE, '-n', ns]).code === 0) {
    allowParamsDeletion();
    helm(['uninstall', RELEASE, '-n', ns]);
    deleteParams();
  }
  kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  rmSync(scratch, { recursive: true, force: true });
}, 180_000);

describe('helm install, upgrade, uninstall (docs/install.md)', () => {
  it(
    'installs the chart: every object of its manifest exists; the CRDs already present are kept',
    { timeout: 180_000 },
    () => {
      const r = ok(helm(['install', RELEASE, 'charts/hostns-operator', '-n', ns]), 'helm install');
      show(`helm install ${RELEASE} charts/hostns-operator -n hostns-system`, r);
      expect(r.stdout).toMatch(/^STATUS: deployed$/m);
      expect(r.stdout).toMatch(/^REVISION: 1$/m);
      expect(r.stdout).toContain(`admission mode deny (exempt: kube-system)`);
      manifest = parseObjects(ok(helm(['get', 'manifest', RELEASE, '-n', ns]), 'helm get manifest').stdout);
      const kinds = manifest.map((o) => o.kind);
      expect(kinds).toEqual(
        expect.arrayContaining([
          'Deployment',
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
          'ClusterRole',
        ]),
      );
      // the operator writes the admission params: none is the chart's
      expect(kinds).not.toContain('HostNamespaceGrantSet');
      expect(kinds).not.toContain('HostNamespaceGrantIndex');
      const existing = ok(kubectl(['get', '-f', '-', '-o', 'name'], toYaml(manifest)), 'every manifest object exists');
      expect(existing.stdout.trim().split('\n')).toHaveLength(manifest.length);
      const deployment = json<{ metadata: { labels: Record<string, string> }; spec: { replicas: number } }>([
        '-n',
        ns,
        'get',
        'deployment',
        'hostns-operator',
      ]);
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
    },
  );

  it('deny mode: the API server refuses a host-network pod', { timeout: 90_000 }, async () => {
    // The operator the Deployment would run writes each namespace's grants object and the index.
    operator = await OperatorProcess.start();
    const target = await createNamespace('helm-deny');
    // Refused at once by hostns-grants-required (no grants object yet), then, once the operator
    // wrote it, by hostns-host-namespaces (no exception allows hostNetwork).
    const refused = await eventually(
      () => {
        const r = hostNetworkPod(target);
        return r.code !== 0 && r.stderr.includes("ValidatingAdmissionPolicy 'hostns-host-namespaces'") ? r : undefined;
      },
      60_000,
      'the admission policy in force with the grants of the namespace',
    );
    expect(refused.stderr).toContain('hostns-host-namespaces');
    expect(refused.stderr).toContain('hostNetwork');
    show(`kubectl create --dry-run=server (a hostNetwork pod in ${target})`, refused);
  });

  it('upgrades with changed values: warn mode admits with a warning, one replica', { timeout: 180_000 }, async () => {
    // helm leaves crds/ alone on upgrade: the docs apply them first
    const crds = ok(
      kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'charts/hostns-operator/crds/')]),
      'kubectl apply --server-side',
    );
    show('kubectl apply --server-side --force-conflicts -f charts/hostns-operator/crds/', crds);
    const r = ok(
      helm([
        'upgrade',
        RELEASE,
        'charts/hostns-operator',
        '-n',
        ns,
        '--reuse-values',
        '--set',
        'admission.mode=warn',
        '--set',
        'replicas=1',
      ]),
      'helm upgrade',
    );
    show(
      `helm upgrade ${RELEASE} charts/hostns-operator -n hostns-system --reuse-values ` +
        '--set admission.mode=warn --set replicas=1',
      r,
    );
    expect(r.stdout).toMatch(/^REVISION: 2$/m);
    for (const name of ['hostns-host-namespaces', 'hostns-grants-required']) {
      const binding = json<{ spec: { validationActions: string[] } }>([
        'get',
        'validatingadmissionpolicybinding',
        name,
      ]);
      expect(binding.spec.validationActions, name).toEqual(['Warn', 'Audit']);
    }
    expect(json<{ spec: { replicas: number } }>(['-n', ns, 'get', 'deployment', 'hostns-operator']).spec.replicas).toBe(
      1,
    );
    const target = await createNamespace('helm-warn');
    const admitted = await eventually(
      () => {
        const a = hostNetworkPod(target);
        return a.code === 0 && /Warning: .*hostns-host-namespaces.*hostNetwork/.test(a.stderr) ? a : undefined;
      },
      60_000,
      'warn mode in force with the grants of the namespace',
    );
    expect(admitted.stderr).toMatch(/Warning: .*hostNetwork/);
    show(`kubectl create --dry-run=server (a hostNetwork pod in ${target})`, admitted);
    const history = ok(helm(['history', RELEASE, '-n', ns]), 'helm history');
    show(`helm history ${RELEASE} -n hostns-system`, history);
    expect(history.stdout.trim().split('\n')).toHaveLength(3); // header + 2 revisions
  });

  it(
    'uninstalls: every object of the release is gone, then the params; the CRDs (and so the exceptions) stay',
    { timeout: 180_000 },
    async () => {
      // docs/install.md: the operator stopped (here its process), its params allowed to go
      await operator?.kill('SIGTERM');
      for (const r of allowParamsDeletion()) show('kubectl annotate (the params)', ok(r, 'annotate the params'));
      const r = ok(helm(['uninstall', RELEASE, '-n', ns, '--wait', '--timeout', '120s']), 'helm uninstall');
      show(`helm uninstall ${RELEASE} -n hostns-system`, r);
      expect(r.stdout).toContain(`release "${RELEASE}" uninstalled`);
      const left = await eventually(
        () => {
          const got = kubectl(['get', '-f', '-', '-o', 'name', '--ignore-not-found'], toYaml(manifest));
          return got.stdout.trim() === '' ? got : undefined;
        },
        60_000,
        'the release objects deleted',
      );
      expect(left.code).toBe(0);
      // helm leaves the params the operator wrote: deleted as the docs say
      for (const r of deleteParams()) show('kubectl delete (the params)', ok(r, 'delete the params'));
      for (const resource of ['hostnamespacegrantsets', 'hostnamespacegrantindexes']) {
        const rest = ok(kubectl(['get', resource, '-A', '-o', 'name']), `get ${resource}`);
        expect(rest.stdout.trim(), resource).toBe('');
      }
      for (const crd of ['hostnamespaceexceptions', 'hostnamespacegrantsets', 'hostnamespacegrantindexes']) {
        expect(kubectl(['get', 'crd', `${crd}.hostns.io`, '-o', 'name']).stdout.trim()).toBe(
          `customresourcedefinition.apiextensions.k8s.io/${crd}.hostns.io`,
        );
      }
      expect(helm(['status', RELEASE, '-n', ns]).code).not.toBe(0);
    },
  );
});
