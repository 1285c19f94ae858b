// The shipped admission policies (config/admission) on the real API server, with no operator: the
// tests write each namespace's grants object and the grant index themselves. The bindings are
// narrowed to this run's labelled namespaces (see admission.ts); everything else is the shipped text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api } from '@kubernetes/client-node';
import type { Grant, HostNamespace, LapsedGrant } from '../../src/api/v1alpha1.ts';
import { HOST_NAMESPACES } from '../../src/api/v1alpha1.ts';
import { matchesSelector } from '../../src/policy/selector.ts';
import { rfc3339 } from '../../src/policy/grants.ts';
import { DateTime } from 'luxon';
import { core, createNamespace, customObjects, eventually, kubeConfig, kubectl } from '../harness/clients.ts';
import {
  FUTURE,
  GUARD,
  PAST,
  POLICY,
  apply,
  buildAdmission,
  cronJobManifest,
  REQUIRED,
  deleteGuarded,
  deploymentManifest,
  expectedRefusal,
  indexed,
  podManifest,
  podSpec,
  scopedForTest,
  scopedNamespace,
  setGrants,
  setIndex,
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

/** A lapsed exception as the operator keeps it in spec.lapsed (src/policy/grants.ts lapsedOf). */
function lapsedEntry(
  exception: string,
  allow: HostNamespace[],
  selector: Grant['selector'],
  owner = `owner of ${exception}`,
  expiresAt = PAST,
): LapsedGrant {
  return { exception, owner, allow, expiresAt, selector: { matchLabels: {}, matchExpressions: [], ...selector } };
}
const named = (l: LapsedGrant) => `${l.exception} (owner: ${l.owner}, expired ${l.expiresAt})`;

/** The cost tests' pod labels: 16, as many as a selector's matchLabels may hold. */
const BIG_LABELS = Object.fromEntries(Array.from({ length: 16 }, (_, k) => [`key-${k}`, `value-${k}`]));
/**
 * A selector at the CRD's count limits (16 matchLabels, 8 expressions of 16 values) that selects a
 * pod with BIG_LABELS, or (`miss`) fails on the last value of its last expression only: either way
 * evaluated in full.
 */
function bigSelector(miss: boolean): Grant['selector'] {
  const values = Array.from({ length: 16 }, (_, v) => `value-${15 - v}`);
  return {
    matchLabels: BIG_LABELS,
    matchExpressions: Array.from({ length: 8 }, (_, e) => ({
      key: `key-${e}`,
      operator: 'In' as const,
      values: miss && e === 7 ? values.map((v) => (v === 'value-7' ? 'other' : v)) : values,
    })),
  };
}
/** 63 grants at the count limits (64 with setGrants' sentinel): 62 miss the pod, the 63rd allows it hostPID alone. */
const bigGrants = () =>
  Array.from({ length: 63 }, (_, i) =>
    grant(
      `big-${String(i).padStart(2, '0')}`,
      i < 62 ? ['hostNetwork', 'hostPID', 'hostIPC'] : ['hostPID'],
      bigSelector(i < 62),
    ),
  );

const labelsOf = (variant: string) => ({ app: 'web', variant });
const selectorOf = (variant: string): Grant['selector'] => ({
  matchLabels: { variant },
  matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }],
});

let manifests: ReturnType<typeof buildAdmission>;
const ns = {} as Record<Scenario | 'other', string>;
/** Each matrix namespace's grants object, as the operator would write it (empty: no exception). */
let matrixGrants: Record<string, Grant[]> = {};

beforeAll(async () => {
  for (const s of SCENARIOS) ns[s] = await scopedNamespace('adm');
  ns.other = await scopedNamespace('adm-other');
  manifests = scopedForTest(buildAdmission(), [ns['exempt namespace']]);
  apply(manifests);

  const per = (f: (v: string, flags: HostNamespace[]) => Grant) =>
    Object.entries(VARIANTS).map(([v, flags]) => f(v, flags));
  matrixGrants = {
    [ns['no exception']]: [],
    [ns['exception in another namespace']]: [],
    [ns['exception allowing it']]: per((v, flags) => grant(`allow-${v}`, flags, selectorOf(v))),
    [ns['exception allowing a different flag']]: per((v, flags) =>
      grant(`different-${v}`, differentFrom(flags), selectorOf(v)),
    ),
    [ns['selector not matching']]: per((v, flags) =>
      grant(`elsewhere-${v}`, flags, { matchLabels: { variant: v, app: 'other' } }),
    ),
    [ns.other]: per((v, flags) => grant(`allow-${v}`, flags, selectorOf(v))),
    [ns['expired exception']]: per((v, flags) => grant(`expired-${v}`, flags, selectorOf(v), PAST)),
  };
  // A binding takes a moment to become effective: wait for a known refusal (an empty index: no
  // namespace has grants yet, so hostns-grants-required refuses).
  await setIndex([]);
  await eventually(
    async () =>
      (await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), ns['no exception'], true)).admitted
        ? undefined
        : true,
    60_000,
    'the admission policy to refuse a hostNetwork pod',
  );
  await setGrants(matrixGrants);
});

afterAll(async () => {
  if (manifests) uninstall(manifests);
});

/** The labels the API server put on a Job's template, read back from the refusal message. */
function extraJobLabels(message: string): Record<string, string> {
  const m = /controller-uid=([0-9a-f-]{36})/.exec(message);
  if (!m) throw new Error(`no controller-uid label in: ${message}`);
  return {
    'batch.kubernetes.io/controller-uid': m[1]!,
    'batch.kubernetes.io/job-name': 't-job',
    'controller-uid': m[1]!,
    'job-name': 't-job',
  };
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
          const uncovered =
            scenario === 'exception allowing a different flag'
              ? flags.filter((f) => !differentFrom(flags).includes(f))
              : flags;
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
        expect(
          await tryCreate(make(`clean-${kind.toLowerCase()}`, { app: 'web' }, []), namespace),
          `${kind} in ${namespace}`,
        ).toEqual({ admitted: true, message: '' });
      }
    }
  });

  it('a refused Deployment is refused at kubectl apply, with the message', () => {
    const r = kubectl(
      ['apply', '-n', ns['no exception'], '-f', '-'],
      JSON.stringify(deploymentManifest('by-kubectl', { app: 'agent' }, ['hostPID'])),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `deployments.apps "by-kubectl" is forbidden: ValidatingAdmissionPolicy 'hostns-host-namespaces'`,
    );
    expect(sortLabels(r.stderr)).toContain(
      expectedRefusal('Deployment', 'by-kubectl', ns['no exception'], ['hostPID'], { app: 'agent' }),
    );
  });

  it('covers the other pod templates: ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController', () => {
    const labels = { app: 'web', variant: 'hostNetwork' };
    const template = { metadata: { labels }, spec: podSpec(['hostNetwork']) };
    const jobTemplate = { metadata: { labels }, spec: podSpec(['hostNetwork'], 'Never') };
    const objects = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', spec: { selector: { matchLabels: labels }, template } },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        spec: { serviceName: 's', selector: { matchLabels: labels }, template },
      },
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
      expect(sortLabels(refused.stderr)).toContain(
        expectedRefusal(o.kind, `t-${o.kind.toLowerCase()}`, ns['no exception'], ['hostNetwork'], {
          ...labels,
          ...jobLabels,
        }),
      );
      const admitted = kubectl(['create', '-n', ns['exception allowing it'], '-f', '-'], body);
      expect(admitted.code, `${o.kind}: ${admitted.stderr}`).toBe(0);
    }
  });

  describe('the node exemption: only mirror pods, created by a node in group system:nodes', () => {
    // system:masters only to pass RBAC (no Node authorizer here); the policy sees the rest.
    const MIRROR = { 'kubernetes.io/config.mirror': 'a1b2c3' };
    const asNode = (user: string, groups: string[], obj: object) =>
      kubectl(
        [
          'create',
          '--dry-run=server',
          '-n',
          ns['no exception'],
          '--as',
          user,
          ...groups.flatMap((g) => ['--as-group', g]),
          '-f',
          '-',
        ],
        JSON.stringify(obj),
      );
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
      [
        'a mirror pod from a node user outside group system:nodes',
        'system:node:node1',
        ['system:masters'],
        mirrorPod('no-group'),
      ],
      ['a mirror pod from an ordinary user in system:nodes', 'node1', node, mirrorPod('not-a-node')],
      [
        'a DaemonSet with hostPID',
        'system:node:node1',
        node,
        {
          ...deploymentManifest('ds', { app: 'static' }, ['hostPID']),
          kind: 'DaemonSet',
          spec: {
            selector: { matchLabels: { app: 'static' } },
            template: deploymentManifest('ds', { app: 'static' }, ['hostPID']).spec.template,
          },
        },
      ],
      [
        'a Deployment, even annotated as a mirror',
        'system:node:node1',
        node,
        {
          ...deploymentManifest('dep', { app: 'static' }, ['hostNetwork']),
          metadata: { name: 'dep', annotations: MIRROR },
        },
      ],
      ['a CronJob', 'system:node:node1', node, cronJobManifest('cron', { app: 'static' }, ['hostIPC'])],
    ])('refused: %s', (_, user, groups, obj) => {
      const r = asNode(user, groups, obj);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toContain(`ValidatingAdmissionPolicy '${POLICY}'`);
      expect(r.stderr).toContain('and no active HostNamespaceException in namespace');
    });
  });

  it('the shipped binding exempts kube-system, as the operator does by default', () => {
    const binding = buildAdmission().find(
      (m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === 'hostns-host-namespaces',
    )!;
    expect(binding.spec).toMatchObject({
      validationActions: ['Deny', 'Audit'],
      paramRef: { name: 'grants', parameterNotFoundAction: 'Allow' },
      matchResources: {
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
        },
      },
    });
    const deny = buildAdmission(['config/admission/modes/deny']).find(
      (m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === 'hostns-host-namespaces',
    )!;
    expect(deny.spec).toMatchObject({ validationActions: ['Deny', 'Audit'] });
  });
});

describe("the operator's own pod writes (hostns-operator-pod-writes)", () => {
  // Its ServiceAccount's username, as the shipped policy names it; system:masters only to pass RBAC,
  // so that the policy alone decides.
  const OPERATOR = 'system:serviceaccount:hostns-system:hostns-operator';
  const asOperator = (args: string[], input?: string) =>
    kubectl([...args, '--as', OPERATOR, '--as-group', 'system:masters'], input);
  let namespace = '';

  beforeAll(async () => {
    namespace = await createNamespace('adm-operator');
    const pod = {
      ...podManifest('web', { app: 'web' }, []),
      metadata: { name: 'web', labels: { app: 'web' }, annotations: { note: 'kept' } },
    };
    const r = kubectl(['create', '-n', namespace, '-f', '-'], JSON.stringify(pod));
    expect(r.code, r.stderr).toBe(0);
    await eventually(
      () => {
        const probe = asOperator(['label', '--dry-run=server', '-n', namespace, 'pod/web', 'team=probe']);
        return probe.code !== 0 ? true : undefined;
      },
      30_000,
      'the operator pod-writes policy to be enforced',
    );
  });

  it('may add, change and remove hostns.io/ labels and annotations', () => {
    for (const args of [
      ['label', 'pod/web', 'hostns.io/violation=true'],
      ['annotate', 'pod/web', 'hostns.io/violation=hostNetwork'],
      ['label', '--overwrite', 'pod/web', 'hostns.io/violation=false'],
      ['label', 'pod/web', 'hostns.io/violation-', 'hostns.io/exception=agent'],
      ['annotate', 'pod/web', 'hostns.io/violation-', 'hostns.io/exceptions=agent'],
      [
        'patch',
        'pod/web',
        '--type=merge',
        '-p',
        JSON.stringify({ metadata: { labels: { 'hostns.io/exception': null, 'hostns.io/violation': 'true' } } }),
      ],
    ]) {
      const r = asOperator(['-n', namespace, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it.each<[string, string[], string]>([
    [
      'another label',
      ['label', 'pod/web', 'team=x'],
      'may change only hostns.io/ labels of a pod; this update changes team',
    ],
    ['an existing label', ['label', '--overwrite', 'pod/web', 'app=other'], 'this update changes app'],
    ['removing a label', ['label', 'pod/web', 'app-'], 'this update changes app'],
    [
      'another annotation',
      ['annotate', 'pod/web', 'note=changed', '--overwrite'],
      'may change only hostns.io/ annotations of a pod; this update changes note',
    ],
    ['the image', ['set', 'image', 'pod/web', 'c=busybox:1.37'], 'not its spec'],
    [
      'another spec field',
      ['patch', 'pod/web', '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":60}}'],
      'not its spec',
    ],
    [
      'a hostns.io/ label together with the image',
      [
        'patch',
        'pod/web',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/metadata/labels/hostns.io~1violation","value":"x"},{"op":"replace","path":"/spec/containers/0/image","value":"busybox:1.37"}]',
      ],
      'not its spec',
    ],
    [
      'a finalizer',
      ['patch', 'pod/web', '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}'],
      'not its finalizers or owners',
    ],
    [
      'the status subresource',
      ['patch', 'pod/web', '--subresource=status', '--type=merge', '-p', '{"status":{"message":"x"}}'],
      'not UPDATE pods/status',
    ],
    ['a deletion', ['delete', 'pod/web'], 'not DELETE pods'],
  ])('may not change %s', (_, args, says) => {
    const r = asOperator(['-n', namespace, '--dry-run=server', ...args]);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toContain("ValidatingAdmissionPolicy 'hostns-operator-pod-writes'");
    expect(r.stderr).toContain(says);
  });

  it('may not create a pod', () => {
    const r = asOperator(
      ['create', '--dry-run=server', '-n', namespace, '-f', '-'],
      JSON.stringify(podManifest('new', { app: 'web' }, [])),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the hostns operator may only update pods');
  });

  it('binds the operator only: anyone else with the right may change the pod', () => {
    const image = kubectl(['set', 'image', '--dry-run=server', '-n', namespace, 'pod/web', 'c=busybox:1.37']);
    expect(image.code, image.stderr).toBe(0);
    const label = kubectl([
      'label',
      '--dry-run=server',
      '-n',
      namespace,
      'pod/web',
      'team=x',
      '--as',
      'system:serviceaccount:hostns-system:other',
      '--as-group',
      'system:masters',
    ]);
    expect(label.code, label.stderr).toBe(0);
  });
});

describe('the grants object', () => {
  it('is named grants in its namespace; the index is a singleton named cluster', () => {
    const r = kubectl(
      ['create', '-n', ns.other, '-f', '-'],
      JSON.stringify({
        apiVersion: 'hostns.io/v1alpha1',
        kind: 'HostNamespaceGrantSet',
        metadata: { name: 'other' },
        spec: { grants: [] },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the grants object of a namespace must be named grants');
    const i = kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'hostns.io/v1alpha1',
        kind: 'HostNamespaceGrantIndex',
        metadata: { name: 'other' },
        spec: { namespaces: {} },
      }),
    );
    expect(i.code).not.toBe(0);
    expect(i.stderr).toContain('the grant index is a singleton and must be named cluster');
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
        matchExpressions: [
          ...(c.selector.matchExpressions ?? []),
          { key: 'admission-test.example.com/case', operator: 'In', values: [String(i)] },
        ],
      }),
    );
    // Selectors as people may write them reach the policy too: a grant without matchLabels.
    delete (grants[0]!.selector as { matchLabels?: unknown }).matchLabels;
    await setGrants({ [namespace]: grants });
    const disagreements: string[] = [];
    for (const [i, c] of SELECTOR_CASES.entries()) {
      const d = await tryCreate(
        podManifest(`case-${i}`, { ...c.labels, 'admission-test.example.com/case': String(i) }, ['hostNetwork']),
        namespace,
        true,
      );
      if (!d.admitted) expect(d.message, c.what).toContain('uses hostNetwork, and no active HostNamespaceException');
      if (d.admitted !== matchesSelector(c.selector, c.labels))
        disagreements.push(`${c.what}: API ${d.admitted}, matchesSelector ${!d.admitted}`);
    }
    expect(disagreements).toEqual([]);
    expect(SELECTOR_CASES.some((c) => c.matches) && SELECTOR_CASES.some((c) => !c.matches)).toBe(true);
  });

  it('the largest grant list the CRD allows for a namespace stays within CEL runtime cost limits', async () => {
    const namespace = await scopedNamespace('adm-big');
    // The CRD's limits: 64 grants (63 here and setGrants' sentinel), each with 16 matchLabels and
    // 8 expressions of 16 values. The pod satisfies everything but the last expression of the
    // first 62 grants, so each is evaluated in full; only the 63rd matches, and it allows hostPID alone.
    const labels = BIG_LABELS;
    await setGrants({ [namespace]: bigGrants() });
    expect(await tryCreate(podManifest('big', labels, ['hostPID']), namespace, true)).toEqual({
      admitted: true,
      message: '',
    });
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
    await setGrants({
      [namespace]: [
        grant('net', ['hostNetwork'], { matchLabels: { app: 'agent' } }),
        grant('pid', ['hostPID'], { matchExpressions: [{ key: 'app', operator: 'Exists' }] }),
      ],
    });
    expect(await tryCreate(podManifest('both', { app: 'agent' }, ['hostNetwork', 'hostPID']), namespace)).toEqual({
      admitted: true,
      message: '',
    });
    const d = await tryCreate(podManifest('three', { app: 'agent' }, ['hostNetwork', 'hostPID', 'hostIPC']), namespace);
    expect(d.message).toBe(expectedRefusal('Pod', 'three', namespace, ['hostIPC'], { app: 'agent' }));
  });
});

describe('lapsed entries (spec.lapsed): named in the refusal with their owner, never granting', () => {
  it('a lapsed entry never grants: not on CREATE, not on a template UPDATE, not even with a future expiresAt', async () => {
    const namespace = await scopedNamespace('adm-lapsed');
    const labels = { app: 'agent' };
    await setGrants({ [namespace]: [grant('agent', ['hostNetwork'], { matchLabels: labels })] });
    expect(await tryCreate(deploymentManifest('agent', labels, ['hostNetwork']), namespace)).toEqual({
      admitted: true,
      message: '',
    });
    // What the operator writes at the lapse: the grant moved to spec.lapsed. Here with an expiresAt
    // still in the future (no operator writes that), the worst an entry there could say.
    const forged = lapsedEntry('agent', ['hostNetwork'], { matchLabels: labels }, 'team-observability', FUTURE);
    const past = lapsedEntry(
      'agent-old',
      ['hostNetwork', 'hostPID'],
      { matchLabels: labels },
      'Platform (EU), on call',
    );
    await setGrants({ [namespace]: [] }, { [namespace]: [forged, past] });
    for (const flags of [['hostNetwork'], ['hostNetwork', 'hostPID']] as HostNamespace[][]) {
      const d = await tryCreate(podManifest('agent', labels, flags), namespace, true);
      expect(d.admitted).toBe(false);
      expect(d.message).toBe(expectedRefusal('Pod', 'agent', namespace, flags, labels, [named(forged), named(past)]));
    }
    // UPDATE carries no creationTimestamp (the policy's now is year 1): a template change is refused too.
    const image = kubectl(['set', 'image', '-n', namespace, 'deployment/agent', 'c=busybox:1.37']);
    expect(image.code).not.toBe(0);
    expect(sortLabels(image.stderr)).toContain(
      expectedRefusal('Deployment', 'agent', namespace, ['hostNetwork'], labels, [named(forged), named(past)]),
    );
    // A lapsed exception renewed: the operator writes its grant again (and no lapsed entry).
    await setGrants({ [namespace]: [grant('agent', ['hostNetwork'], { matchLabels: labels })] }, {});
    const renewed = kubectl(['set', 'image', '-n', namespace, 'deployment/agent', 'c=busybox:1.37']);
    expect(renewed.code, renewed.stderr).toBe(0);
    kubectl(['delete', '-n', namespace, 'deployment/agent', '--wait=false']);
  });

  it('named only when it selects the object and allowed a flag it uses; the first 4, then how many more', async () => {
    const namespace = await scopedNamespace('adm-lapsed-named');
    const labels = { app: 'agent', tier: 'node' };
    const lapsed = [
      lapsedEntry('other-flag', ['hostIPC'], { matchLabels: labels }),
      lapsedEntry('other-pods', ['hostNetwork'], { matchLabels: { app: 'else' } }),
      lapsedEntry('marks', ['hostNetwork'], { matchLabels: { 'hostns.io/exception': 'x' } }),
      lapsedEntry('no-owner', ['hostNetwork'], { matchLabels: labels }),
      ...['l1', 'l2', 'l3', 'l4', 'l5'].map((n) =>
        lapsedEntry(n, ['hostNetwork', 'hostPID'], {
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['node'] }],
        }),
      ),
    ];
    delete lapsed[3]!.owner;
    // A grant covering hostPID: only the uncovered flag counts.
    await setGrants({ [namespace]: [grant('pid', ['hostPID'], { matchLabels: labels })] }, { [namespace]: lapsed });
    const d = await tryCreate(podManifest('agent', labels, ['hostNetwork', 'hostPID', 'hostIPC']), namespace, true);
    expect(d.message).toBe(
      expectedRefusal('Pod', 'agent', namespace, ['hostNetwork', 'hostIPC'], labels, [
        named(lapsed[0]!),
        `no-owner (expired ${PAST})`,
        named(lapsed[4]!),
        named(lapsed[5]!),
        'and 3 more',
      ]),
    );
    const one = await tryCreate(podManifest('agent', labels, ['hostIPC']), namespace, true);
    expect(one.message).toBe(expectedRefusal('Pod', 'agent', namespace, ['hostIPC'], labels, [named(lapsed[0]!)]));
    // The covered flag alone: admitted (a lapsed entry takes nothing away either).
    expect((await tryCreate(podManifest('agent', labels, ['hostPID']), namespace, true)).admitted).toBe(true);
  });

  it('the largest grant list and 32 lapsed entries, all evaluated in full, stay within CEL runtime cost limits', async () => {
    // The cost rule (policy.yaml): running out of budget in the message would admit (failurePolicy
    // Ignore). The 63 grants of the cost test above plus spec.lapsed at its maxItems, each entry at
    // the same count limits and all selecting the pod: every one evaluated in full.
    const namespace = await scopedNamespace('adm-big-lapsed');
    const labels = BIG_LABELS;
    const lapsed = Array.from({ length: 32 }, (_, i) =>
      lapsedEntry(`gone-${String(i).padStart(2, '0')}`, ['hostNetwork', 'hostPID', 'hostIPC'], bigSelector(false)),
    );
    await setGrants({ [namespace]: bigGrants() }, { [namespace]: lapsed });
    expect((await tryCreate(podManifest('big', labels, ['hostPID']), namespace, true)).admitted).toBe(true);
    const d = await tryCreate(podManifest('big', labels, ['hostNetwork', 'hostPID']), namespace, true);
    expect(d.message).toBe(
      expectedRefusal('Pod', 'big', namespace, ['hostNetwork'], labels, [
        ...lapsed.slice(0, 4).map(named),
        'and 28 more',
      ]),
    );
  });

  it('the selector table: the API server names a lapsed entry exactly when matchesSelector says it selects', async () => {
    // Two namespaces: the table has more cases than spec.lapsed holds (32).
    const halves = [SELECTOR_CASES.slice(0, 17), SELECTOR_CASES.slice(17)];
    const namespaces = [await scopedNamespace('adm-lsel'), await scopedNamespace('adm-lsel')];
    const entries = halves.map((cases, h) =>
      cases.map((c, j) =>
        lapsedEntry(`case-${h * 17 + j}`, ['hostNetwork'], {
          matchLabels: c.selector.matchLabels,
          matchExpressions: [
            ...(c.selector.matchExpressions ?? []),
            { key: 'admission-test.example.com/case', operator: 'In', values: [String(h * 17 + j)] },
          ],
        }),
      ),
    );
    delete (entries[0]![0]!.selector as { matchLabels?: unknown }).matchLabels;
    await setGrants(
      { [namespaces[0]!]: [], [namespaces[1]!]: [] },
      { [namespaces[0]!]: entries[0]!, [namespaces[1]!]: entries[1]! },
    );
    const disagreements: string[] = [];
    for (const [i, c] of SELECTOR_CASES.entries()) {
      const namespace = namespaces[i < 17 ? 0 : 1]!;
      const d = await tryCreate(
        podManifest(`case-${i}`, { ...c.labels, 'admission-test.example.com/case': String(i) }, ['hostNetwork']),
        namespace,
        true,
      );
      expect(d.admitted, c.what).toBe(false);
      const isNamed = d.message.includes(`(lapsed: case-${i} (owner: owner of case-${i}, expired ${PAST}))`);
      if (isNamed !== matchesSelector(c.selector, c.labels))
        disagreements.push(`${c.what}: named ${isNamed}, matchesSelector ${!isNamed}`);
    }
    expect(disagreements).toEqual([]);
  });
});

describe('lapse, updates, missing param', () => {
  it('a grant whose expiresAt just passed refuses a new pod at once, with no operator running', async () => {
    const namespace = await scopedNamespace('adm-lapse');
    const expiresAt = rfc3339(DateTime.now().plus({ seconds: 15 }).startOf('second'));
    await setGrants({ [namespace]: [grant('short', ['hostPID'], { matchLabels: { app: 'agent' } }, expiresAt)] });
    const before = await tryCreate(podManifest('before', { app: 'agent' }, ['hostPID']), namespace);
    expect(before, `created before ${expiresAt}`).toEqual({ admitted: true, message: '' });
    const wait = Date.parse(expiresAt) + 1_000 - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    // The grant is still in the param object (nobody pruned it): its expiry alone refuses.
    const after = await tryCreate(podManifest('after', { app: 'agent' }, ['hostPID']), namespace);
    expect(after.message).toBe(
      expectedRefusal('Pod', 'after', namespace, ['hostPID'], { app: 'agent' }, [`short (expired ${expiresAt})`]),
    );
  });

  it('updates: only a spec change is checked; old offenders can be scaled, labelled and deleted', async () => {
    const namespace = await scopedNamespace('adm-update');
    const labels = { app: 'agent' };
    await setGrants({ [namespace]: [grant('agent', ['hostNetwork'], { matchLabels: labels })] });
    expect(await tryCreate(deploymentManifest('agent', labels, ['hostNetwork']), namespace)).toEqual({
      admitted: true,
      message: '',
    });
    expect(await tryCreate(podManifest('agent-pod', labels, ['hostNetwork']), namespace)).toEqual({
      admitted: true,
      message: '',
    });
    // The exception goes away (the operator would prune its grant): both are now offenders.
    await setGrants({ [namespace]: [] });
    const scaled = kubectl(['scale', '-n', namespace, 'deployment/agent', '--replicas=2']);
    expect(scaled.code, scaled.stderr).toBe(0);
    const labelled = kubectl(['label', '-n', namespace, 'deployment/agent', 'team=infra']);
    expect(labelled.code, labelled.stderr).toBe(0);
    // The garbage collector's kind of update: metadata only (generation unchanged).
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const dep = await apps.readNamespacedDeployment({ name: 'agent', namespace });
    dep.metadata!.finalizers = ['example.com/hold'];
    await apps.replaceNamespacedDeployment({ name: 'agent', namespace, body: dep });
    const unhold = kubectl([
      'patch',
      '-n',
      namespace,
      'deployment/agent',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    expect(unhold.code, unhold.stderr).toBe(0);
    // Any spec change is checked: a rollout would create pods the policy refuses anyway.
    const replicas = kubectl(['patch', '-n', namespace, 'deployment/agent', '-p', '{"spec":{"replicas":5}}']);
    expect(replicas.code).not.toBe(0);
    const image = kubectl(['set', 'image', '-n', namespace, 'deployment/agent', 'c=busybox:1.37']);
    expect(image.code).not.toBe(0);
    expect(sortLabels(image.stderr)).toContain(
      expectedRefusal('Deployment', 'agent', namespace, ['hostNetwork'], labels),
    );
    // What the operator does to offenders (labels) must never be refused.
    const label = kubectl(['label', '-n', namespace, 'pod/agent-pod', 'hostns.io/violation=true']);
    expect(label.code, label.stderr).toBe(0);
    const del = kubectl(['delete', '-n', namespace, 'deployment/agent', 'pod/agent-pod', '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
  });

  it('a namespace without a grants object still refuses host namespaces (hostns-grants-required); clean pods pass', async () => {
    // A namespace just created: no grants object, not in the index (the operator has not run).
    const fresh = await scopedNamespace('adm-fresh');
    for (const [kind, make] of Object.entries(KINDS)) {
      for (const flags of Object.values(VARIANTS)) {
        const d = await tryCreate(make(`host-${kind.toLowerCase()}`, { app: 'web' }, flags), fresh, true);
        expect(d.admitted, `${kind} ${flags.join(',')}`).toBe(false);
        expect(d.message).toContain(
          `ValidatingAdmissionPolicy '${REQUIRED}' with binding '${REQUIRED}' denied request: namespace ${fresh} has no host namespace grants yet`,
        );
      }
      expect(await tryCreate(make(`clean-${kind.toLowerCase()}`, { app: 'web' }, []), fresh, true), kind).toEqual({
        admitted: true,
        message: '',
      });
    }
    // The operator's order: the grants object first, then the index. From then on the grants decide.
    await setGrants({ [fresh]: [grant('agent', ['hostNetwork'], { matchLabels: { app: 'agent' } })] });
    expect(await tryCreate(podManifest('agent', { app: 'agent' }, ['hostNetwork']), fresh, true)).toEqual({
      admitted: true,
      message: '',
    });
    const d = await tryCreate(podManifest('web', { app: 'web' }, ['hostNetwork']), fresh, true);
    expect(d.message).toBe(expectedRefusal('Pod', 'web', fresh, ['hostNetwork'], { app: 'web' }));
  });

  it('an index entry with another resourceVersion (a namespace deleted and created again under the same name, or changed) does not count', async () => {
    const listed = await indexed();
    const namespace = await scopedNamespace('adm-reborn');
    await setGrants({ [namespace]: [grant('agent', ['hostNetwork'], { matchLabels: { app: 'agent' } })] });
    // The index keeps an older resourceVersion (as if the operator had not caught up): refused.
    const uids = (await customObjects().getClusterCustomObject({
      group: 'hostns.io',
      version: 'v1alpha1',
      plural: 'hostnamespacegrantindexes',
      name: 'cluster',
    })) as { spec: { namespaces: Record<string, string> } };
    await customObjects().replaceClusterCustomObject({
      group: 'hostns.io',
      version: 'v1alpha1',
      plural: 'hostnamespacegrantindexes',
      name: 'cluster',
      body: { ...uids, spec: { namespaces: { ...uids.spec.namespaces, [namespace]: '1' } } },
    });
    await eventually(
      async () =>
        (await tryCreate(podManifest('agent', { app: 'agent' }, ['hostNetwork']), namespace, true)).admitted
          ? undefined
          : true,
      30_000,
      'the stale entry to refuse',
    );
    await setIndex([...listed, namespace]);
  });

  it('the guard refuses deleting a grants object or the index; clean pods pass everywhere, also with both missing', async () => {
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

    const target = ns['no exception'];
    const guarded = kubectl(['delete', 'hostnamespacegrantsets', 'grants', '-n', target]);
    expect(guarded.code).not.toBe(0);
    expect(guarded.stderr).toContain(`ValidatingAdmissionPolicy '${GUARD}'`);
    expect(guarded.stderr).toContain(
      `kubectl annotate hostnamespacegrantsets grants -n ${target} hostns.io/allow-delete=true`,
    );
    const guardedIndex = kubectl(['delete', 'hostnamespacegrantindexes', 'cluster']);
    expect(guardedIndex.code).not.toBe(0);
    expect(guardedIndex.stderr).toContain(
      'kubectl annotate hostnamespacegrantindexes cluster hostns.io/allow-delete=true',
    );

    // Deliberately deleted grants object, namespace still indexed (the operator would recreate the
    // object and drop the namespace from the index within moments): the documented gap, admitted.
    const listed = await indexed();
    deleteGuarded('hostnamespacegrantsets', 'grants', target);
    await eventually(
      async () =>
        (await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), target, true)).admitted
          ? true
          : undefined,
      30_000,
      'the policy to notice the grants object is gone',
    );
    // Dropped from the index (what the operator does next): refused again, by hostns-grants-required.
    await setIndex(listed.filter((n) => n !== target));
    await eventually(
      async () => {
        const d = await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), target, true);
        return !d.admitted && d.message.includes(`'${REQUIRED}'`) ? true : undefined;
      },
      30_000,
      'hostns-grants-required to refuse',
    );
    // The index deleted too: both policies skip that namespace (the failure mode the guard prevents).
    deleteGuarded('hostnamespacegrantindexes', 'cluster');
    await eventually(
      async () =>
        (await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), target, true)).admitted
          ? true
          : undefined,
      30_000,
      'the policies to notice the index is gone',
    );
    await cleanEverywhere('without-param');

    // Restored (as the operator does), enforcement is back.
    await setIndex(listed);
    await setGrants({ [target]: [] });
    const d = await tryCreate(podManifest('again', { app: 'probe' }, ['hostNetwork']), target);
    expect(d.message).toBe(expectedRefusal('Pod', 'again', target, ['hostNetwork'], { app: 'probe' }));
  });

  it('why the index: parameterNotFoundAction Deny cannot refuse only host namespaces on this API server', async () => {
    const namespace = await scopedNamespace('adm-deny');
    const binding = manifests.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === POLICY)!;
    const policy = manifests.find((m) => m.kind === 'ValidatingAdmissionPolicy' && m.metadata.name === POLICY)!;
    const withDeny = structuredClone(binding) as typeof binding & {
      spec: { paramRef: { parameterNotFoundAction: string } };
    };
    withDeny.spec.paramRef.parameterNotFoundAction = 'Deny';
    // The namespace is indexed so hostns-grants-required lets it through: only hostns-host-namespaces decides.
    await setIndex([...(await indexed()), namespace]);
    try {
      apply([withDeny]);
      // failurePolicy Ignore (shipped): the missing param is a configuration error, and ignored: admitted.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await tryCreate(podManifest('host', { app: 'web' }, ['hostNetwork']), namespace, true)).toEqual({
        admitted: true,
        message: '',
      });
      // failurePolicy Fail: refused, but a clean pod too (params are looked up before matchConditions run).
      const failing = structuredClone(policy) as typeof policy & { spec: { failurePolicy: string } };
      failing.spec.failurePolicy = 'Fail';
      apply([failing]);
      const clean = await eventually(
        async () => {
          const d = await tryCreate(podManifest('clean', { app: 'web' }, []), namespace, true);
          return d.admitted ? undefined : d;
        },
        30_000,
        'Deny + Fail to refuse',
      );
      expect(clean.message).toContain('no params found for policy binding with `Deny` parameterNotFoundAction');
    } finally {
      apply([policy, binding]);
    }
    await eventually(
      async () =>
        (await tryCreate(podManifest('clean', { app: 'web' }, []), namespace, true)).admitted ? true : undefined,
      30_000,
      'the shipped policy and binding to be back',
    );
  });
});

describe('warn mode', () => {
  it('admits an offender with a warning that kubectl prints', async () => {
    const warn = scopedForTest(buildAdmission(['config/admission/modes/warn']), [ns['exempt namespace']]);
    expect(
      warn.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.metadata.name === 'hostns-host-namespaces')!
        .spec,
    ).toMatchObject({
      validationActions: ['Warn', 'Audit'],
    });
    apply(warn);
    const namespace = ns['no exception'];
    const pod = (name: string) => JSON.stringify(podManifest(name, { app: 'agent' }, ['hostIPC']));
    // The binding change takes a moment: dry runs until the warning shows.
    await eventually(
      () => {
        const r = kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], pod('probe'));
        return r.code === 0 && r.stderr.includes('Warning:') ? true : undefined;
      },
      30_000,
      'warn mode to take effect',
    );
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
      async () =>
        (await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), namespace, true)).admitted
          ? undefined
          : true,
      30_000,
      'deny mode to be back',
    );
  });
});
