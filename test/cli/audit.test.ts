import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { buildAudit, renderAuditJson, renderAuditTable } from '../../src/report/audit.ts';

const now = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const options = { now, config: DEFAULT_POLICY };

const ex = (name: string, allow: string[], labels: Record<string, string>, expiresAt = '2026-08-01T00:00:00Z') => ({
  apiVersion: 'hostns.io/v1alpha1',
  kind: 'HostNamespaceException',
  metadata: { name, namespace: 'mon', creationTimestamp: '2026-05-20T00:00:00Z' },
  spec: {
    owner: 'team-a',
    allow,
    podSelector: { matchLabels: labels },
    riskAcceptance: { justification: 'needs the node network for scraping', acceptedBy: 'board' },
    expiresAt,
  },
});

const pod = (
  name: string,
  labels: Record<string, string>,
  spec: Record<string, boolean>,
  namespace = 'mon',
  annotations: Record<string, string> = {},
) => ({
  metadata: { name, namespace, labels, annotations },
  spec,
});

describe('buildAudit', () => {
  it('classifies like the operator: covered, offender (with lapsed), exempt; clean pods left out', () => {
    const rows = buildAudit(
      [
        pod('covered', { app: 'ne' }, { hostNetwork: true }),
        pod('partly', { app: 'ne' }, { hostNetwork: true, hostPID: true }),
        pod('lapsed', { app: 'old' }, { hostIPC: true }),
        pod('clean', { app: 'ne' }, {}),
        pod('proxy', {}, { hostNetwork: true }, 'kube-system'),
      ],
      [ex('ne', ['hostNetwork'], { app: 'ne' }), ex('old', ['hostIPC'], { app: 'old' }, '2026-05-30T00:00:00Z')],
      options,
    );
    expect(rows.map((r) => [r.name, r.status, r.exceptions, r.uncovered])).toEqual([
      ['lapsed', 'offender', [], ['hostIPC']],
      ['partly', 'offender', ['ne'], ['hostPID']],
      ['covered', 'covered', ['ne'], []],
      ['proxy', 'exempt', [], []],
    ]);
    expect(rows[0]!.lapsed).toEqual([{ name: 'old', owner: 'team-a' }]);
  });

  it('says whether the operator labels agree', () => {
    const exs = [ex('ne', ['hostNetwork'], { app: 'ne' })];
    const agreeing = pod('a', { app: 'ne', 'hostns.io/exception': 'ne' }, { hostNetwork: true }, 'mon', {
      'hostns.io/exceptions': 'ne',
    });
    const stale = pod('b', { app: 'ne', 'hostns.io/violation': 'true' }, { hostNetwork: true }, 'mon', {
      'hostns.io/violation': 'hostNetwork',
    });
    const unlabelled = pod('c', { app: 'ne' }, { hostNetwork: true });
    const rows = buildAudit([agreeing, stale, unlabelled], exs, options);
    expect(rows.map((r) => [r.name, r.labelled, r.operatorLabel])).toEqual([
      ['a', true, 'exception=ne'],
      ['b', false, 'violation=true'],
      ['c', false, ''],
    ]);
  });

  it("the operator's violation-event marker does not make an offender or a covered pod unlabelled", () => {
    const exs = [ex('ne', ['hostNetwork'], { app: 'ne' })];
    const marker = { 'hostns.io/violation-event': '0123 hostNetwork' };
    const offender = pod('o', { app: 'x', 'hostns.io/violation': 'true' }, { hostNetwork: true }, 'mon', {
      'hostns.io/violation': 'hostNetwork',
      ...marker,
    });
    const covered = pod('c', { app: 'ne', 'hostns.io/exception': 'ne' }, { hostNetwork: true }, 'mon', {
      'hostns.io/exceptions': 'ne',
      ...marker,
    });
    const rows = buildAudit([offender, covered], exs, options);
    expect(rows.map((r) => [r.name, r.labelled])).toEqual([
      ['o', true],
      ['c', true],
    ]);
  });

  it('an invalid exception covers nothing', () => {
    const bad = {
      ...ex('bad', ['hostNetwork'], { app: 'ne' }),
      spec: { ...ex('bad', ['hostNetwork'], { app: 'ne' }).spec, owner: '' },
    };
    const rows = buildAudit([pod('p', { app: 'ne' }, { hostNetwork: true })], [bad], options);
    expect(rows[0]).toMatchObject({ status: 'offender', lapsed: [] });
  });
});

describe('audit output', () => {
  const rows = buildAudit(
    [pod('p', { app: 'ne' }, { hostNetwork: true }), pod('q', {}, { hostPID: true })],
    [ex('ne', ['hostNetwork'], { app: 'ne' })],
    options,
  );
  it('table', () => {
    const text = renderAuditTable(rows);
    expect(text.split('\n')[0]).toMatch(/^NAMESPACE\s+POD\s+USES\s+STATUS\s+EXCEPTION\s+LABELLED\s+CONTROLS\s+DETAIL$/);
    expect(text).toContain('2 pods using host namespaces: 1 offender, 1 covered, 0 exempt; 2 not (yet) labelled');
  });
  it('json', () => {
    const json = JSON.parse(renderAuditJson(rows, now));
    expect(json.summary).toEqual({ pods: 2, offenders: 1, covered: 1, exempt: 0, unlabelled: 2 });
    expect(json.pods[1]).toMatchObject({ name: 'p', status: 'covered', exceptions: ['ne'], labelled: false });
  });
});
