// The OpenReports reconciler as a pure function of the caches: one result per pod using a host
// namespace (as the labels say), one per exception finding, bounded, and the wiring that queues it.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { HostNamespaceException } from '../../src/api/v1alpha1.ts';
import { keyId, laneOf, LANE, type ReconcileKey } from '../../src/controller/keys.ts';
import { reconcilePod } from '../../src/controller/pods.ts';
import {
  desiredReport,
  EXCEPTION_POLICY,
  POD_POLICY,
  reconcileReport,
  REPORT_NAME,
  type Report,
} from '../../src/controller/reports.ts';
import {
  allReportKeys,
  onExceptionChangeForReport,
  onPodChangeForReport,
  onReportChange,
  REPORT_THROTTLE_MS,
} from '../../src/controller/wiring.ts';
import { writeLane } from '../../src/controller/writes.ts';
import type { PodRecord } from '../../src/kube/pod-record.ts';
import { StoreWriter } from '../../src/kube/store.ts';
import type { Request } from '../../src/runtime/manager.ts';
import { exceptionObj } from '../fake/cluster.ts';
import { cacheWorld, podRecord, stored } from '../fake/caches.ts';

const now = DateTime.fromISO('2026-11-10T00:00:00Z', { zone: 'utc' });

function world() {
  const w = cacheWorld();
  const { exceptions, pods, grants, caches } = w;
  const reports = new StoreWriter<Report>();
  const addException = (
    ns: string,
    name: string,
    expiresAt: DateTime,
    spec: Record<string, unknown> = {},
    review?: string,
    created = '2026-11-01T00:00:00Z',
  ) => {
    const base = stored(exceptionObj(ns, name, expiresAt, spec) as unknown as HostNamespaceException, name, created);
    const obj = {
      ...base,
      spec: { ...base.spec, ...(review ? { review: { lastReviewedAt: review, reviewedBy: 'bob' } } : {}) },
    };
    exceptions.set(`${ns}/${name}`, obj);
  };
  const addPod = (
    ns: string,
    name: string,
    labels: Record<string, string>,
    flags: { hostNetwork?: boolean; hostPID?: boolean } = {},
  ) => {
    pods.set(`${ns}/${name}`, podRecord(ns, name, labels, flags));
  };
  /** The grants object as the operator would have written it: the exceptions are enforced. */
  const grantsWritten = (ns: string) => {
    const desired = caches.desiredGrants(ns, now)!;
    grants.set(`${ns}/grants`, {
      apiVersion: 'hostns.io/v1alpha1',
      kind: 'HostNamespaceGrantSet',
      metadata: { name: 'grants', namespace: ns, resourceVersion: '1' },
      spec: desired.spec,
    });
  };
  return { ...w, reports, addException, addPod, grantsWritten };
}

const summary = (r: Report | undefined) => r?.summary;
const line = (r: Report['results'][number]) =>
  `${r.result} ${r.policy}/${r.rule} ${r.resources[0]?.kind ?? '-'}/${r.resources[0]?.name ?? '-'}`;

describe('desiredReport', () => {
  it('fail for an offender, pass naming the exception for a covered pod; clean pods are left out', () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 60 }));
    w.grantsWritten('team');
    w.addPod('team', 'agent-1', { app: 'agent' }, { hostNetwork: true });
    w.addPod('team', 'rogue', { app: 'rogue' }, { hostNetwork: true, hostPID: true });
    w.addPod('team', 'web', { app: 'web' });
    const r = desiredReport('team', w.caches, now)!;
    expect(r.metadata).toEqual({
      name: REPORT_NAME,
      namespace: 'team',
      labels: { 'app.kubernetes.io/managed-by': 'hostns-operator' },
    });
    expect(r).toMatchObject({
      apiVersion: 'openreports.io/v1alpha1',
      kind: 'Report',
      source: 'hostns-operator',
      scope: { kind: 'Namespace', name: 'team' },
    });
    expect(r.results.map(line)).toEqual([
      `fail ${POD_POLICY}/host-namespaces Pod/rogue`,
      `pass ${POD_POLICY}/host-namespaces Pod/agent-1`,
    ]);
    expect(r.results[0]).toMatchObject({
      severity: 'high',
      message: 'uses hostNetwork,hostPID; not allowed: hostNetwork,hostPID',
      properties: { uses: 'hostNetwork,hostPID', notAllowed: 'hostNetwork,hostPID' },
      resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: 'team', name: 'rogue', uid: 'uid-rogue' }],
    });
    expect(r.results[1]).toMatchObject({
      message: 'uses hostNetwork, allowed by HostNamespaceException agents',
      properties: { exception: 'agents', exceptions: 'agents' },
    });
    expect(summary(r)).toEqual({ pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
  });

  it('the results say what the pod reconciler labels: fail <-> violation=true, pass <-> exception=<first>', () => {
    const w = world();
    w.addException('team', 'b-agents', now.plus({ days: 60 }));
    w.addException('team', 'a-agents', now.plus({ days: 60 }));
    w.grantsWritten('team');
    w.addPod('team', 'agent', { app: 'agent' }, { hostNetwork: true });
    w.addPod('team', 'pid', { app: 'agent' }, { hostNetwork: true, hostPID: true });
    const r = desiredReport('team', w.caches, now)!;
    for (const result of r.results) {
      const pod = result.resources[0]!.name;
      const patch = reconcilePod('team', pod, w.caches, now).writes.find((x) => x.kind === 'podMarks');
      const labels = patch && patch.kind === 'podMarks' ? patch.metadata.labels : {};
      if (result.result === 'fail') expect(labels).toEqual({ 'hostns.io/violation': 'true' });
      else expect(labels).toEqual({ 'hostns.io/exception': result.properties.exception });
    }
    expect(r.results.find((x) => x.result === 'pass')!.properties).toMatchObject({
      exception: 'a-agents',
      exceptions: 'a-agents,b-agents',
    });
  });

  it("a lapsed exception is named in the offender's result", () => {
    const w = world();
    w.addException('team', 'old', now.minus({ days: 1 }));
    w.addPod('team', 'agent', { app: 'agent' }, { hostNetwork: true });
    const r = desiredReport('team', w.caches, now)!;
    expect(r.results[0]).toMatchObject({ result: 'fail', properties: { lapsed: 'old' } });
    expect(r.results[0]!.message).toContain('(lapsed exception: old)');
  });

  it('exception findings: expiring and review overdue warn, invalid and not enforced fail', () => {
    const w = world();
    w.addException('team', 'soon', now.plus({ days: 3 }), { podSelector: { matchLabels: { app: 'soon' } } });
    // created, accepted and last reviewed over 30 days (--review-interval) ago
    w.addException(
      'team',
      'stale',
      now.plus({ days: 15 }),
      { podSelector: { matchLabels: { app: 'stale' } } },
      '2026-09-20T00:00:00Z',
      '2026-09-01T00:00:00Z',
    );
    w.addException('team', 'broken', now.plus({ days: 60 }), { owner: '' });
    w.grantsWritten('team');
    const r = desiredReport('team', w.caches, now)!;
    expect(r.results.map(line)).toEqual([
      `fail ${EXCEPTION_POLICY}/invalid HostNamespaceException/broken`,
      `warn ${EXCEPTION_POLICY}/expiring HostNamespaceException/soon`,
      `warn ${EXCEPTION_POLICY}/review-overdue HostNamespaceException/stale`,
    ]);
    expect(r.results[0]!.message).toContain('spec.owner is required');
    expect(r.results[1]).toMatchObject({
      message: 'expires at 2026-11-13T00:00:00Z',
      properties: { owner: 'team-observability', allow: 'hostNetwork', phase: 'ExpiringSoon' },
    });

    // the grants object could not be written: what admission reads does not hold them
    w.grants.delete('team/grants');
    w.grantsWriteErrors.set('team', 'admission webhook refused the write');
    const failing = desiredReport('team', w.caches, now)!;
    expect(
      failing.results
        .filter((x) => x.rule === 'not-enforced')
        .map((x) => x.resources[0]!.name)
        .sort(),
    ).toEqual(['soon', 'stale']);
    expect(failing.results.find((x) => x.rule === 'not-enforced')!.message).toMatch(
      /^not enforced \(GrantsWriteFailed\): /,
    );
  });

  it("nothing to report: no Report; an exempt namespace's host pods are skipped", () => {
    const w = world();
    w.addPod('team', 'web', { app: 'web' });
    expect(desiredReport('team', w.caches, now)).toBeUndefined();
    expect(desiredReport('empty', w.caches, now)).toBeUndefined();
    w.addPod('kube-system', 'kube-proxy', { app: 'kube-proxy' }, { hostNetwork: true });
    const r = desiredReport('kube-system', w.caches, now)!;
    expect(r.results.map(line)).toEqual([`skip ${POD_POLICY}/host-namespaces Pod/kube-proxy`]);
    expect(r.results[0]!.message).toBe('uses hostNetwork; the namespace is exempt');
  });

  it('bounded: at most maxResults, failures first, the rest counted in the summary and one last result', () => {
    const w = world();
    w.addException('big', 'agents', now.plus({ days: 60 }));
    w.grantsWritten('big');
    for (let i = 0; i < 3000; i++)
      w.addPod('big', `agent-${String(i).padStart(4, '0')}`, { app: 'agent' }, { hostNetwork: true });
    for (let i = 0; i < 20; i++) w.addPod('big', `rogue-${i}`, { app: 'rogue' }, { hostPID: true });
    const r = desiredReport('big', w.caches, now, 100)!;
    expect(r.results).toHaveLength(100);
    expect(r.configuration).toEqual({ limits: { maxResults: 100 } });
    expect(r.results.slice(0, 20).every((x) => x.result === 'fail')).toBe(true);
    expect(summary(r)).toEqual({ pass: 3000, fail: 20, warn: 0, error: 0, skip: 0 });
    expect(r.results[99]).toMatchObject({
      rule: 'results-omitted',
      result: 'skip',
      message:
        '2921 more results not listed (at most 100 per Report): 2921 pass; kubectl hostns audit -n big lists every pod',
      properties: { omitted: '2921' },
    });
    // the default cap keeps a Report of thousands of pods far below etcd's 1.5 MiB
    const full = desiredReport('big', w.caches, now)!;
    expect(full.results).toHaveLength(500);
    expect(Buffer.byteLength(JSON.stringify(full))).toBeLessThan(400 * 1024);
  });

  it('long names and many exceptions are cut to bounded messages and properties', () => {
    const w = world();
    for (let i = 0; i < 40; i++)
      w.addException('team', `exception-with-a-rather-long-name-${i}`, now.plus({ days: 60 }));
    w.grantsWritten('team');
    w.addPod('team', 'agent', { app: 'agent' }, { hostNetwork: true });
    const pass = desiredReport('team', w.caches, now)!.results.find((x) => x.result === 'pass')!;
    expect(Buffer.byteLength(pass.message)).toBeLessThanOrEqual(512);
    expect(Buffer.byteLength(pass.properties.exceptions!)).toBeLessThanOrEqual(256);
    expect(pass.properties.exceptions!.endsWith('…')).toBe(true);
  });

  it('deterministic: the same caches give the same Report (no timestamps), whatever the insertion order', () => {
    const a = world();
    const b = world();
    for (const w of [a, b]) w.addException('team', 'agents', now.plus({ days: 60 }));
    a.addPod('team', 'p1', { app: 'x' }, { hostNetwork: true });
    a.addPod('team', 'p2', { app: 'agent' }, { hostNetwork: true });
    b.addPod('team', 'p2', { app: 'agent' }, { hostNetwork: true });
    b.addPod('team', 'p1', { app: 'x' }, { hostNetwork: true });
    expect(desiredReport('team', a.caches, now)).toEqual(desiredReport('team', b.caches, now));
  });
});

describe('reconcileReport', () => {
  it('writes the desired Report with the current one; nothing when neither exists; a deletion when nothing is left', () => {
    const w = world();
    expect(reconcileReport('team', w.caches, w.reports, now).writes).toEqual([]);
    w.addPod('team', 'rogue', { app: 'rogue' }, { hostNetwork: true });
    const [write] = reconcileReport('team', w.caches, w.reports, now).writes;
    expect(write).toMatchObject({
      kind: 'report',
      namespace: 'team',
      current: undefined,
      report: { summary: { fail: 1 } },
    });
    const current = {
      ...(write as { report: Report }).report,
      metadata: { name: REPORT_NAME, namespace: 'team', resourceVersion: '5' },
    };
    w.reports.set(`team/${REPORT_NAME}`, current);
    w.pods.delete('team/rogue');
    expect(reconcileReport('team', w.caches, w.reports, now).writes).toEqual([
      { kind: 'report', namespace: 'team', report: undefined, current },
    ]);
  });

  it('a terminating namespace gets no Report', () => {
    const w = world();
    w.addPod('team', 'rogue', { app: 'rogue' }, { hostNetwork: true });
    w.namespaces.set('team', { name: 'team', resourceVersion: '1', creationTimestamp: '', terminating: true });
    expect(reconcileReport('team', w.caches, w.reports, now).writes).toEqual([]);
  });
});

describe('wiring of the Reports', () => {
  const report = { key: { kind: 'report', namespace: 'team' }, lane: LANE.reports, throttleMs: REPORT_THROTTLE_MS };
  const run = (map: (c: never) => Iterable<Request<ReconcileKey>>, c: unknown) => [...map(c as never)];
  const pod = (labels: Record<string, string>, rv = '1', uid = 'u') =>
    ({ uid, resourceVersion: rv, labels }) as unknown as PodRecord;

  it("an exception change (our own status write too) queues its namespace's Report; its echo does not", () => {
    const e = (rv: string) => ({ metadata: { resourceVersion: rv } });
    expect(
      run(onExceptionChangeForReport, { key: 'team/a', obj: e('2'), previous: e('1'), origin: 'observed' }),
    ).toEqual([report]);
    expect(
      run(onExceptionChangeForReport, { key: 'team/a', obj: undefined, previous: e('1'), origin: 'watch' }),
    ).toEqual([report]);
    expect(run(onExceptionChangeForReport, { key: 'team/a', obj: e('2'), previous: e('2'), origin: 'watch' })).toEqual(
      [],
    );
  });

  it('a pod appearing, leaving, replaced or relabelled queues it; our marks do not', () => {
    expect(run(onPodChangeForReport, { key: 'team/p', obj: pod({}), previous: undefined, origin: 'watch' })).toEqual([
      report,
    ]);
    expect(run(onPodChangeForReport, { key: 'team/p', obj: undefined, previous: pod({}), origin: 'watch' })).toEqual([
      report,
    ]);
    expect(
      run(onPodChangeForReport, { key: 'team/p', obj: pod({}, '2', 'v'), previous: pod({}), origin: 'watch' }),
    ).toEqual([report]);
    expect(
      run(onPodChangeForReport, {
        key: 'team/p',
        obj: pod({ app: 'b' }, '2'),
        previous: pod({ app: 'a' }),
        origin: 'watch',
      }),
    ).toEqual([report]);
    expect(
      run(onPodChangeForReport, {
        key: 'team/p',
        obj: pod({ 'hostns.io/violation': 'true' }, '2'),
        previous: pod({}),
        origin: 'observed',
      }),
    ).toEqual([]);
  });

  it("someone else's change of our Report queues it (restored); our own write does not", () => {
    const r = (rv: string) => ({ metadata: { resourceVersion: rv } });
    expect(
      run(onReportChange, { key: `team/${REPORT_NAME}`, obj: undefined, previous: r('1'), origin: 'watch' }),
    ).toEqual([report]);
    expect(
      run(onReportChange, { key: `team/${REPORT_NAME}`, obj: r('2'), previous: r('1'), origin: 'observed' }),
    ).toEqual([]);
  });

  it('keys, lanes, and every namespace on taking the lead', () => {
    const w = world();
    w.namespaces.set('a', { name: 'a', resourceVersion: '1', creationTimestamp: '', terminating: false });
    w.reports.set(`gone/${REPORT_NAME}`, {} as Report);
    expect([...allReportKeys(w.namespaces, w.reports)].map(keyId)).toEqual(['report:a', 'report:gone']);
    expect(laneOf({ kind: 'report', namespace: 'a' })).toBe(LANE.pods);
    expect(writeLane({ kind: 'report', namespace: 'a', report: undefined })).toBe(LANE.pods);
  });
});
