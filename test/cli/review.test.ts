import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { buildReview, renderReviewJson, renderReviewMarkdown, renderReviewTable } from '../../src/report/review.ts';

const now = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const options = { now, config: DEFAULT_POLICY, within: Duration.fromObject({ days: 30 }) };

function ex(
  name: string,
  over: {
    expiresAt?: string;
    created?: string;
    acceptedAt?: string;
    reviewed?: string;
    by?: string;
    allow?: string[];
    labels?: Record<string, string>;
    owner?: string;
    controls?: string[];
  } = {},
) {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name, namespace: 'mon', creationTimestamp: over.created ?? '2026-05-20T00:00:00Z' },
    spec: {
      owner: over.owner ?? 'team-a',
      allow: over.allow ?? ['hostNetwork'],
      podSelector: { matchLabels: over.labels ?? { app: name } },
      riskAcceptance: {
        justification: 'needs the node network for scraping',
        acceptedBy: 'board',
        ...(over.acceptedAt ? { acceptedAt: over.acceptedAt } : {}),
        ticket: 'SEC-1',
        compensatingControls: ['runs as non-root', 'capabilities dropped'],
        // Met by the test pods (none is privileged): most tests are about other findings.
        enforcedControls: over.controls ?? ['noPrivileged'],
      },
      expiresAt: over.expiresAt ?? '2026-08-01T00:00:00Z',
      ...(over.reviewed ? { review: { lastReviewedAt: over.reviewed, reviewedBy: over.by } } : {}),
    },
  };
}

const pod = (
  name: string,
  labels: Record<string, string>,
  spec: Record<string, boolean> = { hostNetwork: true },
  namespace = 'mon',
) => ({
  metadata: { name, namespace, labels },
  spec,
});

describe('buildReview', () => {
  it('computes covered pods from the pods, not from status', () => {
    const e = { ...ex('used'), status: { coveredPods: 99 } };
    const rows = buildReview(
      [e],
      [
        pod('p1', { app: 'used' }),
        pod('p2', { app: 'used' }),
        pod('p3', { app: 'used' }, {}),
        pod('p4', { app: 'used' }, { hostNetwork: true }, 'other'),
      ],
      options,
    );
    expect(rows[0]).toMatchObject({ name: 'used', coveredPods: 2, findings: [] });
  });

  it('counts only fully covered pods; an offender covered in part is shown apart (partial-coverage), not unused', () => {
    const both = { hostNetwork: true, hostPID: true };
    const rows = buildReview(
      [ex('net'), ex('half', { labels: { app: 'half' } }), ex('pid', { allow: ['hostPID'], labels: { tier: 'pid' } })],
      [
        pod('full', { app: 'net' }),
        pod('partly1', { app: 'net' }, both),
        pod('partly2', { app: 'half' }, both),
        pod('together', { app: 'half', tier: 'pid' }, both),
      ],
      options,
    );
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(by.net).toMatchObject({ coveredPods: 1, partlyCoveredPods: 1 });
    expect(by.net!.findings.map((f) => f.kind)).toEqual(['partial-coverage']);
    expect(by.half).toMatchObject({ coveredPods: 1, partlyCoveredPods: 1 }); // 'together': covered with pid
    expect(by.pid).toMatchObject({ coveredPods: 1, partlyCoveredPods: 0, findings: [] });
    expect(renderReviewTable(rows)).toContain('covers 1 pod only in part');
  });

  it('reports every finding kind', () => {
    const rows = buildReview(
      [
        ex('expired', { created: '2026-04-01T00:00:00Z', expiresAt: '2026-05-25T00:00:00Z' }),
        ex('expiring', { expiresAt: '2026-06-20T00:00:00Z' }),
        ex('overdue', { created: '2026-04-01T00:00:00Z', expiresAt: '2026-06-25T00:00:00Z' }),
        ex('unused', { labels: { app: 'nobody' } }),
        ex('too-long', { expiresAt: '2026-12-01T00:00:00Z' }),
        { ...ex('broken'), spec: { ...ex('broken').spec, owner: '' } },
      ],
      [
        pod('a', { app: 'expiring' }),
        pod('b', { app: 'overdue' }),
        pod('c', { app: 'too-long' }),
        pod('d', { app: 'broken' }),
        pod('e', { app: 'expired' }),
      ],
      options,
    );
    const byName = Object.fromEntries(rows.map((r) => [r.name, r.findings.map((f) => f.kind)]));
    expect(byName).toEqual({
      expired: ['expired'],
      expiring: ['expiring'],
      overdue: ['expiring', 'review-overdue'],
      unused: ['unused'],
      'too-long': ['invalid', 'lifetime-over-max'],
      broken: ['invalid'],
    });
    expect(rows.find((r) => r.name === 'broken')!.problems).toContain('spec.owner is required');
  });

  it('sorts the urgent rows first', () => {
    const rows = buildReview(
      [
        ex('fine'),
        ex('unused', { labels: { app: 'nobody' } }),
        ex('later', { expiresAt: '2026-06-25T00:00:00Z' }),
        ex('sooner', { expiresAt: '2026-06-10T00:00:00Z' }),
        ex('expired', { created: '2026-04-01T00:00:00Z', expiresAt: '2026-05-25T00:00:00Z' }),
      ],
      [pod('a', { app: 'fine' }), pod('b', { app: 'later' }), pod('c', { app: 'sooner' })],
      options,
    );
    expect(rows.map((r) => r.name)).toEqual(['expired', 'sooner', 'later', 'unused', 'fine']);
  });

  it('a recorded review resets the review clock', () => {
    const week = { ...options, within: Duration.fromObject({ days: 7 }) };
    const overdue = buildReview(
      [ex('x', { created: '2026-04-01T00:00:00Z', expiresAt: '2026-06-28T00:00:00Z' })],
      [pod('p', { app: 'x' })],
      week,
    );
    expect(overdue[0]!.findings.map((f) => f.kind)).toEqual(['review-overdue']);
    const reviewed = buildReview(
      [
        ex('x', {
          created: '2026-04-01T00:00:00Z',
          expiresAt: '2026-06-28T00:00:00Z',
          reviewed: '2026-05-25T00:00:00Z',
          by: 'alice',
        }),
      ],
      [pod('p', { app: 'x' })],
      week,
    );
    expect(reviewed[0]).toMatchObject({
      findings: [],
      lastReviewedAt: '2026-05-25T00:00:00Z',
      reviewedBy: 'alice',
      reviewDueAt: '2026-06-24T00:00:00Z',
    });
  });

  it('days left count whole days and go negative once expired', () => {
    const rows = buildReview(
      [
        ex('a', { expiresAt: '2026-06-08T06:00:00Z' }),
        ex('b', { created: '2026-04-01T00:00:00Z', expiresAt: '2026-05-29T12:00:00Z' }),
      ],
      [pod('p', { app: 'a' })],
      options,
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.daysLeft]))).toEqual({ a: 6, b: -3 });
    expect(rows.find((r) => r.name === 'b')!.findings[0]!.message).toBe('expired 3d ago');
  });

  it('respects --within', () => {
    const rows = buildReview([ex('a', { expiresAt: '2026-06-20T00:00:00Z' })], [pod('p', { app: 'a' })], {
      ...options,
      within: Duration.fromObject({ days: 7 }),
    });
    expect(rows[0]!.findings).toEqual([]);
  });
});

describe('review output', () => {
  const rows = buildReview(
    [ex('node-exporter', { reviewed: '2026-05-25T00:00:00Z', by: 'alice' }), ex('spare', { labels: { app: 'x|y' } })],
    [pod('p', { app: 'node-exporter' })],
    options,
  );

  it('table: aligned columns, summary, no colour unless asked', () => {
    const text = renderReviewTable(rows);
    expect(text).not.toContain('\u001b[');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^NAMESPACE\s+NAME\s+OWNER\s+ALLOW\s+PHASE\s+EXPIRES\s+DAYS LEFT\s+PODS\s+TICKET\s+LAST REVIEW\s+CONTROLS\s+FINDINGS$/,
    );
    const col = lines[0]!.indexOf('PHASE');
    expect(lines[1]!.slice(col, col + 6)).toBe('Active');
    expect(lines[2]!.slice(col, col + 6)).toBe('Active');
    expect(text).toContain('2026-05-25 by alice');
    expect(text).toContain('2 exceptions, 1 with findings (1 unused)');
    expect(renderReviewTable(rows, true)).toContain('\u001b[');
  });

  it('markdown: a pasteable table with pipes escaped', () => {
    const md = renderReviewMarkdown(rows, now);
    expect(md).toContain('| NAMESPACE | NAME |');
    expect(md).toContain('app=x\\|y');
  });

  it('json: every field', () => {
    const json = JSON.parse(renderReviewJson(rows, now));
    expect(json.generatedAt).toBe('2026-06-01T12:00:00Z');
    expect(json.exceptions[0]).toMatchObject({
      name: 'spare',
      findings: [{ kind: 'unused' }],
      compensatingControls: ['runs as non-root', 'capabilities dropped'],
      ticket: 'SEC-1',
    });
  });

  it('empty', () => {
    expect(renderReviewTable([])).toBe('No HostNamespaceException found.\n');
  });
});

describe('buildReview: not-enforced (the operator says admission does not honour it)', () => {
  const enforced = (status: 'True' | 'False', reason: string, observedGeneration?: number) => ({
    conditions: [
      {
        type: 'Enforced',
        status,
        reason,
        message: 'm',
        lastTransitionTime: '2026-06-01T00:00:00Z',
        ...(observedGeneration ? { observedGeneration } : {}),
      },
    ],
  });
  const withStatus = (name: string, status: object, generation = 1) => {
    const e = ex(name);
    return { ...e, metadata: { ...e.metadata, generation }, status };
  };
  const covered = [
    pod('p', { app: 'over' }),
    pod('q', { app: 'failing' }),
    pod('r', { app: 'ok' }),
    pod('s', { app: 'pending' }),
    pod('t', { app: 'stale' }),
  ];

  it.each([
    ['over', 'GrantsBudgetExceeded'],
    ['failing', 'GrantsWriteFailed'],
  ])('%s: a not-enforced finding naming %s, sorted before expiring ones', (name, reason) => {
    const rows = buildReview(
      [ex('soon', { expiresAt: '2026-06-10T00:00:00Z' }), withStatus(name, enforced('False', reason))],
      covered,
      options,
    );
    expect(rows[0]!.name).toBe(name);
    expect(rows[0]!.findings).toEqual([
      { kind: 'not-enforced', message: `not enforced (${reason}): its pods are refused at admission` },
    ]);
    expect(renderReviewTable(rows)).toContain('1 not-enforced');
  });

  it('no finding when enforced, pending, about an older generation, or without status', () => {
    const rows = buildReview(
      [
        withStatus('ok', enforced('True', 'InAdmissionGrants')),
        withStatus('pending', enforced('False', 'GrantsPending')),
        withStatus('stale', enforced('False', 'GrantsWriteFailed', 1), 2),
        ex('bare', { labels: { app: 'ok' } }),
      ],
      covered,
      options,
    );
    expect(rows.flatMap((r) => r.findings.map((f) => `${r.name}:${f.kind}`))).toEqual([]);
  });
});
