// OpenReports on the real control plane: config/openreports (the upstream Report CRD, the RBAC)
// installed, the operator run with --policy-reports. Each namespace's Report says exactly what the
// labels the operator writes say, follows changes (polled, no timing asserted), is restored when
// deleted, and goes when nothing is left to report; without the flag no Report is written.
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { core, createNamespace, customObjects, eventually, kubectl } from '../harness/clients.ts';
import { createException, GROUP, PLURAL, VERSION } from '../harness/exceptions.ts';
import { OperatorProcess } from '../harness/operator-process.ts';

interface ReportResult {
  policy: string;
  rule: string;
  result: string;
  message: string;
  resources: { kind: string; name: string }[];
  properties: Record<string, string>;
}
interface Report {
  metadata: { labels?: Record<string, string> };
  source: string;
  scope: { kind: string; name: string };
  summary: Record<string, number>;
  results: ReportResult[];
}

const reports = { group: 'openreports.io', version: 'v1alpha1', plural: 'reports' };

async function readReport(ns: string): Promise<Report | undefined> {
  try {
    return (await customObjects().getNamespacedCustomObject({
      ...reports,
      namespace: ns,
      name: 'hostns-operator',
    })) as Report;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function createPod(ns: string, name: string, labels: Record<string, string>, flags: Record<string, boolean>) {
  await core().createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, labels }, spec: { ...flags, containers: [{ name: 'c', image: 'busybox' }] } },
  });
}

/**
 * What the labels on the namespace's pods say, as `pod result exception`: `fail` for
 * hostns.io/violation=true, `pass <exception>` for hostns.io/exception, and the same read from the
 * Report's pod results. Pods using no host namespace carry neither and have no result.
 */
async function labelsAndReport(ns: string): Promise<{ labels: string[]; report: string[]; doc?: Report }> {
  const pods = (await core().listNamespacedPod({ namespace: ns })).items;
  const labels = pods
    .flatMap((p) => {
      const l = p.metadata?.labels ?? {};
      if (l['hostns.io/violation'] === 'true') return [`${p.metadata!.name} fail`];
      if (l['hostns.io/exception']) return [`${p.metadata!.name} pass ${l['hostns.io/exception']}`];
      return [];
    })
    .sort();
  const doc = await readReport(ns);
  const report = (doc?.results ?? [])
    .filter((r) => r.resources[0]?.kind === 'Pod')
    .map((r) => `${r.resources[0]!.name} ${r.result}${r.result === 'pass' ? ` ${r.properties.exception}` : ''}`)
    .sort();
  return { labels, report, doc };
}

/** Polls until the Report and the labels agree and equal `expected`. */
async function agreeing(ns: string, expected: string[], what: string): Promise<Report> {
  return eventually(
    async () => {
      const seen = await labelsAndReport(ns);
      const same =
        JSON.stringify(seen.labels) === JSON.stringify(expected) &&
        JSON.stringify(seen.report) === JSON.stringify(expected);
      return same ? seen.doc : undefined;
    },
    30_000,
    what,
  );
}

let op: OperatorProcess | undefined;

beforeAll(async () => {
  const applied = kubectl(['apply', '-k', 'config/openreports']);
  if (applied.code !== 0) throw new Error(`kubectl apply -k config/openreports: ${applied.stderr}`);
  const wait = kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/reports.openreports.io']);
  if (wait.code !== 0) throw new Error(wait.stderr);
  op = await OperatorProcess.start(['--policy-reports']);
});

afterAll(async () => {
  await op?.kill('SIGTERM');
  kubectl(['delete', '-k', 'config/openreports', '--wait=false']);
});

describe('OpenReports Reports (--policy-reports)', () => {
  it("config/openreports lets the operator's account manage Reports, and nothing else of openreports.io", () => {
    const as = ['--as', 'system:serviceaccount:hostns-system:hostns-operator'];
    for (const verb of ['create', 'update', 'delete', 'list', 'watch'])
      expect(kubectl(['auth', 'can-i', verb, 'reports.openreports.io', '-n', 'any', ...as]).stdout.trim()).toBe('yes');
    expect(kubectl(['auth', 'can-i', 'create', 'clusterreports.openreports.io', ...as]).stdout.trim()).toBe('no');
  });

  it("one Report per namespace that matches the labels exactly, with the exceptions' findings", async () => {
    const ns = await createNamespace('reports');
    await createException(ns, 'agents');
    await createException(ns, 'soon', {
      podSelector: { matchLabels: { app: 'nobody' } },
      expiresAt: DateTime.utc().plus({ days: 3 }).toISO({ suppressMilliseconds: true }),
    });
    await createPod(ns, 'agent-1', { app: 'agent' }, { hostNetwork: true });
    await createPod(ns, 'agent-2', { app: 'agent' }, { hostNetwork: true });
    await createPod(ns, 'rogue', { app: 'rogue' }, { hostPID: true });
    await createPod(ns, 'web', { app: 'web' }, {});

    const report = await agreeing(ns, ['agent-1 pass agents', 'agent-2 pass agents', 'rogue fail'], 'Report = labels');
    expect(report).toMatchObject({
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'hostns-operator' } },
      source: 'hostns-operator',
      scope: { kind: 'Namespace', name: ns },
    });
    expect(report.results.find((r) => r.resources[0]!.name === 'rogue')!.message).toBe(
      'uses hostPID; not allowed: hostPID',
    );
    const findings = report.results.filter((r) => r.policy === 'hostns-exception-lifecycle');
    expect(findings.map((r) => `${r.resources[0]!.name} ${r.rule} ${r.result}`)).toEqual(['soon expiring warn']);
    expect(report.summary).toEqual({ pass: 2, fail: 1, warn: 1, error: 0, skip: 0 });

    // a new exception covers rogue: the Report and the labels follow, in step
    await createException(ns, 'debug', { allow: ['hostPID'], podSelector: { matchLabels: { app: 'rogue' } } });
    await agreeing(
      ns,
      ['agent-1 pass agents', 'agent-2 pass agents', 'rogue pass debug'],
      'Report follows a new exception',
    );

    // a pod leaves, another arrives
    await core().deleteNamespacedPod({ namespace: ns, name: 'agent-2', gracePeriodSeconds: 0 });
    await createPod(ns, 'intruder', { app: 'web' }, { hostIPC: true });
    const after = await agreeing(
      ns,
      ['agent-1 pass agents', 'intruder fail', 'rogue pass debug'],
      'Report follows pods',
    );
    expect(after.summary).toMatchObject({ pass: 2, fail: 1 });
  });

  it('a Report deleted by someone else is restored; one with nothing left to report is deleted', async () => {
    const ns = await createNamespace('reports-gone');
    await createPod(ns, 'rogue', { app: 'rogue' }, { hostNetwork: true });
    await agreeing(ns, ['rogue fail'], 'first Report');
    await customObjects().deleteNamespacedCustomObject({ ...reports, namespace: ns, name: 'hostns-operator' });
    await agreeing(ns, ['rogue fail'], 'Report restored');

    await core().deleteNamespacedPod({ namespace: ns, name: 'rogue', gracePeriodSeconds: 0 });
    await eventually(async () => ((await readReport(ns)) === undefined ? true : undefined), 30_000, 'Report deleted');
  });

  it('an invalid exception is a fail finding, fixed when it is fixed', async () => {
    const ns = await createNamespace('reports-invalid');
    // valid for the API server, invalid for the policy: a lifetime over --max-lifetime (90d)
    await createException(ns, 'too-long', {
      expiresAt: DateTime.utc().plus({ days: 200 }).toISO({ suppressMilliseconds: true }),
    });
    const report = await eventually(
      async () => (await readReport(ns))?.results.find((r) => r.rule === 'invalid'),
      30_000,
      'invalid finding',
    );
    expect(report).toMatchObject({ result: 'fail', resources: [{ kind: 'HostNamespaceException', name: 'too-long' }] });
    expect(report.message).toMatch(/^invalid: lifetime from .* over the maximum/);
    await customObjects().patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: ns,
      name: 'too-long',
      body: [
        {
          op: 'replace',
          path: '/spec/expiresAt',
          value: DateTime.utc().plus({ days: 20 }).toISO({ suppressMilliseconds: true }),
        },
      ],
    });
    await eventually(async () => ((await readReport(ns)) === undefined ? true : undefined), 30_000, 'no finding left');
  });

  it('off by default: the operator without --policy-reports writes no Report', async () => {
    await op?.kill('SIGTERM');
    op = await OperatorProcess.start();
    const ns = await createNamespace('reports-off');
    await createPod(ns, 'rogue', { app: 'rogue' }, { hostNetwork: true });
    await eventually(
      async () => {
        const labels = (await core().readNamespacedPod({ namespace: ns, name: 'rogue' })).metadata?.labels ?? {};
        return labels['hostns.io/violation'] === 'true' ? true : undefined;
      },
      30_000,
      'offender labelled',
    );
    await op.converged();
    expect(await readReport(ns)).toBeUndefined();
  });
});
