// Every query of the Grafana dashboard and every alert expression reads metrics and labels that a
// real operator exports: the operator runs against the control plane (through a TCP proxy, cut
// once so that watch restarts are counted), with an exception, a covered pod and an offender, and
// its /metrics is scraped.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObjects, repoRoot } from '../deploy/manifests.ts';
import { createException } from '../harness/exceptions.ts';
import { core, createNamespace, eventually, kubeconfigPath } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';
import { checkQuery, parseExposition, type Exposition } from './promql.ts';

// Labels Prometheus adds to each scraped series: the scrape's job and instance, and the target
// labels of the Prometheus Operator's ServiceMonitor (honorLabels keeps the operator's own
// `namespace` where a metric has one).
const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'service', 'endpoint', 'pod', 'container']);
// Metrics the alerts read from elsewhere: Prometheus' own `up` and kube-state-metrics.
const EXTERNAL = `
up{job="hostns-operator-metrics"} 1
kube_deployment_status_replicas_available{namespace="hostns-system",deployment="hostns-operator"} 2
kube_deployment_spec_replicas{namespace="hostns-system",deployment="hostns-operator"} 2
`;

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  title: string;
  type: string;
  targets?: Target[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'config/grafana/hostns-operator.json'), 'utf8')) as {
  panels: Panel[];
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const [rule] = readObjects('config/prometheus/rules.yaml') as unknown as [
  { spec: { groups: { rules: { alert: string; expr: string; annotations?: Record<string, string> }[] }[] } },
];
const alerts = rule.spec.groups.flatMap((g) => g.rules);

let op: OperatorProcess | undefined;
let proxy: TcpProxy | undefined;
let scraped: string;
let firstScrape: string;
let exported: Exposition;
let ns: string;
const expiresAt = DateTime.utc().plus({ days: 3 }).startOf('second');
const scratch = mkdtempSync(join(tmpdir(), 'hostns-queries-'));

beforeAll(async () => {
  const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(kubeconfigPath(), 'utf8'))!;
  proxy = new TcpProxy({ host: '127.0.0.1', port: Number(server[1]) });
  await proxy.listen();
  op = await OperatorProcess.start([], proxy.kubeconfigThrough(kubeconfigPath(), join(scratch, 'kubeconfig')));
  firstScrape = await op.get('/metrics');
  ns = await createNamespace('queries');
  await createException(ns, 'agent', { expiresAt: expiresAt.toISO({ suppressMilliseconds: true }) });
  const pod = (name: string, app: string) => ({
    metadata: { name, labels: { app } },
    spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
  });
  await core().createNamespacedPod({ namespace: ns, body: pod('covered', 'agent') });
  await core().createNamespacedPod({ namespace: ns, body: pod('offender', 'other') });
  await eventually(
    async () => ((await op!.metric('hostns_offender_pods', `namespace="${ns}"`)) === 1 ? true : undefined),
    20_000,
    'the offender counted',
  );
  // A short outage: the watches break and are re-established.
  await proxy.down();
  await new Promise((r) => setTimeout(r, 1000));
  await proxy.up();
  await eventually(
    async () => ((await op!.metric('hostns_watch_restarts_total')) >= 1 ? true : undefined),
    30_000,
    'a watch restart counted',
  );
  await op.converged(30_000);
  scraped = await op.get('/metrics');
  exported = parseExposition(scraped + EXTERNAL);
}, 120_000);

afterAll(async () => {
  await op?.kill('SIGKILL');
  await proxy?.down();
  rmSync(scratch, { recursive: true, force: true });
});

describe('metrics the dashboard and the alerts read', () => {
  it('exports the expiry as a timestamp (Unix seconds), as kube-state-metrics does', () => {
    const line = scraped
      .split('\n')
      .find((l) => l.startsWith('hostns_exception_expiry_timestamp_seconds{') && l.includes(`namespace="${ns}"`));
    expect(line).toBe(
      `hostns_exception_expiry_timestamp_seconds{namespace="${ns}",exception="agent"} ${expiresAt.toSeconds()}`,
    );
  });

  it('exports offenders by namespace, and reconcile errors of every controller (from zero, before any error)', () => {
    expect(scraped).toContain(`hostns_offender_pods{namespace="${ns}"} 1`);
    for (const controller of ['exception', 'pod', 'grants'])
      expect(firstScrape).toContain(`hostns_reconcile_errors_total{controller="${controller}"} 0`);
    // and grants write failures of every reason (increase() would miss a series' first failure)
    for (const reason of ['TooLarge', 'Invalid', 'Conflict', 'Forbidden', 'Unavailable', 'Other'])
      expect(firstScrape).toContain(`hostns_grants_write_failures_total{reason="${reason}"} 0`);
    // (the outage may have failed some reconciles since: the value is not checked)
    for (const controller of ['exception', 'pod', 'grants'])
      expect(scraped).toMatch(new RegExp(`^hostns_reconcile_errors_total\\{controller="${controller}"\\} \\d+$`, 'm'));
  });

  it('every dashboard query reads exported metrics and labels, and its legend exported labels', () => {
    const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const problems = queries.flatMap((q) =>
      checkQuery(q.expr, q.legendFormat ? [q.legendFormat] : [], exported, TARGET_LABELS).map(
        (p) => `${q.panel}: ${p}`,
      ),
    );
    expect(problems).toEqual([]);
  });

  it('the dashboard has the panels the issue asks for', () => {
    const exprs = panels
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .join('\n');
    for (const metric of [
      'hostns_exceptions', // exceptions by phase
      'hostns_exception_expiry_timestamp_seconds', // expiry timeline
      'hostns_offender_pods', // offenders over time by namespace
      'hostns_reconcile_errors_total',
      'hostns_reconcile_duration_seconds_bucket', // latency
      'hostns_workqueue_depth',
      'hostns_watch_restarts_total',
      'hostns_leader',
      'hostns_exceptions_not_enforced', // admission enforcement
      'hostns_grants_write_failures_total',
    ]) {
      expect(exprs, metric).toContain(metric);
    }
  });

  it('every alert expression reads exported metrics and labels, and its annotations exported labels', () => {
    const problems = alerts.flatMap((a) =>
      checkQuery(a.expr, Object.values(a.annotations ?? {}), exported, TARGET_LABELS).map((p) => `${a.alert}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('the check catches a query on a metric or label the operator does not export', () => {
    expect(checkQuery('max by (namespace) (hostns_offenders)', [], exported, TARGET_LABELS)).toEqual([
      'metric hostns_offenders is not exported',
    ]);
    expect(checkQuery('hostns_exception_expiry_timestamp_seconds{name="agent"}', [], exported, TARGET_LABELS)).toEqual([
      'hostns_exception_expiry_timestamp_seconds has no label name',
    ]);
  });
});
