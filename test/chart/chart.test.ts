// The Helm chart, rendered by the real helm (built from its Go module): lint, the comparison with
// `kubectl kustomize config/default` (one source of truth: same objects, same specs), each value,
// and clear errors for bad values. test/chart/chart.it.test.ts installs it on a real API server.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { render, renderOverlay, repoRoot, type KubeObject } from '../deploy/manifests.ts';
import { ecosystemTool, run, TOOL_BUILD_TIMEOUT_MS } from '../harness/tools.ts';
import { byKey, CHART, HELM_LABELS, helmTemplate, key, withoutBlankLines, withoutHelmLabels } from './helm.ts';

let helm: string;
beforeAll(() => {
  helm = ecosystemTool('helm');
}, TOOL_BUILD_TIMEOUT_MS);

const template = (args: string[] = [], namespace?: string) => helmTemplate(helm, args, namespace);
// Rendered objects are checked field by field: `any` for their specs keeps the tests short.
type Obj = KubeObject & { spec?: any; subjects?: { kind: string; namespace?: string }[] };
const find = (objects: KubeObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${objects.map(key).join(', ')}`);
  return o as Obj;
};
const container = (objects: KubeObject[]) =>
  find(objects, 'Deployment', 'hostns-operator').spec.template.spec.containers[0];

/** Every object of `kustomized` is in `charted` with the same content but Helm's labels, and nothing else is. */
function expectSameObjects(charted: KubeObject[], kustomized: KubeObject[]): void {
  const chart = byKey(charted.map(withoutHelmLabels).map(withoutBlankLines));
  const kust = byKey(kustomized.map(withoutBlankLines));
  expect([...chart.keys()].sort()).toEqual([...kust.keys()].sort());
  for (const [k, o] of kust) expect(chart.get(k), k).toEqual(o);
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

/** Objects config/default installs that the chart does not: the Namespace (Helm's own), and the
 * empty grant index (a Helm-owned index would be reset or deleted by upgrades; the operator writes it). */
const HELM_LEAVES_OUT = ['Namespace', 'HostNamespaceGrantIndex'];

describe('chart sources: one truth with crds/ and config/', () => {
  it('crds/ holds the repository CRDs, byte for byte (run tools/ecosystem/sync-chart.sh after changing them)', () => {
    const crds = files(join(repoRoot, 'crds')).filter((f) => f.endsWith('.yaml'));
    expect(files(join(CHART, 'crds'))).toEqual(crds);
    for (const f of crds)
      expect(readFileSync(join(CHART, 'crds', f), 'utf8'), f).toBe(readFileSync(join(repoRoot, 'crds', f), 'utf8'));
  });

  it('files/ holds copies of config/ files, byte for byte (tools/ecosystem/sync-chart.sh refreshes them)', () => {
    const copies = files(join(CHART, 'files'));
    expect(copies.length).toBeGreaterThanOrEqual(15);
    for (const f of copies)
      expect(readFileSync(join(CHART, 'files', f), 'utf8'), f).toBe(readFileSync(join(repoRoot, 'config', f), 'utf8'));
  });
});

describe('helm lint', () => {
  it('passes with --strict', () => {
    const r = run(helm, ['lint', '--strict', CHART]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('helm template at default values = kubectl kustomize config/default', () => {
  const kustomized = render('config/default');

  it("renders the same objects with the same specs; only Helm labels differ, the Namespace is Helm's, the index the operator's", () => {
    const charted = template();
    // The release namespace is created by helm (--create-namespace) or beforehand (docs/install.md).
    expectSameObjects(
      charted,
      kustomized.filter((o) => !HELM_LEAVES_OUT.includes(o.kind)),
    );
    expect(kustomized.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).toEqual(['hostns-system']);
  });

  it("adds exactly Helm's standard labels to each templated object (CRDs are copied as they are)", () => {
    for (const o of template()) {
      const added = Object.keys(o.metadata.labels ?? {}).filter((k) => HELM_LABELS.includes(k));
      expect(added.sort(), key(o)).toEqual(o.kind === 'CustomResourceDefinition' ? [] : [...HELM_LABELS].sort());
    }
  });

  it('with the ServiceMonitor and PrometheusRule on = config/default + the config/prometheus component', () => {
    const charted = template([
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.prometheusRule.enabled=true',
    ]);
    const kust = renderOverlay({ resources: ['config/default'], components: ['config/prometheus'] }).filter(
      (o) => !HELM_LEAVES_OUT.includes(o.kind),
    );
    expectSameObjects(charted, kust);
  });

  it('with admission.mode=warn = config/default + the config/admission/modes/warn component', () => {
    const kust = renderOverlay({ resources: ['config/default'], components: ['config/admission/modes/warn'] }).filter(
      (o) => !HELM_LEAVES_OUT.includes(o.kind),
    );
    expectSameObjects(template(['--set', 'admission.mode=warn']), kust);
  });

  it('with exceptionNamespaces.enabled = config/default + the config/exception-namespaces component', () => {
    const kust = renderOverlay({ resources: ['config/default'], components: ['config/exception-namespaces'] }).filter(
      (o) => !HELM_LEAVES_OUT.includes(o.kind),
    );
    expectSameObjects(template(['--set', 'exceptionNamespaces.enabled=true']), kust);
  });

  it('exceptionNamespaces.platformGroups names who may set the namespace label', () => {
    const objects = template([
      '--set',
      'exceptionNamespaces.enabled=true',
      '--set',
      'exceptionNamespaces.platformGroups={platform-admins,oidc:sre}',
    ]);
    const guard = find(objects, 'ValidatingAdmissionPolicy', 'hostns-exception-namespace-label');
    expect(guard.spec.variables[0]).toEqual({ name: 'platformGroups', expression: "['platform-admins', 'oidc:sre']" });
    const off = template();
    expect(off.some((o) => o.metadata.name.startsWith('hostns-exception-namespace'))).toBe(false);
  });
});

describe('chart values', () => {
  it('admission.mode=off leaves out both host-namespace policies and bindings, keeps the guard and pod writes', () => {
    const objects = template(['--set', 'admission.mode=off']);
    const admission = objects
      .filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(admission.sort()).toEqual(
      [
        'ValidatingAdmissionPolicy/hostns-exception-lifetime',
        'ValidatingAdmissionPolicy/hostns-grants-guard',
        'ValidatingAdmissionPolicy/hostns-operator-pod-writes',
        'ValidatingAdmissionPolicyBinding/hostns-exception-lifetime',
        'ValidatingAdmissionPolicyBinding/hostns-grants-guard',
        'ValidatingAdmissionPolicyBinding/hostns-operator-pod-writes',
      ].sort(),
    );
  });

  it('policyReports.enabled: --policy-reports and config/openreports RBAC bound to the release namespace; off by default', () => {
    const off = template();
    expect(container(off).args).not.toContain('--policy-reports');
    expect(off.map(key)).not.toContain('ClusterRole/hostns-operator-openreports');
    const on = template(['--set', 'policyReports.enabled=true'], 'platform');
    expect(container(on).args).toContain('--policy-reports');
    expect(find(on, 'ClusterRole', 'hostns-operator-openreports').rules).toEqual([
      {
        apiGroups: ['openreports.io'],
        resources: ['reports'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
      },
    ]);
    expect(find(on, 'ClusterRoleBinding', 'hostns-operator-openreports').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'hostns-operator', namespace: 'platform' },
    ]);
  });

  it('ships no admission param: the operator writes every grants object and the index', () => {
    for (const mode of ['deny', 'warn', 'off']) {
      const kinds = template(['--set', `admission.mode=${mode}`]).map((o) => o.kind);
      expect(kinds, mode).not.toContain('HostNamespaceGrantSet');
      expect(kinds, mode).not.toContain('HostNamespaceGrantIndex');
    }
  });

  it('image: repository and tag, or a digest; pull policy and pull secrets', () => {
    let objects = template([
      '--set',
      'image.repository=registry.example.com/platform/hostns-operator',
      '--set',
      'image.tag=0.2.0',
      '--set',
      'image.pullPolicy=Always',
    ]);
    expect(container(objects).image).toBe('registry.example.com/platform/hostns-operator:0.2.0');
    expect(container(objects).imagePullPolicy).toBe('Always');
    const digest = `sha256:${'a'.repeat(64)}`;
    objects = template(['--set', `image.digest=${digest}`, '--set', 'imagePullSecrets[0].name=regcred']);
    expect(container(objects).image).toBe(`hostns-operator@${digest}`);
    expect(find(objects, 'Deployment', 'hostns-operator').spec.template.spec.imagePullSecrets).toEqual([
      { name: 'regcred' },
    ]);
  });

  it('replicas, resources, heap ceiling', () => {
    const objects = template([
      '--set',
      'replicas=3',
      '--set',
      'resources.limits.memory=2Gi',
      '--set',
      'heapMegabytes=1792',
    ]);
    expect(find(objects, 'Deployment', 'hostns-operator').spec.replicas).toBe(3);
    expect(container(objects).resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: '1', memory: '2Gi' },
    });
    expect(container(objects).env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=1792 --max-semi-space-size=16',
    });
  });

  it('exempt namespaces reach both admission bindings and the operator', () => {
    const bindings = ['hostns-host-namespaces', 'hostns-grants-required'];
    const objects = template(['--set', 'exemptNamespaces={kube-system,monitoring}']);
    for (const name of bindings) {
      const binding = find(objects, 'ValidatingAdmissionPolicyBinding', name);
      expect(binding.spec.matchResources.namespaceSelector.matchExpressions, name).toEqual([
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'monitoring'] },
      ]);
    }
    expect(container(objects).args).toContain('--exempt-namespaces=kube-system,monitoring');
    // none at all: NotIn needs a value, so the bindings match every namespace
    const none = template(['--set-json', 'exemptNamespaces=[]']);
    for (const name of bindings)
      expect(find(none, 'ValidatingAdmissionPolicyBinding', name).spec.matchResources, name).toBeUndefined();
    expect(container(none).args).toContain('--exempt-namespaces=');
  });

  it('admission.mode sets the actions of both host-namespace bindings', () => {
    for (const [mode, actions] of [
      ['deny', ['Deny', 'Audit']],
      ['warn', ['Warn', 'Audit']],
    ] as const) {
      const objects = template(['--set', `admission.mode=${mode}`]);
      for (const name of ['hostns-host-namespaces', 'hostns-grants-required'])
        expect(find(objects, 'ValidatingAdmissionPolicyBinding', name).spec.validationActions, name).toEqual(actions);
    }
  });

  it('policy durations reach the operator, and the maximum lifetime the exception policy too', () => {
    const objects = template([
      '--set',
      'policy.expiringSoon=14d',
      '--set',
      'policy.maxLifetime=30d',
      '--set',
      'policy.reviewInterval=1d12h',
    ]);
    expect(container(objects).args).toEqual(
      expect.arrayContaining(['--expiring-soon=14d', '--max-lifetime=30d', '--review-interval=1d12h']),
    );
    const policy = find(objects, 'ValidatingAdmissionPolicy', 'hostns-exception-lifetime');
    expect(policy.spec.variables[0]).toEqual({ name: 'maxLifetime', expression: "duration('720h')" });
  });

  it('extra labels on every templated object; pod labels and annotations on the pods only', () => {
    const objects = template([
      '--set',
      'extraLabels.team=platform',
      '--set',
      'podLabels.tier=control',
      '--set',
      'podAnnotations.note=x',
    ]);
    for (const o of objects.filter((x) => x.kind !== 'CustomResourceDefinition'))
      expect(o.metadata.labels?.team, key(o)).toBe('platform');
    const d = find(objects, 'Deployment', 'hostns-operator');
    expect(d.spec.template.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'hostns-operator',
      'app.kubernetes.io/component': 'manager',
      tier: 'control',
    });
    expect(d.spec.template.metadata.annotations).toEqual({ note: 'x' });
    expect(d.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'hostns-operator',
      'app.kubernetes.io/component': 'manager',
    });
  });

  it('metrics: the Service can be left out; ServiceMonitor labels and interval; the alert window in days', () => {
    expect(template(['--set', 'metrics.service.enabled=false']).some((o) => o.kind === 'Service')).toBe(false);
    const objects = template([
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.serviceMonitor.labels.release=prom',
      '--set',
      'metrics.serviceMonitor.interval=1m',
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      'metrics.prometheusRule.expiringWithinDays=14',
      '--set',
      'metrics.prometheusRule.labels.release=prom',
    ]);
    const sm = find(objects, 'ServiceMonitor', 'hostns-operator');
    expect(sm.metadata.labels?.release).toBe('prom');
    expect(sm.spec.endpoints[0].interval).toBe('1m');
    const rule = find(objects, 'PrometheusRule', 'hostns-operator');
    expect(rule.metadata.labels?.release).toBe('prom');
    const expiring = rule.spec.groups[0].rules.find(
      (r: { alert?: string }) => r.alert === 'HostnsExceptionExpiringSoon',
    );
    expect(expiring.expr).toContain('< 14 * 86400');
    expect(expiring.annotations.summary).toContain('expires within 14 days');
  });

  it('puts namespaced objects, RBAC subjects, the ServiceMonitor and alert selectors in the release namespace', () => {
    const objects = template(
      ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true'],
      'security',
    );
    const namespaced = objects.filter((o) => o.metadata.namespace !== undefined);
    expect(namespaced.length).toBeGreaterThanOrEqual(7);
    for (const o of namespaced) expect(o.metadata.namespace, key(o)).toBe('security');
    for (const o of objects as Obj[]) for (const s of o.subjects ?? []) expect(s.namespace, key(o)).toBe('security');
    expect(find(objects, 'ServiceMonitor', 'hostns-operator').spec.namespaceSelector.matchNames).toEqual(['security']);
    const notReady = find(objects, 'PrometheusRule', 'hostns-operator').spec.groups[0].rules.find(
      (r: { alert?: string }) => r.alert === 'HostnsOperatorNotReady',
    );
    expect(notReady.expr).toContain('namespace="security"');
    expect(notReady.expr).not.toContain('hostns-system');
    // the bound on pod writes names the operator's ServiceAccount in the release namespace
    const podWrites = find(objects, 'ValidatingAdmissionPolicy', 'hostns-operator-pod-writes');
    expect(podWrites.spec.matchConditions[0]).toEqual({
      name: 'by-the-operator',
      expression: "request.userInfo.username == 'system:serviceaccount:security:hostns-operator'",
    });
  });
});

describe("the chart's alert rules with changed values", () => {
  it(
    'pass `promtool check rules` (the window and namespace substitutions keep valid PromQL)',
    () => {
      const promtool = ecosystemTool('promtool');
      const objects = template(
        ['--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.prometheusRule.expiringWithinDays=30'],
        'security',
      );
      const rule = find(objects, 'PrometheusRule', 'hostns-operator');
      const dir = mkdtempSync(join(tmpdir(), 'hostns-chart-rules-'));
      try {
        writeFileSync(join(dir, 'rules.yaml'), stringify(rule.spec));
        const r = run(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain('SUCCESS: 8 rules found');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TOOL_BUILD_TIMEOUT_MS,
  );
});

describe('bad values: helm refuses them and names the value (values.schema.json)', () => {
  const refused = (args: string[]) => {
    try {
      template(args);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`helm accepted ${args.join(' ')}`);
  };

  it.each([
    [['--set', 'admission.mode=block'], 'admission.mode'],
    [['--set', 'admission.mode=Deny'], 'admission.mode'],
    [['--set', 'policy.expiringSoon=7 days'], 'policy.expiringSoon'],
    [['--set', 'policy.reviewInterval=-1d'], 'policy.reviewInterval'],
    [['--set', 'policy.maxLifetime=2160h'], 'policy.maxLifetime'],
    [['--set', 'policy.maxLifetime=0d'], 'policy.maxLifetime'],
    [['--set', 'replicas=-1'], 'replicas'],
    [['--set', 'replicas=two'], 'replicas'],
    [['--set', 'exemptNamespaces={Kube_System}'], 'exemptNamespaces'],
    [['--set', 'image.digest=latest'], 'image.digest'],
    [['--set', 'metrics.prometheusRule.expiringWithinDays=0'], 'metrics.prometheusRule.expiringWithinDays'],
    [['--set', 'metrics.serviceMonitor.enabeld=true'], 'enabeld'],
    [['--set', 'replica=3'], 'replica'],
    [['--set', 'semiSpaceMegabytes=0'], 'semiSpaceMegabytes'],
    [['--set', 'semiSpaceMegabytes=65'], 'semiSpaceMegabytes'],
    [['--set', 'semiSpaceMegabytes=two'], 'semiSpaceMegabytes'],
    [['--set', 'exceptionNamespaces.enabled=yes'], 'exceptionNamespaces.enabled'],
    [['--set', "exceptionNamespaces.platformGroups={it's}"], 'exceptionNamespaces.platformGroups'],
    [['--set-json', 'exceptionNamespaces.platformGroups=[]'], 'exceptionNamespaces.platformGroups'],
  ])('%j is refused naming %s', (args, field) => {
    const message = refused(args);
    expect(message).toContain("values don't meet the specifications of the schema");
    expect(message).toContain(field.split('.').at(-1));
  });
});
