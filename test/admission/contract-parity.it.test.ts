// One table of pods x exception contracts through every place that decides: the pure policy core,
// the operator's path (its lean pod record and exception grants), `kubectl hostns scan`, and the
// shipped admission policy on the real API server (dry-run creates of Pods and Deployments).
// Every verdict must be the same. Also: ephemeral containers added to a running covered pod.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import type { Grant } from '../../src/api/v1alpha1.ts';
import { classifyPod, classifiableExceptions } from '../../src/policy/classify.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { podSecurityProfile } from '../../src/policy/contract.ts';
import { readException } from '../../src/policy/exception.ts';
import { grantOf } from '../../src/policy/grants.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { toPodRecord } from '../../src/kube/pod-record.ts';
import { scanSources } from '../../src/report/scan.ts';
import { eventually, kubectl } from '../harness/clients.ts';
import { apply, buildAdmission, scopedForTest, scopedNamespace, setGrants, tryCreate, uninstall } from './admission.ts';

type Obj = Record<string, any>;
const LABELS = { app: 'agent' };
const DIGEST = `sha256:${'c'.repeat(64)}`;
const IMAGE = 'quay.io/agents/agent:v1';
// The pod-spec controls: the ones every path checks. networkRestricted is operator-only (admission
// and scan cannot see NetworkPolicies; the grants leave it out), so it is not in this shared table:
// test/controller/network-namespaces.it.test.ts checks the operator's verdicts, test/policy and
// test/cli that the policy core and scan skip it when the NetworkPolicies are unknown.
const ALL_CONTROLS = [
  'runAsNonRoot',
  'dropAllCapabilities',
  'readOnlyRootFilesystem',
  'noPrivilegeEscalation',
  'noPrivileged',
  'seccompRuntimeDefault',
  'noHostPath',
  'noHostPorts',
];

const hardenedContainer = (name: string, over: Obj = {}): Obj => ({
  name,
  image: IMAGE,
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  },
  ...over,
});
const hardened = (): Obj => ({
  hostNetwork: true,
  serviceAccountName: 'agent',
  securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  containers: [hardenedContainer('agent')],
});
const edit = (f: (s: Obj) => void) => () => {
  const s = hardened();
  f(s);
  return s;
};
const sc = (s: Obj, i = 0) => s.containers[i].securityContext as Obj;

/** Pod specs, each breaking at most a thing or two. */
const PODS: Record<string, () => Obj> = {
  hardened: hardened,
  'self-labelled, default ServiceAccount': edit((s) => delete s.serviceAccountName),
  'self-labelled, other ServiceAccount': edit((s) => (s.serviceAccountName = 'intruder')),
  'legacy serviceAccount field': edit((s) => {
    delete s.serviceAccountName;
    s.serviceAccount = 'agent';
  }),
  'unlisted image': edit((s) => (s.containers[0].image = 'docker.io/library/busybox:1.37')),
  'unqualified image': edit((s) => (s.containers[0].image = 'agents/agent:v1')),
  'image by the pinned digest': edit((s) => (s.containers[0].image = `quay.io/agents/agent@${DIGEST}`)),
  'image by tag and the pinned digest': edit((s) => (s.containers[0].image = `quay.io/agents/agent:v1@${DIGEST}`)),
  'lookalike repository': edit((s) => (s.containers[0].image = 'quay.io/agents-evil/agent:v1')),
  'privileged init container': edit(
    (s) =>
      (s.initContainers = [
        hardenedContainer('setup', {
          securityContext: { ...sc(s), privileged: true, allowPrivilegeEscalation: undefined },
        }),
      ]),
  ),
  'init container from another registry': edit(
    (s) => (s.initContainers = [hardenedContainer('setup', { image: 'ghcr.io/x/setup:1' })]),
  ),
  'runAsNonRoot unset': edit((s) => delete sc(s).runAsNonRoot),
  'runAsNonRoot at pod level only': edit((s) => {
    delete sc(s).runAsNonRoot;
    s.securityContext.runAsNonRoot = true;
  }),
  'runAsUser 0': edit((s) => (sc(s).runAsUser = 0)),
  'capability added': edit((s) => (sc(s).capabilities = { drop: ['ALL'], add: ['NET_ADMIN'] })),
  'NET_BIND_SERVICE added': edit((s) => (sc(s).capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] })),
  'writable root': edit((s) => (sc(s).readOnlyRootFilesystem = false)),
  'privilege escalation unset': edit((s) => delete sc(s).allowPrivilegeEscalation),
  'seccomp Unconfined in the container': edit((s) => (sc(s).seccompProfile = { type: 'Unconfined' })),
  'seccomp unset': edit((s) => delete s.securityContext.seccompProfile),
  'seccomp Localhost': edit(
    (s) => (s.securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'agent.json' }),
  ),
  'hostPath volume': edit((s) => (s.volumes = [{ name: 'root', hostPath: { path: '/' } }])),
  'declared port (a host port under hostNetwork)': edit((s) => (s.containers[0].ports = [{ containerPort: 9100 }])),
  '65 containers': edit((s) => (s.containers = Array.from({ length: 65 }, (_, i) => hardenedContainer(`c${i}`)))),
};

/** Exception contracts: each namespace of the test holds one exception with one of these. */
const CONTRACTS: Record<string, Obj> = {
  'no contract': {},
  ServiceAccount: { boundTo: { serviceAccountNames: ['agent'] } },
  'image prefix': { boundTo: { images: ['quay.io/agents/'] } },
  'image repository': { boundTo: { images: ['quay.io/agents/agent'] } },
  'image digest': { boundTo: { images: [`quay.io/agents/agent@${DIGEST}`] } },
  'every control': { riskAcceptance: { enforcedControls: ALL_CONTROLS } },
  'ServiceAccount, image and two controls': {
    boundTo: { serviceAccountNames: ['agent'], images: ['quay.io/agents/'] },
    riskAcceptance: { enforcedControls: ['runAsNonRoot', 'dropAllCapabilities'] },
  },
  seccomp: { riskAcceptance: { enforcedControls: ['seccompRuntimeDefault'] } },
};

function exceptionManifest(namespace: string, contract: Obj): Obj {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name: 'agent', namespace },
    spec: {
      owner: 'team-agents',
      allow: ['hostNetwork'],
      podSelector: { matchLabels: LABELS },
      riskAcceptance: {
        justification: 'the agent programs the node network and must run in it',
        acceptedBy: 'security-board',
        ...(contract.riskAcceptance ?? {}),
      },
      expiresAt: DateTime.utc().plus({ days: 30 }).toISO({ suppressMilliseconds: true }),
      ...(contract.boundTo ? { boundTo: contract.boundTo } : {}),
    },
  };
}

const now = () => DateTime.utc();
const evaluated = (raw: Obj) => {
  const facts = readException(raw, now());
  return { facts, lifecycle: evaluateLifecycle(facts, now(), DEFAULT_POLICY) };
};

type Verdicts = { core: boolean; operator: boolean; scan: boolean; admission?: boolean; deployment?: boolean };

function coreVerdict(ns: string, exception: Obj, spec: Obj): boolean {
  const pod = {
    namespace: ns,
    name: 'p',
    labels: LABELS,
    hostNetwork: true,
    hostPID: false,
    hostIPC: false,
    security: podSecurityProfile(spec),
  };
  return classifyPod(pod, classifiableExceptions([evaluated(exception)]), new Set()).kind === 'covered';
}

function operatorVerdict(ns: string, exception: Obj, spec: Obj): boolean {
  // As the operator reads a stored pod: its lean record, then the same classification.
  const record = toPodRecord({
    metadata: { name: 'p', namespace: ns, uid: 'u', resourceVersion: '1', labels: LABELS },
    spec,
  } as never);
  return classifyPod(record!, classifiableExceptions([evaluated(exception)]), new Set()).kind === 'covered';
}

function scanVerdict(ns: string, exception: Obj, spec: Obj): boolean {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: ns, labels: LABELS }, spec };
  const result = scanSources(
    [{ path: 'pod.yaml', text: JSON.stringify(pod) }],
    [{ path: 'exceptions/agent.yaml', text: JSON.stringify(exception) }],
    {
      now: now(),
      config: DEFAULT_POLICY,
      defaultNamespace: ns,
    },
  );
  expect(result.errors).toEqual([]);
  return result.findings.length > 0 && result.findings.every((f) => f.status === 'covered');
}

describe('contract verdicts: policy core = operator = scan = admission', () => {
  let manifests: ReturnType<typeof buildAdmission>;
  const namespaces: Record<string, string> = {};
  const exceptions: Record<string, Obj> = {};

  beforeAll(async () => {
    manifests = scopedForTest(buildAdmission());
    apply(manifests);
    const grants: Record<string, Grant[]> = {};
    for (const name of Object.keys(CONTRACTS)) {
      const ns = await scopedNamespace('contract');
      namespaces[name] = ns;
      exceptions[name] = exceptionManifest(ns, CONTRACTS[name]!);
      const view = evaluated(exceptions[name]);
      expect(view.facts.problems).toEqual([]);
      grants[ns] = [grantOf(view)!];
    }
    await setGrants(grants);
  }, 180_000);

  afterAll(() => {
    if (manifests) uninstall(manifests);
  });

  for (const contract of Object.keys(CONTRACTS)) {
    it(`exception with ${contract}: every pod gets the same verdict everywhere`, async () => {
      const ns = namespaces[contract]!;
      const exception = exceptions[contract]!;
      const table: Record<string, Verdicts> = {};
      for (const [podName, make] of Object.entries(PODS)) {
        const spec = make();
        const v: Verdicts = {
          core: coreVerdict(ns, exception, spec),
          operator: operatorVerdict(ns, exception, spec),
          scan: scanVerdict(ns, exception, spec),
        };
        const decision = await tryCreate(
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: LABELS }, spec },
          ns,
          true,
        );
        v.admission = decision.admitted;
        if (!decision.admitted) {
          // A refusal says why: the contract and what broke it, when the pod matched.
          expect(decision.message).toContain('uses hostNetwork');
          if (v.core === false && contract !== 'no contract')
            expect(decision.message).toContain('contract broken: agent (');
        }
        const deployment = {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'd' },
          spec: {
            replicas: 1,
            selector: { matchLabels: LABELS },
            template: { metadata: { labels: LABELS }, spec: make() },
          },
        };
        v.deployment = (await tryCreate(deployment, ns, true)).admitted;
        table[podName] = v;
      }
      for (const [podName, v] of Object.entries(table)) {
        expect({ pod: podName, ...v }).toEqual({
          pod: podName,
          core: v.core,
          operator: v.core,
          scan: v.core,
          admission: v.core,
          deployment: v.core,
        });
      }
      // The table is not trivial: the hardened pod is covered, and each contract refuses something.
      expect(table.hardened?.core).toBe(contract !== 'image digest');
      if (contract !== 'no contract') expect(Object.values(table).some((v) => !v.core)).toBe(true);
      else expect(Object.values(table).every((v) => v.core)).toBe(true);
    }, 120_000);
  }
});

describe('ephemeral containers (kubectl debug) must keep the contract too', () => {
  let manifests: ReturnType<typeof buildAdmission>;
  let ns = '';
  beforeAll(async () => {
    manifests = scopedForTest(buildAdmission());
    apply(manifests);
    ns = await scopedNamespace('contract-debug');
    const exception = exceptionManifest(ns, CONTRACTS['ServiceAccount, image and two controls']!);
    await setGrants({ [ns]: [grantOf(evaluated(exception))!] });
    const created = await tryCreate(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent', labels: LABELS }, spec: hardened() },
      ns,
    );
    expect(created).toMatchObject({ admitted: true });
  }, 120_000);
  afterAll(() => {
    if (manifests) uninstall(manifests);
  });

  const debug = (name: string, container: Obj) =>
    kubectl(
      ['replace', '--raw', `/api/v1/namespaces/${ns}/pods/agent/ephemeralcontainers`, '-f', '-'],
      JSON.stringify({
        ...JSON.parse(kubectl(['get', 'pod', 'agent', '-n', ns, '-o', 'json']).stdout),
        spec: {
          ...JSON.parse(kubectl(['get', 'pod', 'agent', '-n', ns, '-o', 'json']).stdout).spec,
          ephemeralContainers: [{ name, ...container }],
        },
      }),
    );

  it('a debug container from another registry is refused, naming it', async () => {
    const r = await eventually(() => {
      const out = debug('dbg', {
        image: 'docker.io/library/busybox:1.37',
        securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
      });
      return out.code !== 0 ? out : undefined;
    }, 20_000);
    expect(r.stderr).toContain('ephemeral:dbg runs image docker.io/library/busybox:1.37');
  });
  it('a debug container as root is refused, naming the control', () => {
    const r = debug('root', { image: 'quay.io/agents/debug:1', securityContext: { capabilities: { drop: ['ALL'] } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('control runAsNonRoot broken by ephemeral:root');
  });
  it('a debug container keeping the contract is admitted', () => {
    const r = debug('ok', {
      image: 'quay.io/agents/debug:1',
      securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
