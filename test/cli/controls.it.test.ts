// `kubectl hostns review` and `audit` on the real control plane: per exception, which pods it is
// meant for meet which of its enforced controls; per pod, the controls it breaks; and the
// no-enforced-controls finding for an exception that enforces none.
import { beforeAll, describe, expect, it } from 'vitest';
import { core, createNamespace } from '../harness/clients.ts';
import { createException } from './fixtures-cluster.ts';
import { hostns, hostnsJson } from './run-cli.ts';

interface ReviewJson {
  exceptions: {
    name: string;
    findings: { kind: string; message: string }[];
    enforcedControls: { control: string; met: number; broken: { pod: string; where: string[] }[] }[];
  }[];
}
interface AuditJson {
  pods: {
    name: string;
    status: string;
    controls: { exception: string; met: string[]; broken: { control: string; where: string[] }[] }[];
    brokenContracts: { exception: string; breaches: string[] }[];
  }[];
}

const HARDENED = { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false };
async function createPod(ns: string, name: string, app: string, init?: Record<string, unknown>) {
  await core().createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels: { app } },
      spec: {
        hostNetwork: true,
        ...(init
          ? { initContainers: [{ name: 'setup', image: 'registry.k8s.io/pause:3.10', securityContext: init }] }
          : {}),
        containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', securityContext: HARDENED }],
      },
    },
  });
}

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('cli-controls');
  const base = { allow: ['hostNetwork'], expiresIn: { days: 60 } };
  await createException(ns, {
    ...base,
    name: 'node-exporter',
    matchLabels: { app: 'node-exporter' },
    enforcedControls: ['runAsNonRoot', 'noPrivilegeEscalation', 'noPrivileged'],
  });
  await createException(ns, { ...base, name: 'legacy', matchLabels: { app: 'legacy' }, enforcedControls: [] });
  await createPod(ns, 'node-exporter-a', 'node-exporter');
  await createPod(ns, 'node-exporter-b', 'node-exporter');
  await createPod(ns, 'node-exporter-root', 'node-exporter', { runAsUser: 0, allowPrivilegeEscalation: false });
  await createPod(ns, 'node-exporter-priv', 'node-exporter', { privileged: true });
  await createPod(ns, 'legacy-1', 'legacy', { privileged: true });
});

describe('per-control reporting', () => {
  it('review -o json: per exception, a tally per enforced control with the pods breaking it', () => {
    const by = Object.fromEntries(hostnsJson<ReviewJson>(['review', '-n', ns]).exceptions.map((e) => [e.name, e]));
    expect(by['node-exporter']!.enforcedControls).toEqual([
      {
        control: 'runAsNonRoot',
        met: 2,
        broken: [
          { pod: 'node-exporter-priv', where: ['init:setup'] },
          { pod: 'node-exporter-root', where: ['init:setup'] },
        ],
        unchecked: 0,
      },
      {
        control: 'noPrivilegeEscalation',
        met: 3,
        broken: [{ pod: 'node-exporter-priv', where: ['init:setup'] }],
        unchecked: 0,
      },
      { control: 'noPrivileged', met: 3, broken: [{ pod: 'node-exporter-priv', where: ['init:setup'] }], unchecked: 0 },
    ]);
    expect(by['node-exporter']!.findings.map((f) => f.kind)).toEqual([]);
    expect(by.legacy!.enforcedControls).toEqual([]);
    expect(by.legacy!.findings.map((f) => f.kind)).toEqual(['no-enforced-controls']);
  });

  it('review table: the enforced-controls table under the exceptions; the finding counted in the summary', () => {
    const r = hostns(['review', '-n', ns]);
    expect(r.code).toBe(0);
    console.log(`[output] kubectl hostns review -n ${ns}\n${r.stdout}`);
    expect(r.stdout).toMatch(
      new RegExp(
        `^${ns} +node-exporter +runAsNonRoot +2 +2 +node-exporter-priv \\(init setup\\), node-exporter-root \\(init setup\\)$`,
        'm',
      ),
    );
    expect(r.stdout).toMatch(
      new RegExp(`^${ns} +node-exporter +noPrivileged +3 +1 +node-exporter-priv \\(init setup\\)$`, 'm'),
    );
    expect(r.stdout).toContain('2 exceptions, 1 with findings (1 no-enforced-controls)');
    expect(hostns(['review', '-n', ns, '--fail-on-findings']).code).toBe(1);
  });

  it('audit: per pod the controls it keeps and breaks, and the broken contract in the detail', () => {
    const json = hostnsJson<AuditJson>(['audit', '--group-by', 'pod', '-n', ns]);
    const by = Object.fromEntries(json.pods.map((p) => [p.name, p]));
    expect(by['node-exporter-a']).toMatchObject({
      status: 'covered',
      controls: [
        {
          exception: 'node-exporter',
          met: ['runAsNonRoot', 'noPrivilegeEscalation', 'noPrivileged'],
          broken: [],
          unchecked: [],
        },
      ],
    });
    expect(by['node-exporter-root']).toMatchObject({
      status: 'offender',
      controls: [
        {
          exception: 'node-exporter',
          met: ['noPrivilegeEscalation', 'noPrivileged'],
          broken: [{ control: 'runAsNonRoot', where: ['init:setup'] }],
          unchecked: [],
        },
      ],
    });
    expect(by['node-exporter-root']!.brokenContracts[0]!.breaches).toEqual([
      expect.stringContaining('init container setup breaks control runAsNonRoot'),
    ]);
    expect(by['legacy-1']).toMatchObject({ status: 'covered', controls: [] });
    const table = hostns(['audit', '--group-by', 'pod', '-n', ns]);
    console.log(`[output] kubectl hostns audit --group-by pod -n ${ns}\n${table.stdout}`);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${ns} +node-exporter-root +hostNetwork +offender +no +2/3 met; broken: runAsNonRoot \\(init setup\\) +`,
        'm',
      ),
    );
  });
});
