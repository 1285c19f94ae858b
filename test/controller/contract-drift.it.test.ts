// Drift with the real operator process on the real API server: a running pod that kept its
// exception's contract when it was created, whose exception then enforces a control it does not
// meet (tightening needs no new acceptedAt), becomes an offender with a HostNamespaceViolation
// Event naming the control and the container; pods that meet it stay covered.
import { EventsV1Api, type V1Container } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createException } from '../harness/exceptions.ts';
import { core, createNamespace, eventually, kubeConfig, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';

const HARDENED = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
// Everything but runAsNonRoot: the image's user decides, which may be root.
const { runAsNonRoot: _nonRoot, runAsUser: _uid, ...ROOT } = HARDENED;
const container = (name: string, securityContext: Record<string, unknown> = HARDENED): V1Container => ({
  name,
  image: 'registry.example/agent:1',
  securityContext,
});

async function createPod(
  ns: string,
  name: string,
  spec: { containers: V1Container[]; initContainers?: V1Container[] },
) {
  await core().createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, labels: { app: 'agent' } }, spec: { hostNetwork: true, ...spec } },
  });
}

async function labels(ns: string, name: string) {
  return (await core().readNamespacedPod({ namespace: ns, name })).metadata?.labels ?? {};
}

async function violations(ns: string, pod: string) {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => e.reason === 'HostNamespaceViolation' && e.regarding?.name === pod);
}

function enforce(ns: string, exception: string, controls: string[]) {
  const patch = { spec: { riskAcceptance: { enforcedControls: controls } } };
  const r = kubectl(['patch', 'hnse', exception, '-n', ns, '--type=merge', '-p', JSON.stringify(patch)]);
  expect(r.code, r.stderr).toBe(0);
}

let op: OperatorProcess;
beforeAll(async () => {
  op = await OperatorProcess.start();
});
afterAll(async () => {
  await op?.kill('SIGTERM');
});

describe('a running pod drifting from its exception’s contract', () => {
  it('a control added to the exception: the pods breaking it become offenders, their Event names control and container', async () => {
    const ns = await createNamespace('drift');
    await createException(ns, 'agents', {});
    await createPod(ns, 'hardened', { containers: [container('main')] });
    await createPod(ns, 'root-main', { containers: [container('main', ROOT)] });
    await createPod(ns, 'root-init', {
      initContainers: [container('setup', ROOT)],
      containers: [container('main')],
    });
    await createPod(ns, 'escalates', { containers: [container('main', { runAsNonRoot: true, runAsUser: 1000 })] });
    for (const pod of ['hardened', 'root-main', 'root-init', 'escalates'])
      await eventually(
        async () => ((await labels(ns, pod))['hostns.io/exception'] === 'agents' ? true : undefined),
        15_000,
        `${pod} covered before the control is enforced`,
      );

    enforce(ns, 'agents', ['runAsNonRoot']);
    const expected: Record<string, RegExp> = {
      'root-main':
        /Exception agents \(owner: team-observability\) selects it but its contract is broken: container main breaks control runAsNonRoot/,
      'root-init': /init container setup breaks control runAsNonRoot/,
    };
    for (const [pod, note] of Object.entries(expected)) {
      await eventually(
        async () => ((await labels(ns, pod))['hostns.io/violation'] === 'true' ? true : undefined),
        15_000,
        `${pod} labelled an offender`,
      );
      const events = await eventually(
        async () => {
          const v = await violations(ns, pod);
          return v.length ? v : undefined;
        },
        15_000,
        `${pod}: violation Event`,
      );
      expect(events).toHaveLength(1);
      expect(events[0]!.note).toMatch(note);
      expect(events[0]!.type).toBe('Warning');
    }
    await op.converged();
    // Neither the hardened pod nor the one breaking a control the exception does not enforce moved.
    expect((await labels(ns, 'hardened'))['hostns.io/exception']).toBe('agents');
    expect((await labels(ns, 'escalates'))['hostns.io/exception']).toBe('agents');
    expect(await violations(ns, 'hardened')).toHaveLength(0);

    // A second control: the pod breaking it drifts too, the first offenders keep their one Event.
    enforce(ns, 'agents', ['runAsNonRoot', 'noPrivilegeEscalation']);
    await eventually(
      async () => ((await labels(ns, 'escalates'))['hostns.io/violation'] === 'true' ? true : undefined),
      15_000,
      'escalates labelled an offender',
    );
    const escalates = await eventually(
      async () => {
        const v = await violations(ns, 'escalates');
        return v.length ? v : undefined;
      },
      15_000,
      'escalates: violation Event',
    );
    expect(escalates[0]!.note).toMatch(/container main breaks control noPrivilegeEscalation/);
    await op.converged();
    expect((await labels(ns, 'hardened'))['hostns.io/exception']).toBe('agents');
    expect(await violations(ns, 'root-main')).toHaveLength(1);
  });
});
