// The shipped admission policy (config/admission) on the real API server, with no operator: the
// tests write the grants singleton themselves. The binding is narrowed to this run's labelled
// namespaces (see admission.ts); everything else is the shipped text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api } from '@kubernetes/client-node';
import type { Grant, HostNamespace } from '../../src/api/v1alpha1.ts';
import { HOST_NAMESPACES } from '../../src/api/v1alpha1.ts';
import { matchesSelector } from '../../src/policy/selector.ts';
import { rfc3339 } from '../../src/policy/grants.ts';
import { DateTime } from 'luxon';
import { core, createNamespace, eventually, kubeConfig, kubectl } from '../harness/kube.ts';
import {
  FUTURE,
  GUARD,
  PAST,
  POLICY,
  apply,
  buildAdmission,
  cronJobManifest,
  deleteGrants,
  deploymentManifest,
  expectedRefusal,
  grantsExist,
  podManifest,
  podSpec,
  scopedForTest,
  scopedNamespace,
  setGrants,
  sortLabels,
  tryCreate,
  uninstall,
} from './admission.ts';
import { SELECTOR_CASES } from './selector-cases.ts';



const VARIANTS: Record<string, HostNamespace[]> = {
  hostNetwork: ['hostNetwork'],
  hostPID: ['hostPID'],
  hostIPC: ['hostIPC'],
  all: ['hostNetwork', 'hostPID', 'hostIPC'],
};
const SCENARIOS = [
  'no exception',
  'exception allowing it',
  'exception allowing a different flag',
  'selector not matching',
  'exception in another namespace',
  'expired exception',
  'exempt namespace',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const KINDS = {
  Pod: podManifest,
  Deployment: deploymentManifest,
  CronJob: cronJobManifest,
} as const;

/** The flags a "different flag" grant allows: the others, or for all three, only hostNetwork. */
function differentFrom(flags: HostNamespace[]): HostNamespace[] {
  return flags.length === 1 ? HOST_NAMESPACES.filter((f) => f !== flags[0]) : ['hostNetwork'];
}

function grant(exception: string, allow: HostNamespace[], selector: Grant['selector'], expiresAt = FUTURE): Grant {
  return { exception, allow, expiresAt, selector: { matchLabels: {}, matchExpressions: [], ...selector } };
}

const labelsOf = (variant: string) => ({ app: 'web', variant });
const selectorOf = (variant: string): Grant['selector'] => ({
  matchLabels: { variant },
  matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }],
});

let manifests: ReturnType<typeof buildAdmission>;
let grantsExisted = false;
const ns = {} as Record<Scenario | 'other' | 'sentinel', string>;
/** Grants for the matrix; other tests add theirs and write all together (one singleton). */
let matrixGrants: Record<string, Grant[]> = {};

beforeAll(async () => {
  grantsExisted = await grantsExist();
  for (const s of SCENARIOS) ns[s] = await scopedNamespace('adm');
  ns.other = await scopedNamespace('adm-other');
  ns.sentinel = await scopedNamespace('adm-sentinel');
  manifests = scopedForTest(buildAdmission(), [ns['exempt namespace']]);
  apply(manifests);

  const per = (f: (v: string, flags: HostNamespace[]) => Grant) => Object.entries(VARIANTS).map(([v, flags]) => f(v, flags));
  matrixGrants = {
    [ns['exception allowing it']]: per((v, flags) => grant(`allow-${v}`, flags, selectorOf(v))),
    [ns['exception allowing a different flag']]: per((v, flags) => grant(`different-${v}`, differentFrom(flags), selectorOf(v))),
    [ns['selector not matching']]: per((v, flags) => grant(`elsewhere-${v}`, flags, { matchLabels: { variant: v, app: 'other' } })),
    [ns.other]: per((v, flags) => grant(`allow-${v}`, flags, selectorOf(v))),
    [ns['expired exception']]: per((v, flags) => grant(`expired-${v}`, flags, selectorOf(v), PAST)),
  };
  // A binding takes a moment to become effective: wait for a known refusal.
  await eventually(
    async () => ((await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), ns['no exception'], true)).admitted ? undefined : true),
    60_000,
    'the admission policy to refuse a hostNetwork pod',
  );
  await setGrants(matrixGrants, ns.sentinel);
});

afterAll(async () => {
  if (manifests) uninstall(manifests);
  // Leave the singleton as found: other test files (the operator's) expect to own it.
  if (grantsExisted) apply(buildAdmission().filter((m) => m.kind === 'HostNamespaceGrants'));
});

/** The labels the API server put on a Job's template, read back from the refusal message. */
function extraJobLabels(message: string): Record<string, string> {
  const m = /controller-uid=([0-9a-f-]{36})/.exec(message);
  if (!m) throw new Error(`no controller-uid label in: ${message}`);
  return { 'batch.kubernetes.io/controller-uid': m[1]!, 'batch.kubernetes.io/job-name': 't-job', 'controller-uid': m[1]!, 'job-name': 't-job' };
}

describe('the host namespace matrix', () => {
  for (const kind of Object.keys(KINDS) as (keyof typeof KINDS)[]) {
    for (const scenario of SCENARIOS) {
      const admitted = scenario === 'exception allowing it' || scenario === 'exempt namespace';
      it(`${kind}, ${scenario}: ${admitted ? 'admitted' : 'refused'} for each flag alone and all together`, async () => {
        const namespace = ns[scenario];
        for (const [variant, flags] of Object.entries(VARIANTS)) {
          const name = `${kind.toLowerCase()}-${variant.toLowerCase()}`;
          const decision = await tryCreate(KINDS[kind](name, labelsOf(variant), flags), namespace);
          if (admitted) {
            expect(decision, `${variant}`).toEqual({ admitted: true, message: '' });
            continue;
          }
          const uncovered = scenario === 'exception allowing a different flag' ? flags.filter((f) => !differentFrom(flags).includes(f)) : flags;
          const lapsed = scenario === 'expired exception' ? [`expired-${variant} (expired ${PAST})`] : [];
          expect(decision.admitted, variant).toBe(false);
          expect(decision.status).toBe(403);
          expect(decision.message).toBe(expectedRefusal(kind, name, namespace, uncovered, labelsOf(variant), lapsed));
        }
      });
    }
  }

  it('clean objects are admitted in every matrix namespace', async () => {
    for (const namespace of Object.values(ns)) {
      for (const [kind, make] of Object.entries(KINDS)) {
        expect(await tryCreate(make(`clean-${kind.toLowerCase()}`, { app: 'web' }, []), namespace), `${kind} in ${namespace}`).toEqual({ admitted: true, message: '' });
      }
    }
  });

  it('a refused Deployment is refused at kubectl apply, with the message', () => {
    const r = kubectl(['apply', '-n', ns['no exception'], '-f', '-'], JSON.stringify(deploymentManifest('by-kubectl', { app: 'agent' }, ['hostPID'])));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`deployments.apps "by-kubectl" is forbidden: ValidatingAdmissionPolicy 'hostns-host-namespaces'`);
    expect(sortLabels(r.stderr)).toContain(expectedRefusal('Deployment', 'by-kubectl', ns['no exception'], ['hostPID'], { app: 'agent' }));
  });

  it('covers the other pod templates: ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController', () => {
    const labels = { app: 'web', variant: 'hostNetwork' };
    const template = { metadata: { labels }, spec: podSpec(['hostNetwork']) };
    const jobTemplate = { metadata: { labels }, spec: podSpec(['hostNetwork'], 'Never') };
    const objects = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', spec: { selector: { matchLabels: labels }, template } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', spec: { serviceName: 's', selector: { matchLabels: labels }, template } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', spec: { selector: { matchLabels: labels }, template } },
      { apiVersion: 'batch/v1', kind: 'Job', spec: { template: jobTemplate } },
      { apiVersion: 'v1', kind: 'ReplicationController', spec: { selector: labels, template } },
    ];
    for (const o of objects) {
      const body = JSON.stringify({ ...o, metadata: { name: `t-${o.kind.toLowerCase()}` } });
      const refused = kubectl(['create', '-n', ns['no exception'], '-f', '-'], body);
      expect(refused.code, o.kind).not.toBe(0);
      // The API server adds job-name and controller-uid labels to a Job's template before
      // admission (its pods carry them too), so the message lists those as well.
      const jobLabels = o.kind === 'Job' ? extraJobLabels(refused.stderr) : {};
      expect(sortLabels(refused.stderr)).toContain(expectedRefusal(o.kind, `t-${o.kind.toLowerCase()}`, ns['no exception'], ['hostNetwork'], { ...labels, ...jobLabels }));
      const admitted = kubectl(['create', '-n', ns['exception allowing it'], '-f', '-'], body);
      expect(admitted.code, `${o.kind}: ${admitted.stderr}`).toBe(0);
    }
  });

  describe('the node exemption: only mirror pods, created by a node in group system:nodes', () => {
    // system:masters only to pass RBAC (no Node authorizer here); the policy sees the rest.
    const MIRROR = { 'kubernetes.io/config.mirror': 'a1b2c3' };
    const asNode = (user: string, groups: string[], obj: object) =>
      kubectl(['create', '--dry-run=server', '-n', ns['no exception'], '--as', user, ...groups.flatMap((g) => ['--as-group', g]), '-f', '-'], JSON.stringify(obj));
    const mirrorPod = (name: string, annotations: Record<string, string> = MIRROR) => {
      const pod = podManifest(name, { app: 'static' }, ['hostNetwork']);
      // The API server wants a mirror pod bound to its node.
      return { ...pod, metadata: { ...pod.metadata, annotations }, spec: { ...pod.spec, nodeName: 'node1' } };
    };
    const node = ['system:nodes', 'system:masters'];

    it('a mirror pod created by system:node:node1 in system:nodes is admitted', () => {
      const r = asNode('system:node:node1', node, mirrorPod('mirror'));
      expect(r.code, r.stderr).toBe(0);
    });

    it.each<[string, string, string[], object]>([
      ['a pod without the mirror annotation', 'system:node:node1', node, mirrorPod('plain', {})],
      ['a mirror pod from the empty node name system:node:', 'system:node:', node, mirrorPod('no-name')],
      ['a mirror pod from a node user outside group system:nodes', 'system:node:node1', ['system:masters'], mirrorPod('no-group')],
      ['a mirror pod from an ordinary user in system:nodes', 'node1', node, mirrorPod('not-a-node')],
      ['a DaemonSet with hostPID', 'system:node:node1', node, { ...deploymentManifest('ds', { app: 'static' }, ['hostPID']), kind: 'DaemonSet', spec: { selector: { matchLabels: { app: 'static' } }, template: deploymentManifest('ds', { app: 'static' }, ['hostPID']).spec.template } }],
      ['a Deployment, even annotated as a mirror', 'system:node:node1', node, { ...deploymentManifest('dep', { app: 'static' }, ['hostNetwork']), metadata: { name: 'dep', annotations: MIRROR } }],
      ['a CronJob', 'system:node:node1', node, cronJobManifest('cron', { app: 'static' }, ['hostIPC'])],
    ])('refused: %s', (_, user, groups, obj) => {
      const r = asNode(user, groups, obj);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toContain(`ValidatingAdmissionPolicy '${POLICY}'`);
      expect(r.stderr).toContain('and no active HostNamespaceException in namespace');
    });
  });

  it('the shipped binding exempts kube-system, as the operator does by default', () => {
    const binding = buildAdmission().find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === 'hostns-host-namespaces')!;
    expect(binding.spec).toMatchObject({
      validationActions: ['Deny', 'Audit'],
      paramRef: { name: 'cluster', parameterNotFoundAction: 'Allow' },
      matchResources: { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] } },
    });
    const deny = buildAdmission(['config/admission/modes/deny']).find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === 'hostns-host-namespaces')!;
    expect(deny.spec).toMatchObject({ validationActions: ['Deny', 'Audit'] });
  });
});

describe("the operator's own pod writes (hostns-operator-pod-writes)", () => {
  // Its ServiceAccount's username, as the shipped policy names it; system:masters only to pass RBAC,
  // so that the policy alone decides.
  const OPERATOR = 'system:serviceaccount:hostns-system:hostns-operator';
  const asOperator = (args: string[], input?: string) => kubectl([...args, '--as', OPERATOR, '--as-group', 'system:masters'], input);
  let namespace = '';

  beforeAll(async () => {
    namespace = await createNamespace('adm-operator');
    const pod = { ...podManifest('web', { app: 'web' }, []), metadata: { name: 'web', labels: { app: 'web' }, annotations: { note: 'kept' } } };
    const r = kubectl(['create', '-n', namespace, '-f', '-'], JSON.stringify(pod));
    expect(r.code, r.stderr).toBe(0);
    await eventually(() => {
      const probe = asOperator(['label', '--dry-run=server', '-n', namespace, 'pod/web', 'team=probe']);
      return probe.code !== 0 ? true : undefined;
    }, 30_000, 'the operator pod-writes policy to be enforced');
  });

  it('may add, change and remove hostns.io/ labels and annotations', () => {
    for (const args of [
      ['label', 'pod/web', 'hostns.io/violation=true'],
      ['annotate', 'pod/web', 'hostns.io/violation=hostNetwork'],
      ['label', '--overwrite', 'pod/web', 'hostns.io/violation=false'],
      ['label', 'pod/web', 'hostns.io/violation-', 'hostns.io/exception=agent'],
      ['annotate', 'pod/web', 'hostns.io/violation-', 'hostns.io/exceptions=agent'],
      ['patch', 'pod/web', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { 'hostns.io/exception': null, 'hostns.io/violation': 'true' } } })],
    ]) {
      const r = asOperator(['-n', namespace, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it.each<[string, string[], string]>([
    ['another label', ['label', 'pod/web', 'team=x'], 'may change only hostns.io/ labels of a pod; this update changes team'],
    ['an existing label', ['label', '--overwrite', 'pod/web', 'app=other'], 'this update changes app'],
    ['removing a label', ['label', 'pod/web', 'app-'], 'this update changes app'],
    ['another annotation', ['annotate', 'pod/web', 'note=changed', '--overwrite'], 'may change only hostns.io/ annotations of a pod; this update changes note'],
    ['the image', ['set', 'image', 'pod/web', 'c=busybox:1.37'], 'not its spec'],
    ['another spec field', ['patch', 'pod/web', '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":60}}'], 'not its spec'],
    ['a hostns.io/ label together with the image', ['patch', 'pod/web', '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/hostns.io~1violation","value":"x"},{"op":"replace","path":"/spec/containers/0/image","value":"busybox:1.37"}]'], 'not its spec'],
    ['a finalizer', ['patch', 'pod/web', '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}'], 'not its finalizers or owners'],
    ['the status subresource', ['patch', 'pod/web', '--subresource=status', '--type=merge', '-p', '{"status":{"message":"x"}}'], 'not UPDATE pods/status'],
    ['a deletion', ['delete', 'pod/web'], 'not DELETE pods'],
  ])('may not change %s', (_, args, says) => {
    const r = asOperator(['-n', namespace, '--dry-run=server', ...args]);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toContain("ValidatingAdmissionPolicy 'hostns-operator-pod-writes'");
    expect(r.stderr).toContain(says);
  });

  it('may not create a pod', () => {
    const r = asOperator(['create', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify(podManifest('new', { app: 'web' }, [])));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the hostns operator may only update pods');
  });

  it('binds the operator only: anyone else with the right may change the pod', () => {
    const image = kubectl(['set', 'image', '--dry-run=server', '-n', namespace, 'pod/web', 'c=busybox:1.37']);
    expect(image.code, image.stderr).toBe(0);
    const label = kubectl(['label', '--dry-run=server', '-n', namespace, 'pod/web', 'team=x', '--as', 'system:serviceaccount:hostns-system:other', '--as-group', 'system:masters']);
    expect(label.code, label.stderr).toBe(0);
  });
});

describe('the grants object', () => {
  it('is a singleton named cluster', () => {
    const r = kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'hostns.io/v1alpha1', kind: 'HostNamespaceGrants', metadata: { name: 'other' }, spec: { namespaces: {} } }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the grants object is a singleton and must be named cluster');
  });
});

describe('selector semantics', () => {
  it('the API server agrees with matchesSelector on every case of the table', async () => {
    const namespace = await scopedNamespace('adm-sel');
    // One grant per case; the case label keeps each pod to its own grant (an extra conjunct
    // every case pod satisfies, so it does not change the answer).
    const grants = SELECTOR_CASES.map((c, i) =>
      grant(`case-${i}`, ['hostNetwork'], {
        matchLabels: c.selector.matchLabels,
        matchExpressions: [...(c.selector.matchExpressions ?? []), { key: 'admission-test.example.com/case', operator: 'In', values: [String(i)] }],
      }),
    );
    // Selectors as people may write them reach the policy too: a grant without matchLabels.
    delete (grants[0]!.selector as { matchLabels?: unknown }).matchLabels;
    await setGrants({ ...matrixGrants, [namespace]: grants }, ns.sentinel);
    const disagreements: string[] = [];
    for (const [i, c] of SELECTOR_CASES.entries()) {
      const d = await tryCreate(podManifest(`case-${i}`, { ...c.labels, 'admission-test.example.com/case': String(i) }, ['hostNetwork']), namespace, true);
      if (!d.admitted) expect(d.message, c.what).toContain('uses hostNetwork, and no active HostNamespaceException');
      if (d.admitted !== matchesSelector(c.selector, c.labels)) disagreements.push(`${c.what}: API ${d.admitted}, matchesSelector ${!d.admitted}`);
    }
    expect(disagreements).toEqual([]);
    expect(SELECTOR_CASES.some((c) => c.matches) && SELECTOR_CASES.some((c) => !c.matches)).toBe(true);
  });

  it('the largest grant list the CRD allows for a namespace stays within CEL runtime cost limits', async () => {
    const namespace = await scopedNamespace('adm-big');
    // The CRD's limits: 64 grants, each with 32 matchLabels and 16 expressions of 64 values. The
    // pod satisfies everything but the last expression of the first 63 grants, so each is
    // evaluated in full; only the 64th matches, and it allows hostPID alone.
    const labels = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`key-${k}`, `value-${k}`]));
    const values = (without?: string) => Array.from({ length: 64 }, (_, v) => `value-${63 - v}`).map((v) => (v === without ? 'other' : v));
    const big = Array.from({ length: 64 }, (_, i) =>
      grant(`big-${String(i).padStart(2, '0')}`, i < 63 ? ['hostNetwork', 'hostPID', 'hostIPC'] : ['hostPID'], {
        matchLabels: labels,
        matchExpressions: Array.from({ length: 16 }, (_, e) => ({ key: `key-${e}`, operator: 'In' as const, values: values(i < 63 && e === 15 ? 'value-15' : undefined) })),
      }),
    );
    await setGrants({ ...matrixGrants, [namespace]: big }, ns.sentinel);
    expect(await tryCreate(podManifest('big', labels, ['hostPID']), namespace, true)).toEqual({ admitted: true, message: '' });
    const d = await tryCreate(podManifest('big', labels, ['hostNetwork', 'hostPID']), namespace, true);
    expect(d.message).toBe(expectedRefusal('Pod', 'big', namespace, ['hostNetwork'], labels));
  });

  it('a request cannot buy its way out with size: thousands of labels are still refused', async () => {
    // failurePolicy is Ignore, so a CEL error would admit: no cost may grow with the request.
    const labels = Object.fromEntries(Array.from({ length: 5000 }, (_, k) => [`label-${k}`, `value-${k}`.repeat(6)]));
    const pod = await tryCreate(podManifest('many-labels', labels, ['hostPID']), ns['no exception'], true);
    expect(pod.message).toBe(expectedRefusal('Pod', 'many-labels', ns['no exception'], ['hostPID'], labels));
    const dep = await tryCreate(deploymentManifest('many-labels', labels, ['hostPID']), ns['no exception'], true);
    expect(dep.message).toBe(expectedRefusal('Deployment', 'many-labels', ns['no exception'], ['hostPID'], labels));
  });

  it('several grants together cover a pod, each allowing one flag', async () => {
    const namespace = await scopedNamespace('adm-multi');
    await setGrants(
      {
        ...matrixGrants,
        [namespace]: [grant('net', ['hostNetwork'], { matchLabels: { app: 'agent' } }), grant('pid', ['hostPID'], { matchExpressions: [{ key: 'app', operator: 'Exists' }] })],
      },
      ns.sentinel,
    );
    expect(await tryCreate(podManifest('both', { app: 'agent' }, ['hostNetwork', 'hostPID']), namespace)).toEqual({ admitted: true, message: '' });
    const d = await tryCreate(podManifest('three', { app: 'agent' }, ['hostNetwork', 'hostPID', 'hostIPC']), namespace);
    expect(d.message).toBe(expectedRefusal('Pod', 'three', namespace, ['hostIPC'], { app: 'agent' }));
  });
});

describe('lapse, updates, missing param', () => {
  it('a grant whose expiresAt just passed refuses a new pod at once, with no operator running', async () => {
    const namespace = await scopedNamespace('adm-lapse');
    const expiresAt = rfc3339(DateTime.now().plus({ seconds: 15 }).startOf('second'));
    await setGrants({ ...matrixGrants, [namespace]: [grant('short', ['hostPID'], { matchLabels: { app: 'agent' } }, expiresAt)] }, ns.sentinel);
    const before = await tryCreate(podManifest('before', { app: 'agent' }, ['hostPID']), namespace);
    expect(before, `created before ${expiresAt}`).toEqual({ admitted: true, message: '' });
    const wait = Date.parse(expiresAt) + 1_000 - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    // The grant is still in the param object (nobody pruned it): its expiry alone refuses.
    const after = await tryCreate(podManifest('after', { app: 'agent' }, ['hostPID']), namespace);
    expect(after.message).toBe(expectedRefusal('Pod', 'after', namespace, ['hostPID'], { app: 'agent' }, [`short (expired ${expiresAt})`]));
  });

  it('updates: only a spec change is checked; old offenders can be scaled, labelled and deleted', async () => {
    const namespace = await scopedNamespace('adm-update');
    const labels = { app: 'agent' };
    await setGrants({ ...matrixGrants, [namespace]: [grant('agent', ['hostNetwork'], { matchLabels: labels })] }, ns.sentinel);
    expect(await tryCreate(deploymentManifest('agent', labels, ['hostNetwork']), namespace)).toEqual({ admitted: true, message: '' });
    expect(await tryCreate(podManifest('agent-pod', labels, ['hostNetwork']), namespace)).toEqual({ admitted: true, message: '' });
    // The exception goes away (the operator would prune its grant): both are now offenders.
    await setGrants(matrixGrants, ns.sentinel);
    const scaled = kubectl(['scale', '-n', namespace, 'deployment/agent', '--replicas=2']);
    expect(scaled.code, scaled.stderr).toBe(0);
    const labelled = kubectl(['label', '-n', namespace, 'deployment/agent', 'team=infra']);
    expect(labelled.code, labelled.stderr).toBe(0);
    // The garbage collector's kind of update: metadata only (generation unchanged).
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const dep = await apps.readNamespacedDeployment({ name: 'agent', namespace });
    dep.metadata!.finalizers = ['example.com/hold'];
    await apps.replaceNamespacedDeployment({ name: 'agent', namespace, body: dep });
    const unhold = kubectl(['patch', '-n', namespace, 'deployment/agent', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect(unhold.code, unhold.stderr).toBe(0);
    // Any spec change is checked: a rollout would create pods the policy refuses anyway.
    const replicas = kubectl(['patch', '-n', namespace, 'deployment/agent', '-p', '{"spec":{"replicas":5}}']);
    expect(replicas.code).not.toBe(0);
    const image = kubectl(['set', 'image', '-n', namespace, 'deployment/agent', 'c=busybox:1.37']);
    expect(image.code).not.toBe(0);
    expect(sortLabels(image.stderr)).toContain(expectedRefusal('Deployment', 'agent', namespace, ['hostNetwork'], labels));
    // What the operator does to offenders (labels) must never be refused.
    const label = kubectl(['label', '-n', namespace, 'pod/agent-pod', 'hostns.io/violation=true']);
    expect(label.code, label.stderr).toBe(0);
    const del = kubectl(['delete', '-n', namespace, 'deployment/agent', 'pod/agent-pod', '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
  });

  it('clean pods are admitted in every namespace, also with the param object missing', async () => {
    const unlabelled = await createNamespace('adm-plain');
    const everywhere = [...Object.values(ns), unlabelled, 'default', 'kube-system'];
    const cleanEverywhere = async (tag: string) => {
      for (const namespace of everywhere) {
        for (const [kind, make] of Object.entries(KINDS)) {
          const d = await tryCreate(make(`clean-${tag}-${kind.toLowerCase()}`, { app: 'web' }, []), namespace, true);
          expect(d, `${kind} in ${namespace} (${tag})`).toEqual({ admitted: true, message: '' });
        }
      }
    };
    await cleanEverywhere('with-param');

    // The guard refuses the deletion unless it is deliberate.
    const guarded = kubectl(['delete', 'hostnamespacegrants', 'cluster']);
    expect(guarded.code).not.toBe(0);
    expect(guarded.stderr).toContain(`ValidatingAdmissionPolicy '${GUARD}'`);
    expect(guarded.stderr).toContain('kubectl annotate hostnamespacegrants cluster hostns.io/allow-delete=true');

    deleteGrants();
    // parameterNotFoundAction Allow: the binding is skipped. Wait until the policy's informer
    // has seen the deletion (a host pod it refused gets in: the documented failure mode).
    await eventually(
      async () => ((await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), ns['no exception'], true)).admitted ? true : undefined),
      30_000,
      'the policy to notice the param object is gone',
    );
    await cleanEverywhere('without-param');

    // Reinstalled (as the operator or `kubectl apply -k config/admission` does), enforcement is back.
    apply(manifests.filter((m) => m.kind === 'HostNamespaceGrants'));
    await setGrants(matrixGrants, ns.sentinel);
    const d = await tryCreate(podManifest('again', { app: 'probe' }, ['hostNetwork']), ns['no exception']);
    expect(d.message).toBe(expectedRefusal('Pod', 'again', ns['no exception'], ['hostNetwork'], { app: 'probe' }));
  });
});

describe('warn mode', () => {
  it('admits an offender with a warning that kubectl prints', async () => {
    const warn = scopedForTest(buildAdmission(['config/admission/modes/warn']), [ns['exempt namespace']]);
    expect(warn.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === 'hostns-host-namespaces')!.spec).toMatchObject({
      validationActions: ['Warn', 'Audit'],
    });
    apply(warn);
    const namespace = ns['no exception'];
    const pod = (name: string) => JSON.stringify(podManifest(name, { app: 'agent' }, ['hostIPC']));
    // The binding change takes a moment: dry runs until the warning shows.
    await eventually(() => {
      const r = kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], pod('probe'));
      return r.code === 0 && r.stderr.includes('Warning:') ? true : undefined;
    }, 30_000, 'warn mode to take effect');
    const r = kubectl(['apply', '-n', namespace, '-f', '-'], pod('warned'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pod/warned created');
    expect(sortLabels(r.stderr)).toContain(
      `Warning: Validation failed for ValidatingAdmissionPolicy 'hostns-host-namespaces' with binding 'hostns-host-namespaces': ` +
        expectedRefusal('Pod', 'warned', namespace, ['hostIPC'], { app: 'agent' }),
    );
    const stored = await core().readNamespacedPod({ name: 'warned', namespace });
    expect(stored.spec?.hostIPC).toBe(true);
    // Back to deny for whatever runs after.
    apply(manifests);
    await eventually(
      async () => ((await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), namespace, true)).admitted ? undefined : true),
      30_000,
      'deny mode to be back',
    );
  });
});
