// `kubectl hostns review` on the real control plane: the report, --fail-on-findings, --mark-reviewed.
import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, customObjects } from '../harness/clients.ts';
import { createException, createPod, iso } from './fixtures-cluster.ts';
import { hostns, hostnsJson } from './run-cli.ts';

interface ReviewJson {
  exceptions: {
    name: string;
    namespace: string;
    phase: string;
    coveredPods: number;
    daysLeft: number;
    ticket: string;
    lastReviewedAt?: string;
    reviewedBy?: string;
    compensatingControls: string[];
    findings: { kind: string; message: string }[];
  }[];
}

let ns: string;

beforeAll(async () => {
  ns = await createNamespace('cli-review');
  await createException(ns, {
    name: 'node-exporter',
    allow: ['hostNetwork'],
    matchLabels: { app: 'node-exporter' },
    expiresIn: { days: 60 },
  });
  await createException(ns, {
    name: 'spare',
    allow: ['hostPID'],
    matchLabels: { app: 'nobody' },
    expiresIn: { days: 60 },
  });
  await createException(ns, { name: 'soon', allow: ['hostIPC'], matchLabels: { app: 'ipc' }, expiresIn: { days: 10 } });
  await createException(ns, {
    name: 'stale',
    allow: ['hostNetwork'],
    matchLabels: { app: 'stale' },
    expiresIn: { days: 45 },
    lastReviewedAgo: { days: 40 },
  });
  await createPod(ns, 'node-exporter-1', { app: 'node-exporter' }, { hostNetwork: true });
  await createPod(ns, 'node-exporter-2', { app: 'node-exporter' }, { hostNetwork: true });
  await createPod(ns, 'ipc-1', { app: 'ipc' }, { hostIPC: true });
  await createPod(ns, 'stale-1', { app: 'stale' }, { hostNetwork: true });
  await createPod(ns, 'plain', { app: 'node-exporter' }, {});
});

describe('kubectl hostns review', () => {
  it('reports every exception with pods covered now and its findings, urgent first', () => {
    const json = hostnsJson<ReviewJson>(['review', '-n', ns]);
    const rows = json.exceptions;
    expect(rows.map((r) => r.name)).toEqual(['soon', 'stale', 'spare', 'node-exporter']);
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(by['node-exporter']).toMatchObject({
      namespace: ns,
      phase: 'Active',
      coveredPods: 2,
      ticket: 'SEC-1234',
      findings: [],
    });
    expect(by['node-exporter']!.compensatingControls).toEqual(['runs as non-root', 'all capabilities dropped']);
    expect(by['node-exporter']!.daysLeft).toBeGreaterThanOrEqual(59);
    expect(by.spare!.findings.map((f) => f.kind)).toEqual(['unused']);
    expect(by.soon!.findings.map((f) => f.kind)).toEqual(['expiring']);
    expect(by.stale!.findings.map((f) => f.kind)).toEqual(['review-overdue']);
    expect(by.stale!.reviewedBy).toBe('bob');
  });

  it('renders a table people read, and Markdown for the review ticket', () => {
    const table = hostns(['review', '-n', ns]);
    expect(table.code).toBe(0);
    expect(table.stdout).not.toContain('\u001b[');
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^NAMESPACE +NAME +OWNER +ALLOW +PHASE +EXPIRES +DAYS LEFT +PODS +TICKET +LAST REVIEW +CONTROLS +FINDINGS$/,
    );
    expect(lines[1]).toMatch(
      new RegExp(`^${ns} +soon +team-observability +hostIPC +Active +\\d{4}-\\d\\d-\\d\\d +\\d+ +1 +SEC-1234 +never +`),
    );
    expect(table.stdout).toContain('4 exceptions, 3 with findings');
    const md = hostns(['review', '-n', ns, '-o', 'markdown']);
    expect(md.stdout).toMatch(/^### Host namespace exceptions: review of /);
    expect(md.stdout).toContain(`| ${ns} | node-exporter | team-observability | hostNetwork | Active |`);
  });

  it('exits 1 with --fail-on-findings when there are findings, 0 without', () => {
    expect(hostns(['review', '-n', ns]).code).toBe(0);
    expect(hostns(['review', '-n', ns, '--fail-on-findings']).code).toBe(1);
  });

  it('reads all namespaces by default', () => {
    const json = hostnsJson<ReviewJson>(['review']);
    expect(json.exceptions.filter((r) => r.namespace === ns)).toHaveLength(4);
  });

  it('--mark-reviewed records the review with a merge patch and clears review-overdue', async () => {
    const before = DateTime.utc().minus({ seconds: 1 }).startOf('second');
    const r = hostns(['review', '--mark-reviewed', 'stale', '-n', ns, '--by', 'alice@example.com']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^hostnamespaceexception\.hostns\.io\/stale reviewed by alice@example\.com at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/,
    );

    const obj = (await customObjects().getNamespacedCustomObject({
      group: 'hostns.io',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'hostnamespaceexceptions',
      name: 'stale',
    })) as {
      spec: {
        review: { lastReviewedAt: string; reviewedBy: string };
        owner: string;
        riskAcceptance: { ticket: string };
      };
    };
    expect(obj.spec.review.reviewedBy).toBe('alice@example.com');
    const at = DateTime.fromISO(obj.spec.review.lastReviewedAt);
    expect(at >= before).toBe(true);
    expect(at <= DateTime.utc().plus({ seconds: 1 })).toBe(true);
    // the merge patch touched nothing else
    expect(obj.spec.owner).toBe('team-observability');
    expect(obj.spec.riskAcceptance.ticket).toBe('SEC-1234');

    const stale = hostnsJson<ReviewJson>(['review', '-n', ns]).exceptions.find((x) => x.name === 'stale')!;
    expect(stale).toMatchObject({ reviewedBy: 'alice@example.com', findings: [] });
    expect(stale.lastReviewedAt).toBe(obj.spec.review.lastReviewedAt);
  });

  it('--now evaluates at another time: everything expired 70 days from now', () => {
    const later = iso(DateTime.utc().plus({ days: 70 }));
    const rows = hostnsJson<ReviewJson>(['review', '-n', ns, '--now', later]).exceptions;
    expect(rows.every((r) => r.phase === 'Expired' && r.findings[0]!.kind === 'expired')).toBe(true);
  });

  it('--mark-reviewed: a missing exception, a missing --by or -n are usage errors (exit 2, one line)', () => {
    const missing = hostns(['review', '--mark-reviewed', 'nope', '-n', ns, '--by', 'alice']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: recording the review on .*\/nope: .*not found\n$/);
    const noBy = hostns(['review', '--mark-reviewed', 'stale', '-n', ns]);
    expect(noBy).toMatchObject({ code: 2, stderr: 'error: --mark-reviewed needs --by <who> (the reviewer)\n' });
    const noNs = hostns(['review', '--mark-reviewed', 'stale', '--by', 'alice']);
    expect(noNs.code).toBe(2);
    expect(noNs.stderr).toContain('needs -n/--namespace');
  });

  it('an empty namespace says so', async () => {
    const empty = await createNamespace('cli-review-empty');
    const r = hostns(['review', '-n', empty]);
    expect(r).toMatchObject({ code: 0, stdout: 'No HostNamespaceException found.\n' });
  });
});
