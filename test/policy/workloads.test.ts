// Workload attribution: a pod's top owner through controller references only.
import { describe, expect, it } from 'vitest';
import {
  controllerRef,
  groupOf,
  isIntermediate,
  lostAbility,
  MAX_OWNER_DEPTH,
  workloadId,
  workloadLabel,
  workloadOf,
  type ControllerLookup,
  type OwnerRef,
} from '../../src/policy/workloads.ts';

const ref = (apiVersion: string, kind: string, name: string, uid = `uid-${name}`): OwnerRef => ({
  apiVersion,
  kind,
  name,
  uid,
});
const rs = (name: string, uid?: string) => ref('apps/v1', 'ReplicaSet', name, uid);
const job = (name: string, uid?: string) => ref('batch/v1', 'Job', name, uid);

/** A lookup over `objects` (namespace 'ns'): object key -> its cached uid and controller. */
function lookupOf(objects: Record<string, { uid: string; owner: OwnerRef }>): ControllerLookup {
  return (namespace, r) => {
    const o = objects[`${namespace}/${r.kind}/${r.name}`];
    return o && (!r.uid || o.uid === r.uid) ? o.owner : undefined;
  };
}
const none: ControllerLookup = () => undefined;
const pod = (owner?: OwnerRef) => ({ namespace: 'ns', name: 'p-1', uid: 'pod-uid', ...(owner ? { owner } : {}) });

describe('workloadOf', () => {
  it('a bare pod is its own workload', () => {
    expect(workloadOf(pod(), none)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'ns',
      name: 'p-1',
      uid: 'pod-uid',
    });
  });

  it.each([
    ['DaemonSet', ref('apps/v1', 'DaemonSet', 'node-exporter')],
    ['StatefulSet', ref('apps/v1', 'StatefulSet', 'db')],
    ['a custom kind owning pods directly', ref('example.com/v1', 'Agent', 'a')],
    ['a core kind', ref('v1', 'ReplicationController', 'rc')],
  ])('%s owning the pod is the workload', (_, owner) => {
    expect(workloadOf(pod(owner), none)).toEqual({ ...owner, namespace: 'ns' });
  });

  it('Pod -> ReplicaSet -> Deployment', () => {
    const lookup = lookupOf({
      'ns/ReplicaSet/web-5d': { uid: 'uid-web-5d', owner: ref('apps/v1', 'Deployment', 'web') },
    });
    expect(workloadOf(pod(rs('web-5d')), lookup)).toMatchObject({ kind: 'Deployment', name: 'web', uid: 'uid-web' });
  });

  it('Pod -> Job -> CronJob', () => {
    const lookup = lookupOf({
      'ns/Job/backup-29': { uid: 'uid-backup-29', owner: ref('batch/v1', 'CronJob', 'backup') },
    });
    expect(workloadOf(pod(job('backup-29')), lookup)).toMatchObject({ kind: 'CronJob', name: 'backup' });
  });

  it('a ReplicaSet or Job with no controller (orphaned, or not cached) is the workload', () => {
    expect(workloadOf(pod(rs('lone')), none)).toMatchObject({ kind: 'ReplicaSet', name: 'lone', uid: 'uid-lone' });
    expect(workloadOf(pod(job('once')), none)).toMatchObject({ kind: 'Job', name: 'once' });
  });

  it('a cached ReplicaSet with another uid (recreated under the name) says nothing about the pod', () => {
    const lookup = lookupOf({ 'ns/ReplicaSet/web-5d': { uid: 'other', owner: ref('apps/v1', 'Deployment', 'web') } });
    expect(workloadOf(pod(rs('web-5d')), lookup)).toMatchObject({ kind: 'ReplicaSet', name: 'web-5d' });
  });

  it('a ReplicaSet controlled by a custom kind (Argo Rollout): the custom kind', () => {
    const rollout = ref('argoproj.io/v1alpha1', 'Rollout', 'canary');
    const lookup = lookupOf({ 'ns/ReplicaSet/canary-1': { uid: 'uid-canary-1', owner: rollout } });
    expect(workloadOf(pod(rs('canary-1')), lookup)).toEqual({ ...rollout, namespace: 'ns' });
  });

  it('a ReplicaSet of another group is not followed (only apps/ReplicaSet and batch/Job are)', () => {
    const odd = ref('example.com/v1', 'ReplicaSet', 'x');
    const lookup: ControllerLookup = () => ref('apps/v1', 'Deployment', 'never');
    expect(workloadOf(pod(odd), lookup)).toMatchObject({ kind: 'ReplicaSet', name: 'x', apiVersion: 'example.com/v1' });
  });

  it('a cycle of references stops before the first object repeats', () => {
    const lookup = lookupOf({
      'ns/ReplicaSet/a': { uid: 'uid-a', owner: rs('b') },
      'ns/ReplicaSet/b': { uid: 'uid-b', owner: rs('a') },
    });
    expect(workloadOf(pod(rs('a')), lookup)).toMatchObject({ kind: 'ReplicaSet', name: 'b' });
    const self = lookupOf({ 'ns/Job/j': { uid: 'uid-j', owner: job('j') } });
    expect(workloadOf(pod(job('j')), self)).toMatchObject({ kind: 'Job', name: 'j' });
  });

  it('a tower of ReplicaSets longer than any real one stops at the depth bound', () => {
    const objects: Record<string, { uid: string; owner: OwnerRef }> = {};
    for (let i = 0; i < 50; i++) objects[`ns/ReplicaSet/r${i}`] = { uid: `uid-r${i}`, owner: rs(`r${i + 1}`) };
    expect(workloadOf(pod(rs('r0')), lookupOf(objects))).toMatchObject({ name: `r${MAX_OWNER_DEPTH}` });
  });

  it('the lookup is asked within the pod namespace (owner references never cross namespaces)', () => {
    const asked: string[] = [];
    workloadOf(pod(rs('x')), (ns, r) => (asked.push(`${ns}/${r.name}`), undefined));
    expect(asked).toEqual(['ns/x']);
  });
});

describe('controllerRef', () => {
  it('the reference marked controller, not the first one', () => {
    const meta = {
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: '1' },
        { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: '2', controller: true },
      ],
    };
    expect(controllerRef(meta)).toEqual({ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: '2' });
  });

  it.each([
    ['no metadata', undefined],
    ['no references', {}],
    ['references not a list', { ownerReferences: { kind: 'DaemonSet' } }],
    ['only non-controller references', { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: '1' }] }],
    [
      'controller: "true" as a string',
      { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', controller: 'true' }] },
    ],
    ['a controller without a kind', { ownerReferences: [{ apiVersion: 'v1', name: 'x', uid: '1', controller: true }] }],
    [
      'a controller with a numeric name',
      { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 7, controller: true }] },
    ],
    ['a controller without apiVersion', { ownerReferences: [{ kind: 'X', name: 'x', uid: '1', controller: true }] }],
    ['null entries', { ownerReferences: [null, 3, 'x'] }],
    [
      'two controllers (forged: the API refuses it)',
      {
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: '1', controller: true },
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: '2', controller: true },
        ],
      },
    ],
    [
      'the same controller twice',
      {
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: '1', controller: true },
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: '1', controller: true },
        ],
      },
    ],
    [
      'a valid controller and a malformed one',
      {
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: '1', controller: true },
          { kind: 'X', controller: true },
        ],
      },
    ],
  ])('none for %s', (_, meta) => {
    expect(controllerRef(meta as never)).toBeUndefined();
  });

  it('a namespace written into a reference is not kept (owner references are namespace-local)', () => {
    const forged = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'd', uid: 'u', controller: true, namespace: 'x' };
    expect(controllerRef({ ownerReferences: [forged] })).toEqual({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      name: 'd',
      uid: 'u',
    });
    expect(workloadOf(pod(controllerRef({ ownerReferences: [forged] })), none).namespace).toBe('ns');
  });

  it('a controller without uid keeps an empty uid (attribution still names it)', () => {
    expect(
      controllerRef({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'd', controller: true }] }),
    ).toEqual({ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'd', uid: '' });
  });
});

describe('names and consequences', () => {
  it('group, identity and label', () => {
    expect(groupOf('apps/v1')).toBe('apps');
    expect(groupOf('v1')).toBe('');
    expect(isIntermediate(rs('x'))).toBe(true);
    expect(isIntermediate(job('x'))).toBe(true);
    expect(isIntermediate(ref('apps/v1', 'DaemonSet', 'x'))).toBe(false);
    const w = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'monitoring', name: 'node-exporter' };
    expect(workloadLabel(w)).toBe('DaemonSet monitoring/node-exporter');
    expect(workloadId(w)).toBe('apps/DaemonSet/monitoring/node-exporter');
    expect(workloadId({ ...w, apiVersion: 'example.com/v1' })).not.toBe(workloadId(w));
  });

  it.each([
    ['DaemonSet', /new nodes get no node-exporter/],
    ['Deployment', /rollouts, scale-ups and replacements of node-exporter pods fail/],
    ['ReplicaSet', /rollouts/],
    ['StatefulSet', /is not recreated/],
    ['CronJob', /next runs of node-exporter get no pod/],
    ['Job', /cannot start or retry pods/],
    ['Pod', /a replacement of pod node-exporter is refused/],
    ['Agent', /Agent node-exporter cannot create pods/],
  ])('what a %s loses', (kind, text) => {
    expect(lostAbility({ kind, name: 'node-exporter' })).toMatch(text);
  });
});
