// Pod marks and violation Events with the real operator process on the real API server: one Event
// per pod per cause under label flips, kubelet-like status churn and SIGKILLs; forged hostns.io/
// keys at creation; Events and annotations the API refuses; notes naming their cause; partial
// coverage not counted; a stale allow-delete dropped from the grants object.
import { KubeConfig, EventsV1Api } from '@kubernetes/client-node';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { markedCause } from '../../src/policy/violation.ts';
import { createException, GROUP, PLURAL, VERSION } from '../harness/exceptions.ts';
import {
  core,
  createNamespace,
  customObjects,
  eventually,
  kubeConfig,
  kubeconfigPath,
  kubectl,
} from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { hostnsJson } from '../cli/run-cli.ts';

function client(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient(kc);
}
const api = client();

type Flags = { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean };
async function createPod(
  ns: string,
  name: string,
  labels: Record<string, string>,
  flags: Flags,
  extra: { annotations?: Record<string, string>; serviceAccountName?: string } = {},
) {
  return core().createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
      spec: {
        ...flags,
        ...(extra.serviceAccountName
          ? { serviceAccountName: extra.serviceAccountName, automountServiceAccountToken: false }
          : {}),
        containers: [{ name: 'c', image: 'busybox' }],
      },
    },
  });
}

/** A merge patch as another client (kubectl label, a kubelet's status) would send it. */
function mergePatch(ns: string, name: string, body: unknown, subresource = '') {
  return api.request('PATCH', `/api/v1/namespaces/${ns}/pods/${name}${subresource}`, {
    body,
    contentType: 'application/merge-patch+json',
  });
}

async function podMeta(ns: string, name: string) {
  const p = await core().readNamespacedPod({ namespace: ns, name });
  return { uid: p.metadata!.uid!, labels: p.metadata?.labels ?? {}, annotations: p.metadata?.annotations ?? {} };
}

async function violations(ns: string, pod?: string) {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => e.reason === 'HostNamespaceViolation' && (!pod || e.regarding?.name === pod));
}

const isOffender = async (ns: string, name: string) =>
  (await podMeta(ns, name)).labels['hostns.io/violation'] === 'true' ? true : undefined;

let op: OperatorProcess;
beforeAll(async () => {
  op = await OperatorProcess.start();
});
afterAll(async () => {
  await op?.kill('SIGTERM');
});

describe('violation Events: one per pod per cause', () => {
  it('labels flipped 100 times by another client: one Event per cause, writes bounded by the flips', async () => {
    const ns = await createNamespace('pods-flip');
    await createException(ns, 'agents');
    await createPod(ns, 'flip', { app: 'agent' }, { hostNetwork: true });
    await createPod(ns, 'stays', { app: 'other' }, { hostNetwork: true });
    await eventually(
      async () => ((await podMeta(ns, 'flip')).labels['hostns.io/exception'] === 'agents' ? true : undefined),
      10_000,
      'covered',
    );
    await eventually(() => isOffender(ns, 'stays'), 10_000, 'offender');
    await op.converged();
    const before = await op.writes();
    for (let i = 0; i < 100; i++) {
      await mergePatch(ns, 'flip', { metadata: { labels: { app: i % 2 === 0 ? 'other' : 'agent' } } });
      await mergePatch(ns, 'stays', { metadata: { labels: { run: String(i) } } }); // unrelated labels
    }
    await mergePatch(ns, 'flip', { metadata: { labels: { app: 'other' } } });
    await eventually(() => isOffender(ns, 'flip'), 10_000, 'offender at the end');
    await op.converged();
    const ours = (await op.writes()) - before;
    console.log(`[figures] operator writes during 201 label flips of 2 pods: ${ours}`);
    // At most a label write per flip it saw and a few Events and status writes: never a loop.
    expect(ours).toBeLessThanOrEqual(101 + 20);
    const flip = await violations(ns, 'flip');
    expect(flip).toHaveLength(1);
    expect(flip[0]!.note).toContain('exception agents no longer selecting it');
    expect(await violations(ns, 'stays')).toHaveLength(1);
  });

  it('SIGKILLed three times while pods are created and their status patched as a kubelet would: never two Events', async () => {
    const ns = await createNamespace('pods-churn');
    await createException(ns, 'agents');
    const offenders: string[] = [];
    for (let round = 0; round < 3; round++) {
      const created: string[] = [];
      for (let i = 0; i < 8; i++) {
        const name = `p${round}-${i}`;
        const offender = i % 2 === 0;
        await createPod(ns, name, { app: offender ? 'other' : 'agent' }, { hostNetwork: true });
        if (offender) offenders.push(name);
        created.push(name);
      }
      for (const [i, name] of created.entries()) {
        await mergePatch(ns, name, { status: { conditions: [{ type: 'PodScheduled', status: 'True' }] } }, '/status');
        if (i === 3 + round) {
          await op.kill('SIGKILL');
          op = await OperatorProcess.start();
        }
      }
    }
    for (const name of offenders) await eventually(() => isOffender(ns, name), 15_000, `${name} offender`);
    await op.converged();
    const events = await violations(ns);
    const perPod = new Map<string, number>();
    for (const e of events) perPod.set(e.regarding!.name!, (perPod.get(e.regarding!.name!) ?? 0) + 1);
    expect([...perPod.keys()].sort()).toEqual([...offenders].sort());
    expect([...perPod.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('nothing a pod creator writes silences the operator', () => {
  const forged: [string, Record<string, string>, Record<string, string>][] = [
    ['violation-label', { 'hostns.io/violation': 'true' }, {}],
    ['violation-both', { 'hostns.io/violation': 'true' }, { 'hostns.io/violation': 'hostNetwork' }],
    ['wrong-hash', { 'hostns.io/violation': 'true' }, { 'hostns.io/violation-event': `${'0'.repeat(32)} hostNetwork` }],
    ['exception-marks', { 'hostns.io/exception': 'agents' }, { 'hostns.io/exceptions': 'agents' }],
    [
      'everything',
      { 'hostns.io/violation': 'true', 'hostns.io/exception': 'nope' },
      { 'hostns.io/violation': 'hostPID', 'hostns.io/exceptions': 'nope', 'hostns.io/violation-event': 'x' },
    ],
  ];

  it('forged hostns.io/ labels and annotations at creation: every offender gets its Event and right marks', async () => {
    const ns = await createNamespace('pods-forged');
    for (const [name, labels, annotations] of forged) {
      await createPod(
        ns,
        name,
        { app: 'other', ...labels },
        { hostNetwork: true },
        { annotations: { keep: 'me', ...annotations } },
      );
    }
    // A covered pod with forged offender marks: they go.
    await createException(ns, 'agents');
    await createPod(
      ns,
      'covered',
      { app: 'agent', 'hostns.io/violation': 'true' },
      { hostNetwork: true },
      {
        annotations: { 'hostns.io/violation': 'hostNetwork', 'hostns.io/violation-event': 'forged' },
      },
    );
    for (const [name] of forged) {
      const ev = await eventually(
        async () => {
          const v = await violations(ns, name);
          return v.length ? v : undefined;
        },
        10_000,
        `${name}: violation Event`,
      );
      expect(ev).toHaveLength(1);
      const meta = await eventually(
        async () => {
          const m = await podMeta(ns, name);
          return markedCause(m.uid, m.annotations['hostns.io/violation-event']) ? m : undefined;
        },
        10_000,
        `${name}: genuine marker`,
      );
      expect(meta.labels).toEqual({ app: 'other', 'hostns.io/violation': 'true' });
      expect(meta.annotations).toMatchObject({ keep: 'me', 'hostns.io/violation': 'hostNetwork' });
      expect(meta.annotations['hostns.io/exceptions']).toBeUndefined();
    }
    const covered = await eventually(
      async () => {
        const m = await podMeta(ns, 'covered');
        return m.labels['hostns.io/exception'] === 'agents' && !m.labels['hostns.io/violation'] ? m : undefined;
      },
      10_000,
      'covered pod cleaned of forged marks',
    );
    expect(covered.annotations['hostns.io/violation']).toBeUndefined();
    expect(covered.annotations['hostns.io/violation-event']).toBeUndefined();
    expect(await violations(ns, 'covered')).toHaveLength(0);

    // Converged: a restart writes nothing and raises nothing.
    await op.converged();
    const eventsBefore = (await violations(ns)).length;
    await op.kill('SIGTERM');
    op = await OperatorProcess.start();
    await op.converged();
    expect(await op.writes()).toBe(0);
    expect(await violations(ns)).toHaveLength(eventsBefore);
  });

  it("a stale hostns.io/allow-delete on a namespace's grants object is dropped by the operator's next write", async () => {
    const ns = await createNamespace('pods-allowdel');
    await createException(ns, 'agents');
    const grants = () =>
      customObjects().getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'hostnamespacegrantsets',
        name: 'grants',
      }) as Promise<{
        metadata: { annotations?: Record<string, string> };
        spec: { grants: { exception: string }[] };
      }>;
    await eventually(
      async () => ((await grants().catch(() => undefined))?.spec.grants.length === 1 ? true : undefined),
      10_000,
      'grants',
    );
    // An aborted uninstall's switch, with and without a spec change at the same time.
    for (const args of [[], ['--overwrite']]) {
      const r = kubectl([
        'annotate',
        'hostnamespacegrantsets',
        'grants',
        '-n',
        ns,
        'hostns.io/allow-delete=true',
        ...args,
      ]);
      expect(r.code, r.stderr).toBe(0);
      await eventually(
        async () => ((await grants()).metadata.annotations?.['hostns.io/allow-delete'] ? undefined : true),
        10_000,
        'allow-delete dropped',
      );
      expect((await grants()).spec.grants.map((g) => g.exception)).toEqual(['agents']);
    }
  });
});

describe('writes the API refuses', () => {
  it('Events refused in a namespace (an admission policy): labels, status and grants still written, failures counted', async () => {
    const ns = await createNamespace('pods-noevents', { 'hostns-test/deny-events': 'true' });
    const policy = `pods-it-deny-events-${ns}`;
    const manifest = [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: ['events.k8s.io', ''], apiVersions: ['*'], operations: ['CREATE'], resources: ['events'] },
            ],
          },
          validations: [{ expression: 'false', message: 'no Events in this namespace' }],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: policy },
        spec: {
          policyName: policy,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'hostns-test/deny-events': 'true' } } },
        },
      },
    ];
    const applied = kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }));
    expect(applied.code, applied.stderr).toBe(0);
    try {
      // The policy takes effect within a moment: probe until an Event is refused.
      await eventually(
        async () => {
          try {
            await api.request('POST', `/apis/events.k8s.io/v1/namespaces/${ns}/events`, {
              body: {
                metadata: { name: `probe-${Date.now()}` },
                eventTime: DateTime.utc().toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'000Z'"),
                reason: 'Probe',
                action: 'Probe',
                reportingController: 'test/probe',
                reportingInstance: 'probe',
                regarding: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: 'probe' },
                type: 'Normal',
              },
            });
            return undefined;
          } catch (err) {
            return (err as Error).message.includes('no Events in this namespace') ? true : undefined;
          }
        },
        15_000,
        'Events refused',
      );
      const failuresBefore = await op.metric('hostns_event_write_failures_total');
      await createException(ns, 'agents');
      await createPod(ns, 'offender', { app: 'other' }, { hostNetwork: true });
      await createPod(ns, 'covered', { app: 'agent' }, { hostNetwork: true });
      await eventually(() => isOffender(ns, 'offender'), 10_000, 'offender labelled without its Event');
      await eventually(
        async () => ((await podMeta(ns, 'covered')).labels['hostns.io/exception'] === 'agents' ? true : undefined),
        10_000,
        'covered',
      );
      const exc = await eventually(
        async () => {
          const e = (await customObjects().getNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: ns,
            plural: PLURAL,
            name: 'agents',
          })) as {
            status?: { phase?: string; coveredPods?: number };
          };
          return e.status?.phase === 'Active' && e.status.coveredPods === 1 ? e : undefined;
        },
        10_000,
        'status written without its Activated Event',
      );
      expect(exc.status?.phase).toBe('Active');
      // The Activated and the violation Event, each refused once, counted.
      expect((await op.metric('hostns_event_write_failures_total')) - failuresBefore).toBeGreaterThanOrEqual(2);
      expect(await violations(ns)).toHaveLength(0);
    } finally {
      kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', policy, '--ignore-not-found']);
    }
  });

  it.each([
    ['an offender', { app: 'other' }, 'hostns.io/violation', 'true'],
    ['a covered pod', { app: 'agent' }, 'hostns.io/exception', 'agents'],
  ])(
    '%s whose annotations already use the 256 KiB: the label is written alone, the failure counted',
    async (_what, labels, key, value) => {
      const ns = await createNamespace('pods-bigann');
      await createException(ns, 'agents');
      // 262,144 bytes in all (keys and values): ours no longer fit.
      const annotations = { big: 'x'.repeat(256 * 1024 - 3 - 16) };
      const failuresBefore = await op.metric('hostns_pod_marks_write_failures_total');
      await createPod(ns, 'big', labels, { hostNetwork: true }, { annotations });
      const meta = await eventually(
        async () => {
          const m = await podMeta(ns, 'big');
          return m.labels[key] === value ? m : undefined;
        },
        10_000,
        'label written alone',
      );
      expect(Object.keys(meta.annotations).filter((k) => k.startsWith('hostns.io/'))).toEqual([]);
      await op.converged();
      expect((await op.metric('hostns_pod_marks_write_failures_total')) - failuresBefore).toBeGreaterThanOrEqual(1);
      expect(op.log).not.toMatch(/pods?\/?big changed under us|big changed under us/);
      if (key === 'hostns.io/violation') expect(await violations(ns, 'big')).toHaveLength(1);
      // Such a pod costs one Event create (409) and one refused patch per restart: not left behind for
      // the converged-restart test of the shared cluster.
      await core().deleteNamespacedPod({ namespace: ns, name: 'big', gracePeriodSeconds: 0 });
    },
  );
});

describe('violation notes name their cause', () => {
  it('deletion, selector change, allow change, Invalid, broken contract: each note names the exception', async () => {
    const ns = await createNamespace('pods-notes');
    const both = { hostNetwork: true };
    await createException(ns, 'deleted', { podSelector: { matchLabels: { case: 'deleted' } } });
    await createException(ns, 'reselected', { podSelector: { matchLabels: { case: 'reselected' } } });
    await createException(ns, 'narrowed', { podSelector: { matchLabels: { case: 'narrowed' } } });
    await createException(ns, 'invalid', { podSelector: { matchLabels: { case: 'invalid' } } });
    await createException(ns, 'contract', { podSelector: { matchLabels: { case: 'contract' } } });
    for (const c of ['deleted', 'reselected', 'narrowed', 'invalid', 'contract']) {
      await createPod(ns, c, { case: c }, both, { serviceAccountName: 'runner' });
      await eventually(
        async () => ((await podMeta(ns, c)).labels['hostns.io/exception'] === c ? true : undefined),
        10_000,
        `${c} covered`,
      );
    }
    const patch = (name: string, spec: unknown) => {
      const r = kubectl(['patch', 'hnse', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })]);
      expect(r.code, r.stderr).toBe(0);
    };
    expect(kubectl(['delete', 'hnse', 'deleted', '-n', ns]).code).toBe(0);
    patch('reselected', { podSelector: { matchLabels: { case: 'elsewhere' } } });
    patch('narrowed', { allow: ['hostIPC'] });
    // A renewal (new acceptedAt) for 200 days: over the 90-day maximum.
    const now = DateTime.utc().startOf('second');
    patch('invalid', {
      expiresAt: now.plus({ days: 200 }).toISO({ suppressMilliseconds: true }),
      riskAcceptance: { acceptedAt: now.toISO({ suppressMilliseconds: true }) },
    });
    patch('contract', { boundTo: { serviceAccountNames: ['agent'] } });
    const expected: Record<string, RegExp> = {
      deleted: /Caused by the deletion of exception deleted\./,
      reselected: /Caused by exception reselected no longer selecting it/,
      narrowed: /Caused by exception narrowed no longer allowing hostNetwork \(its allow list changed\)/,
      invalid: /Caused by exception invalid becoming Invalid \(owner: team-observability\)/,
      contract:
        /Exception contract \(owner: team-observability\) selects it but its contract is broken: runs as ServiceAccount runner, not agent/,
    };
    for (const [pod, note] of Object.entries(expected)) {
      const ev = await eventually(
        async () => {
          const v = await violations(ns, pod);
          return v.length ? v : undefined;
        },
        10_000,
        `${pod}: violation Event`,
      );
      expect(ev).toHaveLength(1);
      expect(ev[0]!.note).toMatch(note);
      expect(Buffer.byteLength(ev[0]!.note ?? '')).toBeLessThanOrEqual(1024);
    }
  });
});

describe('coverage counts', () => {
  it('status.coveredPods counts only fully covered pods; review shows the partly covered apart', async () => {
    const ns = await createNamespace('pods-partial');
    await createException(ns, 'net');
    await createPod(ns, 'full', { app: 'agent' }, { hostNetwork: true });
    await createPod(ns, 'partly', { app: 'agent' }, { hostNetwork: true, hostPID: true });
    await createPod(ns, 'partly-ipc', { app: 'agent' }, { hostNetwork: true, hostIPC: true });
    await eventually(() => isOffender(ns, 'partly'), 10_000, 'partly covered pod is an offender');
    await op.converged();
    const exc = await eventually(
      async () => {
        const e = (await customObjects().getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          name: 'net',
        })) as {
          status?: { coveredPods?: number };
        };
        return e.status?.coveredPods === 1 ? e : undefined;
      },
      10_000,
      'coveredPods = 1',
    );
    expect(exc.status?.coveredPods).toBe(1);
    const r = kubectl(['get', 'hnse', 'net', '-n', ns, '--no-headers']);
    expect(r.stdout).toMatch(/\s1\s/);
    const review = hostnsJson<{
      exceptions: { name: string; coveredPods: number; partlyCoveredPods: number; findings: { kind: string }[] }[];
    }>(['review', '-n', ns]);
    const row = review.exceptions.find((e) => e.name === 'net')!;
    expect(row).toMatchObject({ coveredPods: 1, partlyCoveredPods: 2 });
    expect(row.findings.map((f) => f.kind)).toContain('partial-coverage');
    expect(row.findings.map((f) => f.kind)).not.toContain('unused');
  });
});
