// The operator's side of dedicated namespaces and network restrictions, with the real operator
// process on the real API server:
// - --exception-namespace-label: an exception in a namespace without the label (it got in before
//   the exception policy, or the label was removed since) is Invalid with the reason in status,
//   register and Event, is not granted, and its pods become offenders; labelled again, it grants.
// - networkRestricted: a covered pod must be selected by a NetworkPolicy of its namespace with
//   Egress in policyTypes, or it is an offender with an Event naming the control; the CRD refuses
//   the control with allow hostNetwork.
import { EventsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exceptionNamespaceProblem } from '../../src/policy/namespaces.ts';
import { createException, exceptionBody, GROUP, PLURAL, VERSION } from '../harness/exceptions.ts';
import { core, createNamespace, customObjects, eventually, kubeConfig, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { hostnsJson } from '../cli/run-cli.ts';

const SETTING = { key: 'hostns.io/exceptions', value: 'allowed' };
const ALLOWED = { 'hostns.io/exceptions': 'allowed' };

async function createPod(ns: string, name: string, labels: Record<string, string>, flags: Record<string, boolean>) {
  await core().createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels },
      spec: { ...flags, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
    },
  });
}

async function marks(ns: string, name: string) {
  return (await core().readNamespacedPod({ namespace: ns, name })).metadata?.labels ?? {};
}
const covered = (ns: string, pod: string, by: string) =>
  eventually(
    async () => ((await marks(ns, pod))['hostns.io/exception'] === by ? true : undefined),
    15_000,
    `${pod} covered by ${by}`,
  );
const offender = (ns: string, pod: string) =>
  eventually(
    async () => ((await marks(ns, pod))['hostns.io/violation'] === 'true' ? true : undefined),
    15_000,
    `${pod} an offender`,
  );

async function events(ns: string, reason: string, regarding: string) {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => e.reason === reason && e.regarding?.name === regarding);
}
const eventFor = (ns: string, reason: string, regarding: string) =>
  eventually(
    async () => {
      const e = await events(ns, reason, regarding);
      return e.length ? e : undefined;
    },
    15_000,
    `${reason} Event for ${regarding}`,
  );

type Exception = { status?: { phase?: string; conditions?: { type: string; status: string; message: string }[] } };
const readException = async (ns: string, name: string) =>
  (await customObjects().getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: PLURAL,
    name,
  })) as Exception;
const phase = (ns: string, name: string, want: string) =>
  eventually(
    async () => ((await readException(ns, name)).status?.phase === want ? true : undefined),
    15_000,
    `${name} ${want}`,
  );

async function grantedIn(ns: string): Promise<string[]> {
  const r = kubectl(['get', 'hostnamespacegrantsets', 'grants', '-n', ns, '-o', 'json']);
  if (r.code !== 0) return [];
  return ((JSON.parse(r.stdout) as { spec: { grants: { exception: string }[] } }).spec.grants ?? []).map(
    (g) => g.exception,
  );
}

function netpol(ns: string, name: string, podSelector: unknown, policyTypes: string[]) {
  const r = kubectl(
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name },
      spec: { podSelector, policyTypes, ...(policyTypes.includes('Egress') ? { egress: [] } : {}) },
    }),
  );
  expect(r.code, r.stderr).toBe(0);
}

let op: OperatorProcess;
beforeAll(async () => {
  op = await OperatorProcess.start(['--exception-namespace-label', 'hostns.io/exceptions=allowed']);
});
afterAll(async () => {
  await op?.kill('SIGTERM');
});

describe('--exception-namespace-label: the operator is the second line', () => {
  it('an exception in a namespace without the label, or with another value: Invalid with the reason, not granted', async () => {
    const variants: Record<string, string>[] = [{}, { 'hostns.io/exceptions': 'yes' }, { 'hostns.io/exceptions': '' }];
    for (const labels of variants) {
      const ns = await createNamespace('exns-op', labels);
      await createException(ns, 'agents');
      await createPod(ns, 'agent', { app: 'agent' }, { hostNetwork: true });
      await phase(ns, 'agents', 'Invalid');
      const problem = exceptionNamespaceProblem(SETTING, ns, labels['hostns.io/exceptions']);
      const valid = (await readException(ns, 'agents')).status?.conditions?.find((c) => c.type === 'Valid');
      expect(valid).toMatchObject({ status: 'False' });
      expect(valid!.message).toContain(problem);
      const [invalid] = await eventFor(ns, 'Invalid', 'agents');
      expect(invalid!.note).toContain('may only exist in namespaces labelled hostns.io/exceptions=allowed');
      await offender(ns, 'agent');
      expect(await grantedIn(ns)).toEqual([]);
      const register = kubectl(['get', 'hnse', 'agents', '-n', ns, '--no-headers']);
      expect(register.stdout).toMatch(/\sInvalid\s/);
      // kubectl hostns review reads the operator's verdict (the CLI cannot see the setting).
      const review = hostnsJson<{ exceptions: { findings: { kind: string; message: string }[] }[] }>([
        'review',
        '-n',
        ns,
      ]);
      expect(review.exceptions[0]!.findings[0]).toEqual({
        kind: 'invalid',
        message: `invalid (the operator says): ${problem}`,
      });
    }
  });

  it('labelled: Active and granted; the label removed: Invalid, its pod an offender with an Event; back: Active', async () => {
    const ns = await createNamespace('exns-op-flip', ALLOWED);
    await createException(ns, 'agents');
    await createPod(ns, 'agent', { app: 'agent' }, { hostNetwork: true });
    await phase(ns, 'agents', 'Active');
    await covered(ns, 'agent', 'agents');
    await eventually(async () => ((await grantedIn(ns)).includes('agents') ? true : undefined), 15_000, 'granted');

    expect(kubectl(['label', 'namespace', ns, 'hostns.io/exceptions-']).code).toBe(0);
    await phase(ns, 'agents', 'Invalid');
    await offender(ns, 'agent');
    const [violation] = await eventFor(ns, 'HostNamespaceViolation', 'agent');
    expect(violation!.note).toContain('Caused by exception agents becoming Invalid');
    await eventually(async () => ((await grantedIn(ns)).length === 0 ? true : undefined), 15_000, 'grant withdrawn');

    expect(kubectl(['label', 'namespace', ns, 'hostns.io/exceptions=allowed']).code).toBe(0);
    await phase(ns, 'agents', 'Active');
    await covered(ns, 'agent', 'agents');
    await eventually(
      async () => ((await grantedIn(ns)).includes('agents') ? true : undefined),
      15_000,
      'granted again',
    );
  });
});

describe('networkRestricted: checked by the operator against the NetworkPolicies', () => {
  const withControl = (spec: Record<string, unknown> = {}) => ({
    allow: ['hostPID'],
    riskAcceptance: {
      justification: 'agent needs the host PID namespace to read process stats',
      acceptedBy: 'security-board',
      enforcedControls: ['networkRestricted'],
    },
    ...spec,
  });

  it('the CRD refuses it with allow hostNetwork, saying why and what to use instead (create and update)', async () => {
    const ns = await createNamespace('netr-crd', ALLOWED);
    const refused = (r: { code: number; stderr: string }) => {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.riskAcceptance.enforcedControls');
      expect(r.stderr).toContain("NetworkPolicy does not select traffic in the node's network namespace");
      expect(r.stderr).toContain('Cilium host policies or Calico host endpoints');
    };
    for (const allow of [['hostNetwork'], ['hostPID', 'hostNetwork']]) {
      const body = exceptionBody(`both-${allow.length}`, withControl({ allow }));
      const r = kubectl(['create', '-n', ns, '-f', '-'], JSON.stringify(body));
      if (allow.length === 1) console.log(`[output] kubectl create -f hostnetwork-networkrestricted.yaml\n${r.stderr}`);
      refused(r);
    }
    await createException(ns, 'net', { allow: ['hostNetwork'] });
    const patch = (name: string, spec: unknown) =>
      kubectl(['patch', 'hnse', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })]);
    refused(patch('net', { riskAcceptance: { enforcedControls: ['networkRestricted'] } }));
    await createException(ns, 'pid', withControl());
    refused(patch('pid', { allow: ['hostPID', 'hostNetwork'] }));
  });

  it('covered only while an Egress NetworkPolicy of its namespace selects the pod; each bad variant an offender', async () => {
    const ns = await createNamespace('netr', ALLOWED);
    const other = await createNamespace('netr-other', ALLOWED);
    await createException(ns, 'agents', withControl());
    netpol(ns, 'egress', { matchLabels: { app: 'agent', net: 'restricted' } }, ['Egress']);
    netpol(ns, 'ingress-only', { matchLabels: { app: 'agent' } }, ['Ingress']);
    netpol(ns, 'others', { matchLabels: { app: 'web' } }, ['Ingress', 'Egress']);
    netpol(other, 'everything', {}, ['Egress']);
    const pid = { hostPID: true };
    await createPod(ns, 'restricted', { app: 'agent', net: 'restricted' }, pid);
    await createPod(ns, 'ingress-only', { app: 'agent' }, pid); // only an Ingress policy selects it
    await createPod(ns, 'unselected', { app: 'agent', net: 'open' }, pid); // policies select other pods
    await covered(ns, 'restricted', 'agents');
    for (const pod of ['ingress-only', 'unselected']) {
      await offender(ns, pod);
      const [e] = await eventFor(ns, 'HostNamespaceViolation', pod);
      expect(e!.note).toContain(
        'Exception agents (owner: team-observability) selects it but its contract is broken: ' +
          'the pod breaks control networkRestricted (a NetworkPolicy of its namespace selects it with Egress',
      );
    }
    // A policy added later selecting the offender: it is covered again.
    netpol(ns, 'egress-open', { matchLabels: { net: 'open' } }, ['Ingress', 'Egress']);
    await covered(ns, 'unselected', 'agents');
    // The restricting policy deleted: its pod drifts, with an Event.
    expect(kubectl(['delete', 'networkpolicy', 'egress', '-n', ns]).code).toBe(0);
    await offender(ns, 'restricted');
    const [drift] = await eventFor(ns, 'HostNamespaceViolation', 'restricted');
    expect(drift!.note).toContain('the pod breaks control networkRestricted');
    // An Egress policy changed to Ingress only: no longer restricting.
    netpol(ns, 'egress-open', { matchLabels: { net: 'open' } }, ['Ingress']);
    await offender(ns, 'unselected');
    await op.converged();
    const e = await readException(ns, 'agents');
    expect((e as { status?: { coveredPods?: number } }).status?.coveredPods).toBe(0);
  });

  it('a pod in a namespace whose exceptions do not enforce it is untouched by NetworkPolicies', async () => {
    const ns = await createNamespace('netr-none', ALLOWED);
    await createException(ns, 'agents', { allow: ['hostPID'] });
    await createPod(ns, 'agent', { app: 'agent' }, { hostPID: true });
    await covered(ns, 'agent', 'agents');
    netpol(ns, 'ingress', {}, ['Ingress']);
    await op.converged();
    expect((await marks(ns, 'agent'))['hostns.io/exception']).toBe('agents');
  });
});
