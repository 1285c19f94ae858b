// The kustomize config, rendered as `kubectl apply -k` renders it, checked without a cluster: the
// Deployment's shape (replicas, leader election, probes, resources, restricted security context),
// the namespace's Pod Security labels, least-privilege RBAC, metrics Service and the optional
// Prometheus component. test/deploy/install.it.test.ts proves the same config on the API server.
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Deployment,
  V1Namespace,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1Service,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCommand } from '../../src/main.ts';
import {
  EXCEPTION_NAMESPACE_LABEL,
  parseExceptionNamespaces,
  whereExceptionsMayGo,
} from '../../src/policy/namespaces.ts';
import {
  find,
  OPERATOR_NAME,
  OPERATOR_NAMESPACE,
  readObjects,
  render,
  renderOverlay,
  repoRoot,
  type KubeObject,
} from './manifests.ts';

const as = <T>(o: KubeObject) => o as unknown as T;
const manager = render('config/manager');
const deployment = as<V1Deployment>(find(manager, 'Deployment', OPERATOR_NAME));
const podSpec = deployment.spec!.template.spec!;
const container = podSpec.containers.find((c) => c.name === 'manager')!;

/** Memory quantity in bytes (the binary suffixes we use). */
function bytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1);
}

describe('config/manager: namespace', () => {
  it('labels hostns-system for Pod Security Admission restricted (enforce, audit, warn)', () => {
    const ns = as<V1Namespace>(find(manager, 'Namespace', OPERATOR_NAMESPACE));
    for (const mode of ['enforce', 'audit', 'warn']) {
      expect(ns.metadata!.labels).toHaveProperty([`pod-security.kubernetes.io/${mode}`], 'restricted');
    }
  });
});

describe('config/manager: Deployment', () => {
  it('runs 2 replicas with leader election, identity and Lease namespace from the downward API', () => {
    expect(deployment.metadata!.namespace).toBe(OPERATOR_NAMESPACE);
    expect(deployment.spec!.replicas).toBe(2);
    expect(container.args).toContain('--leader-elect');
    expect(container.args).toContain('--http-port=8080');
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
    expect(env.POD_NAME?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env.POD_NAMESPACE?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
  });

  it('passes only flags the operator defines, and env the flags read (src/main.ts)', () => {
    const options = buildCommand().options;
    const known = options.map((o) => o.long);
    for (const arg of container.args ?? []) expect(known, arg).toContain(arg.split('=')[0]);
    // the downward API feeds the Lease identity and namespace
    const envOf = (flag: string) => options.find((o) => o.long === flag)?.envVar;
    expect(envOf('--identity')).toBe('POD_NAME');
    expect(envOf('--lease-namespace')).toBe('POD_NAMESPACE');
  });

  it("uses the exception policy's maximum lifetime as --max-lifetime", () => {
    const days = Number(
      /^--max-lifetime=(\d+)d$/.exec((container.args ?? []).find((a) => a.startsWith('--max-lifetime='))!)?.[1],
    );
    const policy = find(
      render('config/exception-policy'),
      'ValidatingAdmissionPolicy',
      'hostns-exception-lifetime',
    ) as KubeObject & { spec: { variables: { name: string; expression: string }[] } };
    const first = policy.spec.variables[0]!;
    expect(first.name).toBe('maxLifetime');
    expect(first.expression).toBe(`duration('${days * 24}h')`);
  });

  it('exempts the namespaces the admission binding exempts', () => {
    const exempt = (container.args ?? [])
      .find((a) => a.startsWith('--exempt-namespaces='))!
      .split('=')[1]!
      .split(',')
      .sort();
    const binding = find(
      render('config/admission'),
      'ValidatingAdmissionPolicyBinding',
      'hostns-host-namespaces',
    ) as KubeObject & {
      spec: {
        matchResources: {
          namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
        };
      };
    };
    const notIn = binding.spec.matchResources.namespaceSelector.matchExpressions.find(
      (e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
    );
    expect(notIn?.values.slice().sort()).toEqual(exempt);
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the 8080 port', () => {
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('requests and limits CPU and memory, and bounds the V8 heap below the memory limit', () => {
    const { requests, limits } = container.resources as {
      requests: Record<string, string>;
      limits: Record<string, string>;
    };
    expect(Object.keys(requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(limits).sort()).toEqual(['cpu', 'memory']);
    // ~150k pods at <= 1 KiB each in the cache, plus the runtime, fit the request
    expect(bytes(requests.memory!)).toBeGreaterThanOrEqual(150_000 * 1024 + 64 * 1024 ** 2);
    expect(bytes(limits.memory!)).toBeGreaterThanOrEqual(2 * bytes(requests.memory!));
    const heap = /--max-old-space-size=(\d+)/.exec(container.env!.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '');
    expect(heap).not.toBeNull();
    expect(Number(heap![1]) * 1024 ** 2).toBeLessThan(bytes(limits.memory!));
  });

  it('has a restricted security context and a read-only root filesystem', () => {
    expect(podSpec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(podSpec.securityContext!.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext!.capabilities!.add).toBeUndefined();
  });

  it('uses no host namespace, host port or host path, and mounts its token', () => {
    expect(podSpec.hostNetwork ?? false).toBe(false);
    expect(podSpec.hostPID ?? false).toBe(false);
    expect(podSpec.hostIPC ?? false).toBe(false);
    expect(podSpec.containers.flatMap((c) => c.ports ?? []).filter((p) => p.hostPort)).toEqual([]);
    expect((podSpec.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
    expect(podSpec.serviceAccountName).toBe(OPERATOR_NAME);
    expect(podSpec.automountServiceAccountToken).toBe(true);
  });

  it('runs the image as the numeric user the Dockerfile sets', () => {
    expect(podSpec.securityContext!.runAsUser).toBe(1000);
    expect(podSpec.securityContext!.runAsGroup).toBe(1000);
  });
});

describe('config/manager: metrics Service', () => {
  it('selects the operator pods and targets the http port', () => {
    const svc = as<V1Service>(find(manager, 'Service', 'hostns-operator-metrics'));
    const template = deployment.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(svc.spec!.selector!)) expect(template[k], k).toBe(v);
    expect(svc.spec!.ports).toEqual([{ name: 'http-metrics', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });
});

describe('config/rbac: the operator', () => {
  const rules = (o: { rules?: V1PolicyRule[] }) =>
    (o.rules ?? [])
      .flatMap((r) =>
        (r.resources ?? []).flatMap((res) =>
          r.verbs.map(
            (v) =>
              `${(r.apiGroups ?? [''])[0] || 'core'}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}:${v}`,
          ),
        ),
      )
      .sort();

  it('ClusterRole grants exactly what the operator needs', () => {
    const role = as<V1ClusterRole>(find(readObjects('config/rbac/role.yaml'), 'ClusterRole', OPERATOR_NAME));
    expect(rules(role)).toEqual(
      [
        'core/pods:get',
        'core/pods:list',
        'core/pods:watch',
        'core/pods:patch',
        'hostns.io/hostnamespaceexceptions:get',
        'hostns.io/hostnamespaceexceptions:list',
        'hostns.io/hostnamespaceexceptions:watch',
        'hostns.io/hostnamespaceexceptions/status:get',
        'hostns.io/hostnamespaceexceptions/status:update',
        'hostns.io/hostnamespaceexceptions/status:patch',
        'hostns.io/hostnamespacegrantsets:get',
        'hostns.io/hostnamespacegrantsets:list',
        'hostns.io/hostnamespacegrantsets:watch',
        'hostns.io/hostnamespacegrantsets:create',
        'hostns.io/hostnamespacegrantsets[grants]:update',
        'hostns.io/hostnamespacegrantsets[grants]:patch',
        'hostns.io/hostnamespacegrantsets[grants]:delete',
        'hostns.io/hostnamespacegrantindexes:get',
        'hostns.io/hostnamespacegrantindexes:list',
        'hostns.io/hostnamespacegrantindexes:watch',
        'hostns.io/hostnamespacegrantindexes:create',
        'hostns.io/hostnamespacegrantindexes[cluster]:update',
        'hostns.io/hostnamespacegrantindexes[cluster]:patch',
        'core/namespaces:list',
        'core/namespaces:watch',
        'networking.k8s.io/networkpolicies:list',
        'networking.k8s.io/networkpolicies:watch',
        'events.k8s.io/events:create',
        'apps/replicasets:list',
        'apps/replicasets:watch',
        'batch/jobs:list',
        'batch/jobs:watch',
        'core/events:list',
        'core/events:watch',
      ].sort(),
    );
    expect(role.aggregationRule).toBeUndefined();
  });

  it('Role grants the Lease hostns-operator in hostns-system only', () => {
    const role = as<V1Role>(
      find(readObjects('config/rbac/leader_election_role.yaml'), 'Role', 'hostns-operator-leader-election'),
    );
    expect(role.metadata!.namespace).toBe(OPERATOR_NAMESPACE);
    expect(rules(role)).toEqual(
      [
        'coordination.k8s.io/leases:create',
        'coordination.k8s.io/leases[hostns-operator]:get',
        'coordination.k8s.io/leases[hostns-operator]:update',
      ].sort(),
    );
  });

  it('binds both to the operator ServiceAccount', () => {
    const subject = [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace: OPERATOR_NAMESPACE }];
    const crb = as<V1ClusterRoleBinding>(
      find(readObjects('config/rbac/role_binding.yaml'), 'ClusterRoleBinding', OPERATOR_NAME),
    );
    expect(crb.subjects).toEqual(subject);
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_NAME });
    const rb = as<V1RoleBinding>(
      find(
        readObjects('config/rbac/leader_election_role_binding.yaml'),
        'RoleBinding',
        'hostns-operator-leader-election',
      ),
    );
    expect(rb.subjects).toEqual(subject);
    expect(rb.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'hostns-operator-leader-election',
    });
  });
});

describe('config/default', () => {
  const parts = ['config/crd', 'config/rbac/exception-roles.yaml', 'config/admission', 'config/exception-policy'];
  const missing = parts.filter((p) => !existsSync(join(repoRoot, p)));

  it('has every part it brings together', () => {
    expect(missing, 'parts owned by other engineers that are not written yet').toEqual([]);
  });

  it.skipIf(missing.length > 0)(
    'puts every namespaced object into hostns-system and labels everything part-of hostns-operator',
    () => {
      const objects = render('config/default');
      const clusterScoped = new Set([
        'Namespace',
        'CustomResourceDefinition',
        'ClusterRole',
        'ClusterRoleBinding',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'HostNamespaceGrantIndex',
      ]);
      for (const o of objects) {
        const id = `${o.kind}/${o.metadata.name}`;
        if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, id).toBeUndefined();
        else expect(o.metadata.namespace, id).toBe(OPERATOR_NAMESPACE);
        expect(o.metadata.labels?.['app.kubernetes.io/part-of'], id).toBe('hostns-operator');
      }
      // the pieces a user expects after `kubectl apply -k config/default`
      const kinds = new Set(objects.map((o) => o.kind));
      for (const kind of [
        'Namespace',
        'CustomResourceDefinition',
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'Deployment',
        'Service',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ]) {
        expect(kinds, kind).toContain(kind);
      }
      find(objects, 'CustomResourceDefinition', 'hostnamespaceexceptions.hostns.io');
      find(objects, 'CustomResourceDefinition', 'hostnamespacegrantsets.hostns.io');
      // no credentials shipped, and selectors untouched by the part-of label
      expect(kinds.has('Secret')).toBe(false);
      const d = as<V1Deployment>(find(objects, 'Deployment', OPERATOR_NAME));
      expect(d.spec!.selector.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    },
  );
});

describe('an install overlay (docs/install.md)', () => {
  it('points the Deployment at your registry with kustomize `images`', () => {
    const objects = renderOverlay({
      resources: ['config/default'],
      images: [{ name: 'hostns-operator', newName: 'registry.example.com/platform/hostns-operator', newTag: '0.1.0' }],
    });
    const d = as<V1Deployment>(find(objects, 'Deployment', OPERATOR_NAME));
    expect(d.spec!.template.spec!.containers.map((c) => c.image)).toEqual([
      'registry.example.com/platform/hostns-operator:0.1.0',
    ]);
  });
  it('switches admission to the warn rollout mode with its component', () => {
    const objects = renderOverlay({ resources: ['config/default'], components: ['config/admission/modes/warn'] });
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding', 'hostns-host-namespaces') as KubeObject & {
      spec: { validationActions: string[] };
    };
    expect(binding.spec.validationActions).toEqual(['Warn', 'Audit']);
  });
});

describe('config/prometheus (optional component)', () => {
  // as docs/install.md enables it: an overlay of config/default with the component
  const objects = renderOverlay({ resources: ['config/default'], components: ['config/prometheus'] });

  it('adds a ServiceMonitor that selects the metrics Service by its labels and port name', () => {
    const sm = find(objects, 'ServiceMonitor', OPERATOR_NAME) as KubeObject & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: { matchNames: string[] };
        endpoints: { port: string; path: string }[];
      };
    };
    const svc = as<V1Service>(find(objects, 'Service', 'hostns-operator-metrics'));
    expect(sm.metadata.namespace).toBe(OPERATOR_NAMESPACE);
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata!.labels?.[k], k).toBe(v);
    expect(sm.spec.namespaceSelector.matchNames).toEqual([OPERATOR_NAMESPACE]);
    expect(sm.spec.endpoints.map((e) => [e.port, e.path])).toEqual([[svc.spec!.ports![0]!.name, '/metrics']]);
    // the operator's `namespace` label (of an exception, of offenders) is kept, not renamed exported_namespace
    expect((sm.spec.endpoints[0] as { honorLabels?: boolean }).honorLabels).toBe(true);
  });

  // Every alert's behaviour: test/prometheus/alerts.test.ts (promtool test rules).
  it('adds alert rules: exception expiring within 7 days, offender pods, operator down / not ready / absent', () => {
    const rule = find(objects, 'PrometheusRule', OPERATOR_NAME) as KubeObject & {
      spec: { groups: { rules: { alert: string; expr: string }[] }[] };
    };
    expect(rule.metadata.namespace).toBe(OPERATOR_NAMESPACE);
    const alerts = Object.fromEntries(
      rule.spec.groups.flatMap((g) => g.rules).map((r) => [r.alert, r.expr.replace(/\s+/g, ' ').trim()]),
    );
    expect(alerts.HostnsExceptionExpiringSoon).toBe(
      'min by (namespace, exception) (hostns_exception_expiry_timestamp_seconds) - time() < 7 * 86400 > 0',
    );
    expect(alerts.HostnsOffenderPods).toBe('max(hostns_pods{class="offender"}) > 0');
    // job label = the Service's name (the ServiceMonitor sets no jobLabel)
    expect(alerts.HostnsOperatorDown).toBe('up{job="hostns-operator-metrics"} == 0');
    expect(alerts.HostnsOperatorAbsent).toBe('absent(up{job="hostns-operator-metrics"} == 1)');
    expect(alerts.HostnsOperatorNotReady).toContain(
      'kube_deployment_status_replicas_available{namespace="hostns-system", deployment="hostns-operator"}',
    );
  });

  it('is not part of config/default unless asked for', () => {
    expect(render('config/default').some((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule')).toBe(
      false,
    );
  });
});

describe('config/admission: hostns-grants-required matches what hostns-host-namespaces matches', () => {
  type Policy = KubeObject & { spec: { matchConstraints: unknown; matchConditions: unknown; failurePolicy: string } };
  type Binding = KubeObject & { spec: { matchResources: unknown; validationActions: string[] } };
  const objects = render('config/admission');
  const policy = find(objects, 'ValidatingAdmissionPolicy', 'hostns-host-namespaces') as Policy;
  const required = find(objects, 'ValidatingAdmissionPolicy', 'hostns-grants-required') as Policy;

  it('same resources, same matchConditions (copied: one policy has one param kind), same failurePolicy', () => {
    expect(required.spec.matchConstraints).toEqual(policy.spec.matchConstraints);
    expect(required.spec.matchConditions).toEqual(policy.spec.matchConditions);
    expect(required.spec.failurePolicy).toBe(policy.spec.failurePolicy);
  });

  it.each([[[]], [['config/admission/modes/warn']], [['config/admission/modes/deny']]])(
    'same exempt namespaces and actions (components %j)',
    (components) => {
      const rendered = components.length ? renderOverlay({ resources: ['config/admission'], components }) : objects;
      const a = find(rendered, 'ValidatingAdmissionPolicyBinding', 'hostns-host-namespaces') as Binding;
      const b = find(rendered, 'ValidatingAdmissionPolicyBinding', 'hostns-grants-required') as Binding;
      expect(b.spec.matchResources).toEqual(a.spec.matchResources);
      expect(b.spec.validationActions).toEqual(a.spec.validationActions);
    },
  );
});

describe('config/exception-namespaces (optional component)', () => {
  const objects = renderOverlay({ resources: ['config/default'], components: ['config/exception-namespaces'] });
  const deployment = as<V1Deployment>(find(objects, 'Deployment', OPERATOR_NAME));
  const args = deployment.spec!.template.spec!.containers[0]!.args ?? [];

  it('turns on the operator flag with the label the policies check, one the operator parses', () => {
    const flag = args.find((a) => a.startsWith('--exception-namespace-label='));
    expect(flag).toBe(`--exception-namespace-label=${EXCEPTION_NAMESPACE_LABEL}`);
    const setting = parseExceptionNamespaces(flag!.split('=').slice(1).join('='), 'flag')!;
    const policy = find(objects, 'ValidatingAdmissionPolicy', 'hostns-exception-namespaces') as unknown as {
      spec: { variables: { expression: string }[]; validations: { expression: string; messageExpression: string }[] };
    };
    expect(policy.spec.variables[0]!.expression).toContain(`'${setting.key}'`);
    expect(policy.spec.validations[0]!.expression).toContain(`'${setting.value}'`);
    // The refusal ends with the operator's own words on where exceptions may go.
    const where = whereExceptionsMayGo(setting);
    expect(policy.spec.validations[0]!.messageExpression.replace(/'\s*\+\s*'/g, '')).toContain(where);
  });

  it('adds both policies with their bindings, denying; config/default alone has neither', () => {
    for (const name of ['hostns-exception-namespaces', 'hostns-exception-namespace-label']) {
      const binding = find(objects, 'ValidatingAdmissionPolicyBinding', name) as unknown as { spec: unknown };
      expect(binding.spec).toEqual({ policyName: name, validationActions: ['Deny'] });
    }
    const plain = render('config/default');
    expect(plain.some((o) => o.metadata.name.startsWith('hostns-exception-namespace'))).toBe(false);
    const plainArgs = as<V1Deployment>(find(plain, 'Deployment', OPERATOR_NAME)).spec!.template.spec!.containers[0]!
      .args;
    expect(plainArgs!.some((a) => a.startsWith('--exception-namespace-label'))).toBe(false);
  });
});
