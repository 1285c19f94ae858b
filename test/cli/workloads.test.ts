// Review and audit by workload (src/report/workloads.ts), from listed pods, ReplicaSets and Jobs.
import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { buildAudit } from '../../src/report/audit.ts';
import type { PodLike } from '../../src/report/model.ts';
import { buildReview } from '../../src/report/review.ts';
import {
  auditByWorkload,
  auditWorkloadLine,
  controllersOf,
  podWorkload,
  renderAuditWorkloadsTable,
  renderReviewImpact,
  reviewImpact,
  reviewImpactPods,
  reviewWorkloads,
} from '../../src/report/workloads.ts';
import { exception } from '../policy/fixtures.ts';

const now = DateTime.fromISO('2026-11-25T00:00:00Z', { zone: 'utc' });
const options = { now, config: DEFAULT_POLICY, within: Duration.fromObject({ days: 30 }) };
const ref = (kind: string, name: string, apiVersion = 'apps/v1') => ({
  apiVersion,
  kind,
  name,
  uid: `uid-${name}`,
  controller: true,
});

function pod(name: string, labels: Record<string, string>, owner?: object, nodeName?: string): PodLike {
  return {
    metadata: { name, namespace: 'monitoring', labels, ...(owner ? { ownerReferences: [owner] } : {}) } as never,
    spec: { hostNetwork: true, ...(nodeName ? { nodeName } : {}) },
    status: { phase: 'Running' },
  };
}

const controllers = controllersOf([
  {
    kind: 'ReplicaSet',
    object: {
      metadata: {
        name: 'web-5d',
        namespace: 'monitoring',
        uid: 'uid-web-5d',
        ownerReferences: [ref('Deployment', 'web')],
      },
    },
  },
  {
    kind: 'Job',
    object: {
      metadata: {
        name: 'backup-1',
        namespace: 'monitoring',
        uid: 'uid-backup-1',
        ownerReferences: [ref('CronJob', 'backup', 'batch/v1')],
      },
    },
  },
  // No controller: not kept (the ReplicaSet is then its pods' workload).
  { kind: 'ReplicaSet', object: { metadata: { name: 'lone', namespace: 'monitoring', uid: 'uid-lone' } } },
]);

const ne = { app: 'node-exporter' };
const pods = [
  ...[1, 2, 3].map((i) => pod(`ne-${i}`, ne, ref('DaemonSet', 'node-exporter'), `n${i}`)),
  pod('web-5d-a', { app: 'web' }, ref('ReplicaSet', 'web-5d'), 'n1'),
  pod('web-5d-b', { app: 'web' }, ref('ReplicaSet', 'web-5d'), 'n1'),
  pod('backup-1-x', { app: 'backup' }, ref('Job', 'backup-1', 'batch/v1')),
  pod('lone-x', { app: 'web' }, ref('ReplicaSet', 'lone')),
  pod('bare', { app: 'bare' }),
];
// node-exporter covers the DaemonSet until 2026-12-01 (fixture); nothing covers the others.
const exceptions = [exception()];

describe('attribution from listed objects', () => {
  it('Deployment through its ReplicaSet, CronJob through its Job, orphan ReplicaSet, bare pod', () => {
    const label = (p: PodLike) => {
      const w = podWorkload(p, controllers);
      return `${w.kind}/${w.name}`;
    };
    expect(pods.map(label)).toEqual([
      'DaemonSet/node-exporter',
      'DaemonSet/node-exporter',
      'DaemonSet/node-exporter',
      'Deployment/web',
      'Deployment/web',
      'CronJob/backup',
      'ReplicaSet/lone',
      'Pod/bare',
    ]);
  });
});

describe('audit by workload', () => {
  const rows = auditByWorkload(buildAudit(pods, exceptions, options), pods, controllers);

  it('one row per workload, offenders first; pods, nodes and labels counted', () => {
    expect(rows.map((r) => [r.kind, r.name, r.pods, r.nodes, r.status])).toEqual([
      ['CronJob', 'backup', 1, 0, 'offender'],
      ['Deployment', 'web', 2, 1, 'offender'],
      ['Pod', 'bare', 1, 0, 'offender'],
      ['ReplicaSet', 'lone', 1, 0, 'offender'],
      ['DaemonSet', 'node-exporter', 3, 3, 'covered'],
    ]);
    expect(rows.find((r) => r.name === 'web')).toMatchObject({ offenders: 2, labelled: 0, uncovered: ['hostNetwork'] });
  });

  it('the line people read', () => {
    const ds = rows.find((r) => r.kind === 'DaemonSet')!;
    expect(auditWorkloadLine(ds)).toBe('DaemonSet monitoring/node-exporter: 3 pods, covered by node-exporter');
    expect(auditWorkloadLine(rows[1]!)).toBe(
      'Deployment monitoring/web: 2 pods, 2 offending (not allowed: hostNetwork)',
    );
    const table = renderAuditWorkloadsTable(rows);
    expect(table).toMatch(/NAMESPACE\s+WORKLOAD\s+PODS\s+NODES\s+USES\s+STATUS/);
    expect(table).toMatch(
      /DaemonSet\/node-exporter\s+3\s+3\s+hostNetwork\s+covered\s+node-exporter\s+0\/3\s+3 pods, covered by node-exporter/,
    );
    expect(table).toMatch(/5 workloads \(8 pods\) using host namespaces: 4 with offenders\n$/);
  });

  it('a pod missing from the listed pods is its own workload (rows and pods read at different times)', () => {
    const only = auditByWorkload(buildAudit(pods.slice(0, 1), exceptions, options), [], controllers);
    expect(only.map((r) => `${r.kind}/${r.name}`)).toEqual(['Pod/ne-1']);
  });
});

describe('review: the workloads depending on each exception', () => {
  const impact = reviewImpact(exceptions, pods, controllers, options);
  const rows = buildReview(exceptions, pods, options);

  it('the expiring exception names the DaemonSet with what it loses, and when', () => {
    expect(reviewWorkloads(impact.get('monitoring/node-exporter')!)).toEqual([
      {
        kind: 'DaemonSet',
        namespace: 'monitoring',
        name: 'node-exporter',
        pods: 3,
        nodes: 3,
        consequence: 'new nodes get no node-exporter, and its pods evicted or deleted are not replaced',
      },
    ]);
    expect(renderReviewImpact(rows, impact)).toBe(
      '\nWorkloads depending on each exception:\n  monitoring/node-exporter:\n' +
        '    after 2026-12-01T00:00:00Z DaemonSet monitoring/node-exporter (3 pods on 3 nodes) can no longer create ' +
        'pods: new nodes get no node-exporter, and its pods evicted or deleted are not replaced\n',
    );
  });

  it('after the lapse: "since", from the offenders that lost it', () => {
    const later = { ...options, now: DateTime.fromISO('2026-12-02T00:00:00Z', { zone: 'utc' }) };
    const lapsed = reviewImpact(exceptions, pods, controllers, later);
    expect(renderReviewImpact(buildReview(exceptions, pods, later), lapsed)).toMatch(
      /since 2026-12-01T00:00:00Z DaemonSet monitoring\/node-exporter \(3 pods on 3 nodes\)/,
    );
  });

  it('not expiring within the window: counts only; --group-by pod: the pods', () => {
    const wide = { ...options, within: Duration.fromObject({ days: 1 }) };
    expect(renderReviewImpact(buildReview(exceptions, pods, wide), impact)).toContain(
      '    DaemonSet monitoring/node-exporter: 3 pods on 3 nodes\n',
    );
    const byPod = reviewImpactPods(exceptions, pods, options);
    expect(renderReviewImpact(rows, impact, byPod)).toBe(
      '\nPods depending on each exception:\n  monitoring/node-exporter: 3 pods: ne-1, ne-2, ne-3\n',
    );
    expect(renderReviewImpact([], impact)).toBe('');
  });
});
