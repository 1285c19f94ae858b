// docs/install.md on the real control plane: install (CRDs, then config/default), the server-side
// dry run, least privilege (`kubectl auth can-i` as the operator's ServiceAccount), Pod Security
// `restricted`, the project's static scan, upgrade (re-apply) and uninstall.
//
// The install is real: the admission policy binding refuses host-namespace pods cluster-wide
// while this file runs (files run one at a time), and the uninstall test (plus afterAll, should a
// test fail before it) removes everything again except the CRDs, which every test file needs.
// No kubelet or deployment controller runs here, so the Deployment creates no pods; the pods are
// checked by dry-run creating one from its template.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  core,
  createNamespace,
  customObjects,
  eventually,
  kubeconfigPath,
  kubectl,
  type KubectlResult,
} from '../harness/clients.ts';
import {
  find,
  OPERATOR_NAME,
  OPERATOR_NAMESPACE,
  OPERATOR_SERVICE_ACCOUNT,
  parseObjects,
  render,
  repoRoot,
  toYaml,
  type KubeObject,
} from './manifests.ts';

const ok = (r: KubectlResult, what: string) => {
  expect(r.code, `${what}\n${r.stderr}`).toBe(0);
  return r;
};
/** kubectl run from the repo root, as the docs' commands are. */
const k = (args: string[], input?: string) => {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], {
    cwd: repoRoot,
    input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};
// Warnings, except kubectl's note on objects an earlier test file created without `kubectl apply`.
const warnings = (stderr: string) =>
  stderr.split('\n').filter((l) => /warning/i.test(l) && !l.includes('last-applied-configuration annotation'));
const canI = (args: string[]) => kubectl(['auth', 'can-i', '--as', OPERATOR_SERVICE_ACCOUNT, ...args]).stdout.trim();

let rendered: KubeObject[] = [];
let scratch = '';

beforeAll(async () => {
  rendered = render('config/default');
  scratch = mkdtempSync(join(tmpdir(), 'hostns-deploy-'));
  // an earlier test file may have left hostns-system terminating: the install would be refused
  await eventually(
    async () => {
      const ns = (await core().listNamespace()).items.find((n) => n.metadata?.name === OPERATOR_NAMESPACE);
      return !ns || ns.status?.phase === 'Active' ? true : undefined;
    },
    110_000,
    `namespace ${OPERATOR_NAMESPACE} not terminating`,
  );
});

afterAll(() => {
  // Only if a test failed before the uninstall test: leave no policy binding behind.
  uninstallKeepingCrds();
  rmSync(scratch, { recursive: true, force: true });
}, 300_000);

/** docs/install.md, "Uninstall", keeping the CRDs (and so the exceptions). Idempotent. */
function uninstallKeepingCrds(): KubectlResult[] {
  return [
    // The operator stopped, its params are annotated so that the guard lets them go (docs/install.md).
    k(['annotate', 'hostnamespacegrantsets', '--all', '-A', 'hostns.io/allow-delete=true', '--overwrite']),
    k(['annotate', 'hostnamespacegrantindexes', '--all', 'hostns.io/allow-delete=true', '--overwrite']),
    k(['delete', '-k', 'config/admission', '--ignore-not-found']),
    k(['delete', 'hostnamespacegrantsets', '--all', '-A', '--ignore-not-found']),
    k(['delete', 'hostnamespacegrantindexes', '--all', '--ignore-not-found']),
    k(['delete', '-k', 'config/exception-policy', '--ignore-not-found']),
    k(['delete', '-k', 'config/rbac', '--ignore-not-found']),
    k(['delete', '-k', 'config/manager', '--ignore-not-found', '--timeout=120s']),
  ];
}

describe('install (docs/install.md)', () => {
  it('step 1: the CRDs, applied and Established', () => {
    ok(k(['apply', '-k', 'config/crd']), 'kubectl apply -k config/crd');
    ok(
      k([
        'wait',
        '--for=condition=Established',
        'crd',
        '-l',
        'app.kubernetes.io/part-of=hostns-operator',
        '--timeout=60s',
      ]),
      'kubectl wait',
    );
  });

  it('step 2: kubectl apply -k config/default creates everything, without a warning', { timeout: 180_000 }, () => {
    const r = ok(k(['apply', '-k', 'config/default']), 'kubectl apply -k config/default');
    expect(warnings(r.stderr)).toEqual([]);
    const existing = ok(k(['get', '-f', '-', '-o', 'name'], toYaml(rendered)), 'every rendered object exists');
    expect(existing.stdout.trim().split('\n')).toHaveLength(rendered.length);
  });

  it(
    'the server accepts config/default in a dry run (the upgrade preview), without a warning',
    { timeout: 180_000 },
    () => {
      const r = ok(
        k(['apply', '-k', 'config/default', '--dry-run=server']),
        'kubectl apply -k config/default --dry-run=server',
      );
      expect(warnings(r.stderr)).toEqual([]);
      expect(r.stdout).toMatch(/^deployment\.apps\/hostns-operator \w+ \(server dry run\)$/m);
      expect(r.stdout.trim().split('\n')).toHaveLength(rendered.length);
    },
  );

  it('the operator namespace enforces Pod Security restricted', async () => {
    const ns = await core().readNamespace({ name: OPERATOR_NAMESPACE });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // and a pod that is not restricted is refused there
    const r = kubectl(['run', 'not-restricted', '--image=busybox', '-n', OPERATOR_NAMESPACE, '--dry-run=server']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted');
  });
});

describe("the operator's ServiceAccount: what it needs and nothing more", () => {
  const needs: [string, string[]][] = [
    ['list pods, all namespaces', ['list', 'pods', '-A']],
    ['watch pods', ['watch', 'pods', '-A']],
    ['get pods', ['get', 'pods', '-n', 'default']],
    ['patch pods (labels, annotations)', ['patch', 'pods', '-A']],
    ['watch ReplicaSets (their owners)', ['watch', 'replicasets.apps', '-A']],
    ['watch Jobs (their owners)', ['watch', 'jobs.batch', '-A']],
    ['watch core Events (FailedCreate)', ['watch', 'events', '-A']],
    ['list exceptions', ['list', 'hostnamespaceexceptions.hostns.io', '-A']],
    ['watch exceptions', ['watch', 'hostnamespaceexceptions.hostns.io', '-A']],
    ['get exceptions', ['get', 'hostnamespaceexceptions.hostns.io', '-n', 'default']],
    ['update exception status', ['update', 'hostnamespaceexceptions.hostns.io', '--subresource=status', '-A']],
    ['patch exception status', ['patch', 'hostnamespaceexceptions.hostns.io', '--subresource=status', '-A']],
    ['get a namespace grants object', ['get', 'hostnamespacegrantsets.hostns.io/grants', '-n', 'default']],
    ['list grants', ['list', 'hostnamespacegrantsets.hostns.io', '-A']],
    ['watch grants', ['watch', 'hostnamespacegrantsets.hostns.io', '-A']],
    ['create the grants', ['create', 'hostnamespacegrantsets.hostns.io', '-n', 'default']],
    ['update the grants', ['update', 'hostnamespacegrantsets.hostns.io/grants', '-n', 'default']],
    ['patch the grants', ['patch', 'hostnamespacegrantsets.hostns.io/grants', '-n', 'default']],
    [
      'delete the grants of a namespace that became exempt',
      ['delete', 'hostnamespacegrantsets.hostns.io/grants', '-n', 'default'],
    ],
    ['get the grant index', ['get', 'hostnamespacegrantindexes.hostns.io/cluster']],
    ['create the grant index', ['create', 'hostnamespacegrantindexes.hostns.io']],
    ['update the grant index', ['update', 'hostnamespacegrantindexes.hostns.io/cluster']],
    ['list namespaces', ['list', 'namespaces']],
    ['watch namespaces', ['watch', 'namespaces']],
    ['create events', ['create', 'events.events.k8s.io', '-n', 'default']],
    ['create its Lease', ['create', 'leases.coordination.k8s.io', '-n', OPERATOR_NAMESPACE]],
    ['get its Lease', ['get', 'leases.coordination.k8s.io/hostns-operator', '-n', OPERATOR_NAMESPACE]],
    ['update its Lease', ['update', 'leases.coordination.k8s.io/hostns-operator', '-n', OPERATOR_NAMESPACE]],
  ];
  const mustNot: [string, string[]][] = [
    ['read secrets anywhere', ['get', 'secrets', '-A']],
    ['list secrets in its namespace', ['list', 'secrets', '-n', OPERATOR_NAMESPACE]],
    ['exec into pods', ['create', 'pods', '--subresource=exec', '-A']],
    ['attach to pods', ['create', 'pods', '--subresource=attach', '-A']],
    ['delete pods', ['delete', 'pods', '-A']],
    ['create pods', ['create', 'pods', '-A']],
    ['update pods', ['update', 'pods', '-A']],
    ['evict pods', ['create', 'pods', '--subresource=eviction', '-A']],
    ['patch nodes', ['patch', 'nodes']],
    ['write exception specs', ['update', 'hostnamespaceexceptions.hostns.io', '-A']],
    ['create exceptions', ['create', 'hostnamespaceexceptions.hostns.io', '-A']],
    ['delete exceptions', ['delete', 'hostnamespaceexceptions.hostns.io', '-A']],
    ['update another grants object', ['update', 'hostnamespacegrantsets.hostns.io/other', '-n', 'default']],
    ['delete another grants object', ['delete', 'hostnamespacegrantsets.hostns.io/other', '-n', 'default']],
    ['change namespaces', ['patch', 'namespaces']],
    ['delete the grant index', ['delete', 'hostnamespacegrantindexes.hostns.io/cluster']],
    ['read a namespace', ['get', 'namespaces/default']],
    ['patch events', ['patch', 'events.events.k8s.io', '-A']],
    ['create core events', ['create', 'events', '-A']],
    ['change ReplicaSets', ['patch', 'replicasets.apps', '-A']],
    ['read a ReplicaSet spec by name', ['get', 'replicasets.apps', '-A']],
    ['change DaemonSets', ['patch', 'daemonsets.apps', '-A']],
    ['delete Jobs', ['delete', 'jobs.batch', '-A']],
    ['get another Lease', ['get', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'kube-system']],
    ['update another Lease in its namespace', ['update', 'leases.coordination.k8s.io/other', '-n', OPERATOR_NAMESPACE]],
    ['create Leases elsewhere', ['create', 'leases.coordination.k8s.io', '-n', 'default']],
    ['read CRDs', ['get', 'customresourcedefinitions.apiextensions.k8s.io']],
    ['change admission policies', ['update', 'validatingadmissionpolicybindings.admissionregistration.k8s.io']],
    ['escalate through RBAC', ['bind', 'clusterroles.rbac.authorization.k8s.io']],
    ['impersonate', ['impersonate', 'users']],
    ['mint tokens', ['create', 'serviceaccounts', '--subresource=token', '-A']],
    ['read configmaps', ['get', 'configmaps', '-A']],
  ];

  it.each(needs)('can %s', (_, args) => {
    expect(canI(args)).toBe('yes');
  });

  it.each(mustNot)('cannot %s', (_, args) => {
    expect(canI(args)).toBe('no');
  });

  it('holds no other rule (kubectl auth can-i --list, in its namespace and another)', () => {
    // the rules every authenticated user has (system:basic-user, system:discovery, ...)
    const everyone = [
      'selfsubjectreviews.authentication.k8s.io:[]:[create]',
      'selfsubjectaccessreviews.authorization.k8s.io:[]:[create]',
      'selfsubjectrulesreviews.authorization.k8s.io:[]:[create]',
    ];
    const cluster = [
      'pods:[]:[get list watch patch]',
      'hostnamespaceexceptions.hostns.io:[]:[get list watch]',
      'hostnamespaceexceptions.hostns.io/status:[]:[get update patch]',
      'hostnamespacegrantsets.hostns.io:[]:[get list watch create]',
      'hostnamespacegrantsets.hostns.io:[grants]:[update patch delete]',
      'namespaces:[]:[list watch]',
      'networkpolicies.networking.k8s.io:[]:[list watch]',
      'hostnamespacegrantindexes.hostns.io:[]:[get list watch create]',
      'hostnamespacegrantindexes.hostns.io:[cluster]:[update patch]',
      'events.events.k8s.io:[]:[create]',
      'replicasets.apps:[]:[list watch]',
      'jobs.batch:[]:[list watch]',
      'events:[]:[list watch]',
    ];
    const lease = [
      'leases.coordination.k8s.io:[]:[create]',
      'leases.coordination.k8s.io:[hostns-operator]:[get update]',
    ];
    expect(resourceRules(OPERATOR_NAMESPACE)).toEqual([...everyone, ...cluster, ...lease].sort());
    expect(resourceRules('default')).toEqual([...everyone, ...cluster].sort());
  });
});

/** Resource rows of `kubectl auth can-i --list` as `resource:[names]:[verbs]` (non-resource URLs left out). */
function resourceRules(namespace: string): string[] {
  const r = ok(kubectl(['auth', 'can-i', '--list', '--as', OPERATOR_SERVICE_ACCOUNT, '-n', namespace]), 'can-i --list');
  const [header, ...rows] = r.stdout.split('\n').filter((l) => l.trim());
  const col = (name: string) => header!.indexOf(name);
  const [urls, names, verbs] = [col('Non-Resource URLs'), col('Resource Names'), col('Verbs')];
  return rows
    .map((row) => ({
      resource: row.slice(0, urls).trim(),
      names: row.slice(names, verbs).trim(),
      verbs: row.slice(verbs).trim(),
    }))
    .filter((row) => row.resource !== '')
    .map((row) => `${row.resource}:${row.names}:${row.verbs}`)
    .sort();
}

describe('the operator pods pass Pod Security restricted and the project scan', () => {
  const deployment = () => find(rendered, 'Deployment', OPERATOR_NAME) as unknown as V1Deployment;

  it('the Deployment, in another restricted namespace, draws no PodSecurity warning', async () => {
    const ns = await createNamespace('deploy-psa', {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    const d = structuredClone(deployment());
    delete d.metadata!.namespace;
    const r = ok(
      kubectl(['apply', '-n', ns, '--dry-run=server', '-f', '-'], toYaml([d as unknown as KubeObject])),
      'dry-run Deployment',
    );
    expect(warnings(r.stderr)).toEqual([]);
    // the control: a template that is not restricted draws the warning in the same namespace
    const bad = structuredClone(d);
    bad.spec!.template.spec!.containers[0]!.securityContext!.allowPrivilegeEscalation = true;
    const w = ok(
      kubectl(['apply', '-n', ns, '--dry-run=server', '-f', '-'], toYaml([bad as unknown as KubeObject])),
      'dry-run bad Deployment',
    );
    expect(w.stderr).toContain('would violate PodSecurity "restricted');
  });

  it('a Pod built from its template is admitted where restricted is enforced', async () => {
    const ns = await createNamespace('deploy-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const template = deployment().spec!.template;
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hostns-operator-from-template', namespace: ns, labels: template.metadata!.labels! },
      spec: template.spec!,
    };
    const created = await core().createNamespacedPod({ namespace: ns, body: pod, dryRun: 'All' });
    expect(created.spec?.securityContext?.runAsNonRoot).toBe(true);
    // the control: with a host namespace the same pod is refused
    const hostPod = structuredClone(pod);
    hostPod.spec!.hostNetwork = true;
    const r = kubectl(['create', '-n', ns, '--dry-run=server', '-f', '-'], toYaml([hostPod as unknown as KubeObject]));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest": host namespaces/);
  });

  it('kubectl hostns scan finds no uncovered host-namespace use in the rendered config', () => {
    const file = join(scratch, 'config-default.yaml');
    writeFileSync(file, toYaml(rendered));
    const scan = (path: string) =>
      spawnSync(process.execPath, [join(repoRoot, 'src/cli/kubectl-hostns.ts'), 'scan', path, '-o', 'json'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const r = scan(file);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { complete: boolean; findings: unknown[]; objects: number };
    expect(report).toMatchObject({ complete: true, findings: [] });
    expect(report.objects).toBe(rendered.length);
    // the control: the same config with hostNetwork on is a finding
    const bad = join(scratch, 'config-default-hostnetwork.yaml');
    const d = structuredClone(deployment());
    d.spec!.template.spec!.hostNetwork = true;
    writeFileSync(bad, toYaml(rendered.map((o) => (o.kind === 'Deployment' ? (d as unknown as KubeObject) : o))));
    expect(scan(bad).status).toBe(1);
  });
});

describe('upgrade (docs/install.md)', () => {
  it(
    're-applying config/default keeps what the operator wrote into the grants (no grants object is shipped)',
    { timeout: 180_000 },
    async () => {
      const ns = await createNamespace('deploy-upgrade');
      const grant = {
        exception: 'agent',
        allow: ['hostNetwork'],
        expiresAt: '2099-01-01T00:00:00Z',
        selector: { matchLabels: { app: 'agent' } },
      };
      const ids = { group: 'hostns.io', version: 'v1alpha1', plural: 'hostnamespacegrantsets', namespace: ns };
      await customObjects().createNamespacedCustomObject({
        ...ids,
        body: {
          apiVersion: 'hostns.io/v1alpha1',
          kind: 'HostNamespaceGrantSet',
          metadata: { name: 'grants' },
          spec: { grants: [grant] },
        },
      });
      ok(k(['apply', '-k', 'config/default']), 're-apply config/default');
      const after = (await customObjects().getNamespacedCustomObject({ ...ids, name: 'grants' })) as {
        spec: { grants: unknown[] };
      };
      expect(after.spec.grants).toEqual([grant]);
    },
  );
});

describe('uninstall (docs/install.md)', () => {
  it(
    'backs up the exceptions, removes the operator marks from pods, and removes everything but the CRDs',
    { timeout: 300_000 },
    async () => {
      const ns = await createNamespace('deploy-uninstall');
      // an exception to back up, and pods as the operator marked them
      const exception = parseObjects(`
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: node-agent, namespace: ${ns}}
spec:
  owner: team-a
  allow: [hostNetwork]
  podSelector: {matchLabels: {app: agent}}
  riskAcceptance: {justification: the node agent binds ports on the node network, acceptedBy: security-board}
  expiresAt: "${new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z')}"
`)[0]!;
      ok(kubectl(['apply', '-f', '-'], toYaml([exception])), 'create exception');
      const marked = (name: string, labels: Record<string, string>, annotations: Record<string, string>): V1Pod => ({
        metadata: { name, labels, annotations: { ...annotations, 'keep-me': 'yes' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      await core().createNamespacedPod({
        namespace: ns,
        body: marked('offender', { 'hostns.io/violation': 'true' }, { 'hostns.io/violation': 'hostPID' }),
      });
      await core().createNamespacedPod({
        namespace: ns,
        body: marked('covered', { 'hostns.io/exception': 'node-agent' }, { 'hostns.io/exceptions': 'node-agent' }),
      });

      // 1. back up the exceptions
      const backup = ok(k(['get', 'hostnamespaceexceptions', '-A', '-o', 'yaml']), 'backup');
      expect(backup.stdout).toContain(`name: node-agent`);
      // 2. stop the operator, so that it does not mark pods again
      ok(k(['-n', OPERATOR_NAMESPACE, 'delete', 'deployment', OPERATOR_NAME]), 'delete the Deployment');
      // 3. remove the marks (annotations first: the labels select the pods)
      ok(k(['annotate', 'pods', '-A', '-l', 'hostns.io/violation', 'hostns.io/violation-']), 'annotate violation-');
      ok(k(['label', 'pods', '-A', '-l', 'hostns.io/violation', 'hostns.io/violation-']), 'label violation-');
      ok(k(['annotate', 'pods', '-A', '-l', 'hostns.io/exception', 'hostns.io/exceptions-']), 'annotate exceptions-');
      ok(k(['label', 'pods', '-A', '-l', 'hostns.io/exception', 'hostns.io/exception-']), 'label exception-');
      for (const name of ['offender', 'covered']) {
        const pod = await core().readNamespacedPod({ name, namespace: ns });
        expect(
          Object.keys(pod.metadata?.labels ?? {}).filter((key) => key.startsWith('hostns.io/')),
          name,
        ).toEqual([]);
        expect(pod.metadata?.annotations, name).toEqual({ 'keep-me': 'yes' });
      }
      // 4. everything but the CRDs
      for (const r of uninstallKeepingCrds()) ok(r, 'uninstall');
      const left = k(
        ['get', '-f', '-', '--ignore-not-found', '-o', 'name'],
        toYaml(rendered.filter((o) => o.kind !== 'CustomResourceDefinition')),
      );
      expect(left.stdout.trim(), 'objects left after the uninstall').toBe('');
      await eventually(
        async () =>
          (await core().listNamespace()).items.some((n) => n.metadata?.name === OPERATOR_NAMESPACE) ? undefined : true,
        120_000,
        'namespace hostns-system gone',
      );
      // the exceptions stay while the CRDs do
      expect(k(['get', 'hostnamespaceexceptions', 'node-agent', '-n', ns, '-o', 'name']).stdout.trim()).toBe(
        'hostnamespaceexception.hostns.io/node-agent',
      );
      // and a backup restores them once deleted (here of this test's namespace only: -A would
      // re-apply other test files' leftovers)
      const file = join(scratch, 'exceptions-backup.yaml');
      writeFileSync(file, ok(k(['get', 'hostnamespaceexceptions', '-n', ns, '-o', 'yaml']), 'backup').stdout);
      ok(k(['delete', 'hostnamespaceexceptions', '--all', '-n', ns]), 'delete the exceptions');
      ok(k(['apply', '-f', file]), 'restore');
      const restored = (await customObjects().getNamespacedCustomObject({
        group: 'hostns.io',
        version: 'v1alpha1',
        plural: 'hostnamespaceexceptions',
        namespace: ns,
        name: 'node-agent',
      })) as KubeObject & { spec: unknown };
      expect(restored.spec).toEqual(exception.spec);
    },
  );
});
