// The three reconcilers and the wiring as pure functions of (caches, now): no API, no timers.
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import type { HostNamespaceException, HostNamespaceGrantSet } from '../../src/api/v1alpha1.ts';
import { reconcileException, TRANSITION_MARGIN_MS } from '../../src/controller/exceptions.ts';
import { reconcileGrantIndex, reconcileGrants } from '../../src/controller/grants.ts';
import { writeNamespaceGrants } from '../../src/controller/grants-writer.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { keyId } from '../../src/controller/keys.ts';
import { reconcilePod } from '../../src/controller/pods.ts';
import { reconcileRefusal } from '../../src/controller/refusals.ts';
import {
  allKeys,
  COVERAGE_THROTTLE_MS,
  onExceptionChange,
  onGrantsChange,
  onPodChange,
} from '../../src/controller/wiring.ts';
import { eventName } from '../../src/kube/events.ts';
import type { RefusalRecord } from '../../src/kube/refusal-record.ts';
import type { OwnerRef } from '../../src/policy/workloads.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { planException } from '../../src/policy/status.ts';
import { evaluateException } from '../../src/policy/evaluated.ts';
import type { Request } from '../../src/runtime/manager.ts';
import type { ReconcileKey } from '../../src/controller/keys.ts';
import { exceptionObj } from '../fake/cluster.ts';
import { cacheWorld, podRecord, stored } from '../fake/caches.ts';

const now = DateTime.fromISO('2026-11-10T00:00:00Z', { zone: 'utc' });

function world() {
  const w = cacheWorld();
  const { exceptions, pods, replicaSets, jobs } = w;
  const addException = (ns: string, name: string, expiresAt: DateTime, extra: Partial<HostNamespaceException> = {}) => {
    const base = stored(exceptionObj(ns, name, expiresAt) as unknown as HostNamespaceException, name);
    const obj = { ...base, ...extra, metadata: base.metadata };
    exceptions.set(`${ns}/${name}`, obj);
    return obj;
  };
  const addPod = (
    ns: string,
    name: string,
    labels: Record<string, string>,
    flags: { hostNetwork?: boolean; hostPID?: boolean } = {},
    owner?: OwnerRef,
  ) => {
    const rec = podRecord(ns, name, labels, flags, owner);
    pods.set(`${ns}/${name}`, rec);
    return rec;
  };
  /** A cached ReplicaSet or Job `ref` controlled by `owner`. */
  const addOwned = (ns: string, ref: OwnerRef, owner: OwnerRef) =>
    (ref.kind === 'Job' ? jobs : replicaSets).set(`${ns}/${ref.name}`, { uid: ref.uid, owner });
  return { ...w, addException, addPod, addOwned };
}

describe('reconcileException', () => {
  it('a new exception: its Activated Event first, then the status that records it; back at its next transition', () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    // Until its namespace's grants object holds it, nothing is announced (admission would not honour it).
    const pending = reconcileException('team', 'agents', w.caches, now);
    expect(pending.writes).toEqual([]);
    expect(pending.requeueAfter).toBeGreaterThan(0);
    const desired = w.caches.desiredGrants('team', now)!;
    w.grants.set('team/grants', {
      apiVersion: 'hostns.io/v1alpha1',
      kind: 'HostNamespaceGrantSet',
      metadata: { name: 'grants', namespace: 'team', resourceVersion: '2' },
      spec: desired.spec,
    });
    const r = reconcileException('team', 'agents', w.caches, now);
    expect(r.writes.map((x) => x.kind)).toEqual(['event', 'exceptionStatus']);
    expect(r.writes[0]).toMatchObject({
      event: { reason: 'Activated', regarding: { kind: 'HostNamespaceException', name: 'agents', uid: 'uid-agents' } },
    });
    expect(r.writes[1]).toMatchObject({
      object: {
        metadata: { resourceVersion: '1' },
        status: { phase: 'Active', coveredPods: 1, announced: { activated: expect.any(String) } },
      },
    });
    // ExpiringSoon begins 7 days before expiry.
    expect(r.requeueAfter).toBe(now.plus({ days: 13 }).diff(now).toMillis() + TRANSITION_MARGIN_MS);
  });

  it('converged: nothing to write, still a timer', () => {
    const w = world();
    const obj = w.addException('team', 'agents', now.plus({ days: 20 }));
    const e = evaluateException(obj, now, DEFAULT_POLICY);
    const enforcement = w.caches.enforcementIn('team', now)(e);
    const status = planException(obj, e.facts, e.lifecycle, 0, enforcement, now).status;
    w.exceptions.set('team/agents', { ...obj, status });
    const r = reconcileException('team', 'agents', w.caches, now);
    expect(r.writes).toEqual([]);
    expect(r.requeueAfter).toBeGreaterThan(0);
  });

  it('lapsed: its Expired Event, then the status; no timer (nothing changes any more)', () => {
    const w = world();
    w.addException('team', 'short', now.minus({ hours: 1 }), {});
    const r = reconcileException('team', 'short', w.caches, now);
    expect(r.writes.map((x) => (x.kind === 'event' ? x.event.reason : x.kind))).toEqual(['Expired', 'exceptionStatus']);
    expect(r.requeueAfter).toBeUndefined();
  });

  it('Invalid: a Warning Event naming the problem, phase Invalid, coveredPods 0, no timer', () => {
    const w = world();
    w.addException('team', 'bad', now.plus({ days: 200 }));
    w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    const r = reconcileException('team', 'bad', w.caches, now);
    expect(r.writes[0]).toMatchObject({
      kind: 'event',
      event: { reason: 'Invalid', type: 'Warning', note: expect.stringContaining('over the maximum of 90 days') },
    });
    expect(r.writes[1]).toMatchObject({ object: { status: { phase: 'Invalid', coveredPods: 0 } } });
    expect(r.requeueAfter).toBeUndefined();
  });

  it('gone from the cache: nothing', () => {
    expect(reconcileException('team', 'nope', world().caches, now)).toEqual({ writes: [] });
  });
});

/** A FailedCreate of `involved` as kube-controller-manager writes it when our policy refuses the pod. */
function refusal(involved: OwnerRef, lapsed = ''): RefusalRecord {
  return {
    resourceVersion: '9',
    involved,
    message:
      `Error creating: pods "x" is forbidden: ValidatingAdmissionPolicy 'hostns-host-namespaces' with binding ` +
      `'hostns-host-namespaces' denied request: Pod 'x' uses hostNetwork, and no active HostNamespaceException ` +
      `in namespace team allows that for its labels${lapsed}. Host namespaces are denied by default.`,
  };
}

describe('reconcileRefusal', () => {
  const ds: OwnerRef = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'uid-ds' };

  it('a DaemonSet refused after its exception lapsed: one Event on the DaemonSet naming the exception and its owner', () => {
    const w = world();
    w.addException('team', 'agents', now.minus({ hours: 1 }));
    w.addPod('team', 'agent-a', { app: 'agent' }, { hostNetwork: true }, ds);
    w.refusals.set('team/agent.1', refusal(ds));
    const r = reconcileRefusal('team', 'agent.1', w.caches, now);
    expect(r.writes).toHaveLength(1);
    const { event } = r.writes[0] as Extract<(typeof r.writes)[number], { kind: 'event' }>;
    const expired = now.minus({ hours: 1 }).toISO({ suppressMilliseconds: true });
    expect(event).toMatchObject({
      regarding: { kind: 'DaemonSet', name: 'agent', uid: 'uid-ds', namespace: 'team' },
      reason: 'HostNamespaceExceptionLapsed',
      type: 'Warning',
      key: `lapsed=agents@${expired}`,
    });
    expect(event.note).toMatch(
      new RegExp(
        '^DaemonSet agent cannot create pods: the host namespace admission policy refuses them since exception ' +
          `agents \\(owner: team-observability, allowed hostNetwork\\) lapsed at ${expired}: new nodes get no agent`,
      ),
    );
    expect(event.note).toContain('Refusal: Error creating: pods "x" is forbidden: ValidatingAdmissionPolicy \'hostns-');
  });

  it('a ReplicaSet refused: the Event goes on its Deployment; the lapse found from the message when no pod is left', () => {
    const w = world();
    w.addException('team', 'agents', now.minus({ hours: 1 }));
    const rs: OwnerRef = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'uid-rs' };
    w.addOwned('team', rs, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web' });
    // As grants objects name it without an owner (older ones) and with one (its lapsed entry).
    for (const named of [
      'agents (expired 2026-11-09T23:00:00Z)',
      'agents (owner: a (b), c, expired 2026-11-09T23:00:00Z)',
    ]) {
      w.refusals.set('team/web-5d.1', refusal(rs, ` (lapsed: ${named})`));
      const r = reconcileRefusal('team', 'web-5d.1', w.caches, now);
      expect(r.writes[0]).toMatchObject({ event: { regarding: { kind: 'Deployment', name: 'web', uid: 'uid-web' } } });
    }
  });

  it('refused for another reason (never allowed), an exception still granting, or the refusal gone: nothing', () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    w.refusals.set('team/agent.1', refusal(ds, ' (lapsed: agents (expired 2026-11-09T23:00:00Z))'));
    expect(reconcileRefusal('team', 'agent.1', w.caches, now).writes).toEqual([]);
    w.refusals.set('team/agent.2', refusal(ds));
    expect(reconcileRefusal('team', 'agent.2', w.caches, now).writes).toEqual([]);
    expect(reconcileRefusal('team', 'gone', w.caches, now).writes).toEqual([]);
  });
});

describe('reconcilePod', () => {
  it('an offender: a violation Event first, then the labels (uid as precondition)', () => {
    const w = world();
    w.addPod('team', 'p', { app: 'other' }, { hostNetwork: true });
    const r = reconcilePod('team', 'p', w.caches, now);
    expect(r.writes.map((x) => x.kind)).toEqual(['event', 'podMarks']);
    expect(r.writes[0]).toMatchObject({
      event: { reason: 'HostNamespaceViolation', key: 'hostNetwork', regarding: { kind: 'Pod', uid: 'uid-p' } },
    });
    expect(r.writes[1]).toMatchObject({
      uid: 'uid-p',
      metadata: { labels: { 'hostns.io/violation': 'true' }, annotations: { 'hostns.io/violation': 'hostNetwork' } },
    });
  });

  it('after a lapse, the violation note names the lapsed exception, its owner and expiry', () => {
    const w = world();
    w.addException('team', 'short', now.minus({ hours: 1 }));
    w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    const r = reconcilePod('team', 'p', w.caches, now);
    expect(r.writes[0]).toMatchObject({
      event: {
        note: expect.stringContaining(
          `Caused by the lapse of exception short (owner: team-observability, expired ${now.minus({ hours: 1 }).toISO({ suppressMilliseconds: true })})`,
        ),
      },
    });
  });

  it('an offender of a Deployment: its Event, the same cause on the Deployment (not the ReplicaSet), the marks', () => {
    const w = world();
    w.addException('team', 'short', now.minus({ hours: 1 }));
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'agent-5d', uid: 'uid-rs' };
    w.addOwned('team', rs, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'agent', uid: 'uid-deploy' });
    w.addPod('team', 'agent-5d-x', { app: 'agent' }, { hostNetwork: true }, rs);
    const r = reconcilePod('team', 'agent-5d-x', w.caches, now);
    expect(r.writes.map((x) => x.kind)).toEqual(['event', 'event', 'podMarks']);
    const [onPod, onWorkload] = r.writes as Extract<(typeof r.writes)[number], { kind: 'event' }>[];
    expect(onPod!.event.note).toMatch(/^Pod agent-5d-x \(Deployment\/agent\) uses hostNetwork/);
    expect(onWorkload!.event).toMatchObject({
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'team', name: 'agent', uid: 'uid-deploy' },
      reason: 'HostNamespaceViolation',
      key: onPod!.event.key,
    });
    expect(onWorkload!.event.note).toMatch(
      /^Deployment agent has pods using hostNetwork \(first: pod agent-5d-x\), which no active .* Caused by the lapse of exception short \(owner: team-observability/,
    );
    // Its sibling plans the same workload Event (same name: the writer sends it once, a restart gets 409).
    w.addPod('team', 'agent-5d-y', { app: 'agent' }, { hostNetwork: true }, rs);
    const sibling = reconcilePod('team', 'agent-5d-y', w.caches, now).writes[1] as typeof onWorkload;
    expect(eventName(sibling!.event)).toBe(eventName(onWorkload!.event));
  });

  it('a bare offender, or one whose owner has no uid: no workload Event', () => {
    const w = world();
    w.addPod('team', 'bare', {}, { hostNetwork: true });
    expect(reconcilePod('team', 'bare', w.caches, now).writes.map((x) => x.kind)).toEqual(['event', 'podMarks']);
    w.addPod(
      'team',
      'odd',
      {},
      { hostNetwork: true },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'd', uid: '' },
    );
    expect(reconcilePod('team', 'odd', w.caches, now).writes.map((x) => x.kind)).toEqual(['event', 'podMarks']);
  });

  it('covered: labels only; already marked: nothing; a clean pod: nothing', () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    const r = reconcilePod('team', 'p', w.caches, now);
    expect(r.writes).toEqual([
      {
        kind: 'podMarks',
        namespace: 'team',
        name: 'p',
        uid: 'uid-p',
        metadata: { labels: { 'hostns.io/exception': 'agents' }, annotations: { 'hostns.io/exceptions': 'agents' } },
      },
    ]);
    w.addPod('team', 'p', { app: 'agent', 'hostns.io/exception': 'agents' }, { hostNetwork: true });
    const marked = w.pods.get('team/p')!;
    w.pods.set('team/p', {
      ...marked,
      marks: { labels: { 'hostns.io/exception': 'agents' }, annotations: { 'hostns.io/exceptions': 'agents' } },
    });
    expect(reconcilePod('team', 'p', w.caches, now).writes).toEqual([]);
    expect(reconcilePod('team', 'absent', w.caches, now).writes).toEqual([]);
  });
});

describe('reconcileGrants (one namespace) and reconcileGrantIndex', () => {
  it("brings a namespace's grants object to its own exceptions' grants; nothing for a namespace gone", () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    w.addException('other', 'more', now.plus({ days: 20 }));
    const r = reconcileGrants('team', w.caches, now);
    expect(r.writes).toMatchObject([
      { kind: 'grants', namespace: 'team', spec: { grants: [{ exception: 'agents' }] } },
    ]);
    expect((r.writes[0] as { spec: { grants: unknown[] } }).spec.grants).toHaveLength(1);
    expect(reconcileGrants('nowhere', w.caches, now).writes).toEqual([]);
    w.namespaces.set('empty', {
      name: 'empty',
      resourceVersion: '3',
      creationTimestamp: '2026-11-01T00:00:00Z',
      terminating: false,
    });
    expect(reconcileGrants('empty', w.caches, now).writes).toMatchObject([
      { namespace: 'empty', spec: { grants: [] } },
    ]);
    w.namespaces.set('going', {
      name: 'going',
      resourceVersion: '4',
      creationTimestamp: '2026-11-01T00:00:00Z',
      terminating: true,
    });
    expect(reconcileGrants('going', w.caches, now).writes).toEqual([]);
  });

  it('an exception that lapsed: its grant leaves, its lapsed entry (with the owner) is written; then nothing to write', async () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    w.addException('team', 'gone-by', now.minus({ days: 1 }));
    const write = reconcileGrants('team', w.caches, now).writes[0] as { spec: HostNamespaceGrantSet['spec'] };
    expect(write.spec.grants.map((g) => g.exception)).toEqual(['agents']);
    expect(write.spec.lapsed).toEqual([
      {
        exception: 'gone-by',
        owner: 'team-observability',
        allow: ['hostNetwork'],
        expiresAt: now.minus({ days: 1 }).toUTC().toISO({ suppressMilliseconds: true }),
        selector: { matchLabels: { app: 'agent' }, matchExpressions: [] },
      },
    ]);
    // Observed back from the API server (as after the write, or on a restart): converged, no request.
    w.grants.set('team/grants', {
      apiVersion: 'hostns.io/v1alpha1',
      kind: 'HostNamespaceGrantSet',
      metadata: { name: 'grants', namespace: 'team', resourceVersion: '5' },
      spec: JSON.parse(JSON.stringify(write.spec)) as HostNamespaceGrantSet['spec'],
    });
    const again = reconcileGrants('team', w.caches, now).writes[0] as {
      spec: HostNamespaceGrantSet['spec'];
      current: HostNamespaceGrantSet;
    };
    const refuse = { request: () => Promise.reject(new Error('no request expected')) } as unknown as KubeClient;
    expect(await writeNamespaceGrants(refuse, 'team', again.spec, again.current)).toEqual({ action: 'unchanged' });
  });

  it('reports what is over the budget instead of writing an object the API server refuses', () => {
    const w = world();
    for (let i = 0; i < 70; i++) w.addException('crowded', `e${String(i).padStart(2, '0')}`, now.plus({ days: 20 }));
    const r = reconcileGrants('crowded', w.caches, now);
    expect(r.overBudget).toHaveLength(6);
    expect(r.overBudget[0]).toBe('e64');
  });

  it('the index lists the namespaces whose grants object exists, created for that very namespace', () => {
    const w = world();
    const ns = (name: string, rv: string) =>
      w.namespaces.set(name, {
        name,
        resourceVersion: rv,
        creationTimestamp: '2026-11-05T00:00:00Z',
        terminating: false,
      });
    ns('team', '10');
    ns('bare', '11');
    ns('kube-system', '12');
    const set = (namespace: string, created: string) =>
      w.grants.set(`${namespace}/grants`, {
        apiVersion: 'hostns.io/v1alpha1',
        kind: 'HostNamespaceGrantSet',
        metadata: { name: 'grants', namespace, creationTimestamp: created },
        spec: { grants: [] },
      });
    set('team', '2026-11-05T00:00:01Z');
    set('bare', '2026-11-04T00:00:00Z'); // left from a deleted namespace of the same name
    const at = DateTime.fromISO('2026-11-27T20:00:00Z', { zone: 'utc' });
    expect(reconcileGrantIndex(w.caches, at, 'replica-a').writes).toMatchObject([
      {
        kind: 'grantIndex',
        namespaces: { team: '10' },
        settings: {
          version: 1,
          settings: {
            exemptNamespaces: ['kube-system'],
            expiringSoon: '7d',
            maxLifetime: '90d',
            reviewInterval: '30d',
          },
          publishedAt: '2026-11-27T20:00:00Z',
          publishedBy: 'replica-a',
        },
      },
    ]);
  });
});

describe('wiring: which change enqueues which keys', () => {
  const ids = (reqs: Iterable<Request<ReconcileKey>>) =>
    [...reqs].map((r) => `${keyId(r.key)}@${r.lane}${r.throttleMs ? `~${r.throttleMs}` : ''}`);

  it("an exception: itself; a spec or phase change also the grants and its namespace's pods; our own write not itself", () => {
    const w = world();
    const obj = w.addException('team', 'agents', now.plus({ days: 20 }));
    w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    w.addPod('elsewhere', 'q', { app: 'agent' }, { hostNetwork: true });
    const map = onExceptionChange(w.pods);
    expect(ids(map({ key: 'team/agents', obj, previous: undefined, origin: 'watch' }))).toEqual([
      'exception:team/agents@0',
      'grants:team@0',
      'pod:team/p@2',
    ]);
    const statusOnly = { ...obj, metadata: { ...obj.metadata, resourceVersion: '2' }, status: { coveredPods: 1 } };
    expect(ids(map({ key: 'team/agents', obj: statusOnly, previous: obj, origin: 'watch' }))).toEqual([
      'exception:team/agents@0',
    ]);
    const phaseChanged = {
      ...statusOnly,
      metadata: { ...obj.metadata, resourceVersion: '3' },
      status: { phase: 'Expired' as const },
    };
    expect(ids(map({ key: 'team/agents', obj: phaseChanged, previous: statusOnly, origin: 'observed' }))).toEqual([
      'grants:team@0',
      'pod:team/p@2',
    ]);
    // The watch echo of what is cached already (same resourceVersion): nothing.
    expect(ids(map({ key: 'team/agents', obj: phaseChanged, previous: phaseChanged, origin: 'watch' }))).toEqual([]);
    expect(ids(map({ key: 'team/agents', obj: undefined, previous: obj, origin: 'watch' }))).toEqual([
      'exception:team/agents@0',
      'grants:team@0',
      'pod:team/p@2',
    ]);
  });

  it("a pod: itself; appearing, leaving or relabelled also its namespace's exceptions, throttled; our own marks nothing", () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    const pod = w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    const map = onPodChange(w.exceptions);
    expect(ids(map({ key: 'team/p', obj: pod, previous: undefined, origin: 'watch' }))).toEqual([
      'pod:team/p@2',
      `exception:team/agents@1~${COVERAGE_THROTTLE_MS}`,
    ]);
    const marked = { ...pod, resourceVersion: '8', labels: { ...pod.labels, 'hostns.io/exception': 'agents' } };
    expect(ids(map({ key: 'team/p', obj: marked, previous: pod, origin: 'observed' }))).toEqual([]);
    expect(ids(map({ key: 'team/p', obj: marked, previous: pod, origin: 'watch' }))).toEqual(['pod:team/p@2']);
    const relabelled = { ...marked, resourceVersion: '9', labels: { app: 'other' } };
    expect(ids(map({ key: 'team/p', obj: relabelled, previous: marked, origin: 'watch' }))).toEqual([
      'pod:team/p@2',
      `exception:team/agents@1~${COVERAGE_THROTTLE_MS}`,
    ]);
    expect(ids(map({ key: 'team/p', obj: undefined, previous: relabelled, origin: 'watch' }))).toEqual([
      `exception:team/agents@1~${COVERAGE_THROTTLE_MS}`,
    ]);
  });

  it("a namespace's grants object: its exceptions' Enforced condition always; the index when it appeared; restoring it only after someone else's change", () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    const g = {
      apiVersion: 'hostns.io/v1alpha1',
      kind: 'HostNamespaceGrantSet',
      metadata: { name: 'grants', namespace: 'team', resourceVersion: '4' },
      spec: { grants: [] },
    } as HostNamespaceGrantSet;
    const map = onGrantsChange(w.exceptions);
    expect(ids(map({ key: 'team/grants', obj: g, previous: undefined, origin: 'watch' }))).toEqual([
      'exception:team/agents@1',
      'grants:team@0',
      'grantIndex@0',
    ]);
    // Our own create's response (before its watch event, which is then an echo): the index must
    // list the namespace now that its grants object exists (issue 13: a namespace left out of the
    // index until an unrelated change, and the write a converged restart then made).
    expect(ids(map({ key: 'team/grants', obj: g, previous: undefined, origin: 'observed' }))).toEqual([
      'exception:team/agents@1',
      'grantIndex@0',
    ]);
    // Our own replace: the object existed before, the index is unchanged.
    const replaced = { ...g, metadata: { ...g.metadata, resourceVersion: '5' }, spec: { grants: [] } };
    expect(ids(map({ key: 'team/grants', obj: replaced, previous: g, origin: 'observed' }))).toEqual([
      'exception:team/agents@1',
    ]);
    expect(ids(map({ key: 'team/grants', obj: g, previous: g, origin: 'watch' }))).toEqual([]);
  });

  it("on becoming leader: every exception, every pod, every namespace's grants, the index", () => {
    const w = world();
    w.addException('team', 'agents', now.plus({ days: 20 }));
    w.addPod('team', 'p', { app: 'agent' }, { hostNetwork: true });
    w.namespaces.set('bare', { name: 'bare', resourceVersion: '1', creationTimestamp: '', terminating: false });
    w.refusals.set('team/agent.187a', refusal({ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u' }));
    expect([...allKeys(w.exceptions, w.pods, w.namespaces, w.grants, w.refusals)].map(keyId)).toEqual([
      'exception:team/agents',
      'refusal:team/agent.187a',
      'pod:team/p',
      'grants:bare',
      'grants:team',
      'grantIndex',
    ]);
  });
});
