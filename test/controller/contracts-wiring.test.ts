// The operator's networkRestricted and exception-namespace parts as pure functions of (caches,
// now): which NetworkPolicy or namespace change enqueues which keys, and what the pod and
// exception reconcilers decide from the caches.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { HostNamespaceException, HostNamespaceGrantIndex, HostNamespaceGrantSet } from '../../src/api/v1alpha1.ts';
import { Caches, type NamespaceRecord } from '../../src/controller/caches.ts';
import { reconcileException } from '../../src/controller/exceptions.ts';
import { keyId, type ReconcileKey } from '../../src/controller/keys.ts';
import { reconcilePod } from '../../src/controller/pods.ts';
import { onNamespaceChange, onNetworkPolicyChange } from '../../src/controller/wiring.ts';
import type { Write } from '../../src/controller/writes.ts';
import type { OwnedRecord } from '../../src/kube/owner-record.ts';
import { toPodRecord, type PodRecord } from '../../src/kube/pod-record.ts';
import type { RefusalRecord } from '../../src/kube/refusal-record.ts';
import { StoreWriter } from '../../src/kube/store.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { toNetworkPolicyRecord, type NetworkPolicyRecord } from '../../src/policy/network.ts';
import type { Request } from '../../src/runtime/manager.ts';
import { exceptionObj, podObj } from '../fake/cluster.ts';

const now = DateTime.fromISO('2026-11-10T00:00:00Z', { zone: 'utc' });
const SETTING = { key: 'hostns.io/exceptions', value: 'allowed' };

function world() {
  const exceptions = new StoreWriter<HostNamespaceException>();
  const pods = new StoreWriter<PodRecord>();
  const namespaces = new StoreWriter<NamespaceRecord>();
  const networkPolicies = new StoreWriter<NetworkPolicyRecord>();
  const caches = new Caches({
    exceptions,
    pods,
    grants: new StoreWriter<HostNamespaceGrantSet>(),
    namespaces,
    grantIndex: new StoreWriter<HostNamespaceGrantIndex>(),
    replicaSets: new StoreWriter<OwnedRecord>(),
    jobs: new StoreWriter<OwnedRecord>(),
    refusals: new StoreWriter<RefusalRecord>(),
    grantsWriteErrors: new Map(),
    policy: DEFAULT_POLICY,
    networkPolicies,
    exceptionNamespaces: SETTING,
  });
  const addNamespace = (name: string, exceptionsLabel?: string, rv = '1') => {
    const rec = { name, resourceVersion: rv, creationTimestamp: '', terminating: false, exceptionsLabel };
    namespaces.set(name, rec);
    return rec;
  };
  const addException = (ns: string, name: string, spec: Record<string, unknown> = {}) => {
    const base = exceptionObj(ns, name, now.plus({ days: 20 }), spec) as unknown as HostNamespaceException;
    const obj = {
      ...base,
      metadata: { ...base.metadata, uid: `uid-${name}`, resourceVersion: '1', generation: 1 },
    };
    obj.metadata.creationTimestamp = '2026-11-01T00:00:00Z';
    exceptions.set(`${ns}/${name}`, obj);
    return obj;
  };
  const addPod = (ns: string, name: string, labels: Record<string, string>, flags: { hostPID?: boolean }) => {
    const { metadata, ...rest } = podObj(ns, name, labels, flags);
    const rec = toPodRecord({ ...rest, metadata: { ...metadata, uid: `uid-${name}`, resourceVersion: '7' } })!;
    pods.set(`${ns}/${name}`, rec);
    return rec;
  };
  const addNetworkPolicy = (ns: string, name: string, spec: Record<string, unknown>) => {
    const rec = toNetworkPolicyRecord({ metadata: { name, namespace: ns, resourceVersion: '3' }, spec })!;
    networkPolicies.set(`${ns}/${name}`, rec);
    return rec;
  };
  return {
    exceptions,
    pods,
    namespaces,
    networkPolicies,
    caches,
    addNamespace,
    addException,
    addPod,
    addNetworkPolicy,
  };
}

const ids = (reqs: Iterable<Request<ReconcileKey>>) => [...reqs].map((r) => `${keyId(r.key)}@${r.lane}`);
const NET_RESTRICTED = {
  allow: ['hostPID'],
  riskAcceptance: {
    justification: 'agent needs the host PID namespace to read process stats',
    acceptedBy: 'security-board',
    enforcedControls: ['networkRestricted'],
  },
};
const events = (writes: Write[]) => writes.flatMap((w) => (w.kind === 'event' ? [w.event] : []));

describe('wiring', () => {
  it('a NetworkPolicy change: the pods and exceptions of its namespace, only when one there enforces networkRestricted', () => {
    const w = world();
    w.addException('team', 'agents', NET_RESTRICTED);
    w.addPod('team', 'p', { app: 'agent' }, { hostPID: true });
    w.addException('plain', 'agents');
    w.addPod('plain', 'q', { app: 'agent' }, { hostPID: true });
    const map = onNetworkPolicyChange(w.exceptions, w.pods);
    const np = w.addNetworkPolicy('team', 'egress', { podSelector: {}, policyTypes: ['Egress'] });
    expect(ids(map({ key: 'team/egress', obj: np, previous: undefined, origin: 'watch' }))).toEqual([
      'pod:team/p@2',
      'exception:team/agents@1',
    ]);
    expect(ids(map({ key: 'team/egress', obj: undefined, previous: np, origin: 'watch' }))).toEqual([
      'pod:team/p@2',
      'exception:team/agents@1',
    ]);
    expect(ids(map({ key: 'team/egress', obj: np, previous: np, origin: 'watch' }))).toEqual([]); // echo
    const other = w.addNetworkPolicy('plain', 'egress', { podSelector: {}, policyTypes: ['Egress'] });
    expect(ids(map({ key: 'plain/egress', obj: other, previous: undefined, origin: 'watch' }))).toEqual([]);
  });

  it('a namespace whose exception label changed: its exceptions and pods too; other changes only the grants', () => {
    const w = world();
    w.addException('team', 'agents');
    w.addPod('team', 'p', { app: 'agent' }, { hostPID: true });
    const map = onNamespaceChange(w.exceptions, w.pods);
    const before = w.addNamespace('team', 'allowed', '1');
    const relabelled = { ...before, resourceVersion: '2', exceptionsLabel: undefined };
    expect(ids(map({ key: 'team', obj: relabelled, previous: before, origin: 'watch' }))).toEqual([
      'grants:team@0',
      'grantIndex@0',
      'exception:team/agents@0',
      'pod:team/p@2',
    ]);
    const otherChange = { ...before, resourceVersion: '3' };
    expect(ids(map({ key: 'team', obj: otherChange, previous: before, origin: 'watch' }))).toEqual([
      'grants:team@0',
      'grantIndex@0',
    ]);
  });
});

describe('reconcilers with NetworkPolicies and exception namespaces', () => {
  it('a pod no Egress NetworkPolicy selects breaks networkRestricted: an offender with an Event naming it', () => {
    const w = world();
    w.addNamespace('team', 'allowed');
    w.addException('team', 'agents', NET_RESTRICTED);
    w.addPod('team', 'open', { app: 'agent' }, { hostPID: true });
    w.addPod('team', 'closed', { app: 'agent', net: 'closed' }, { hostPID: true });
    w.addNetworkPolicy('team', 'egress', { podSelector: { matchLabels: { net: 'closed' } }, policyTypes: ['Egress'] });
    w.addNetworkPolicy('other', 'all', { podSelector: {}, policyTypes: ['Egress'] });
    const open = reconcilePod('team', 'open', w.caches, now);
    expect(events(open.writes)[0]?.note).toContain('the pod breaks control networkRestricted');
    const closed = reconcilePod('team', 'closed', w.caches, now);
    expect(events(closed.writes)).toEqual([]);
    expect(w.caches.coveredCounts('team', now).get('team/agents')).toBe(1);
    // The policy gone: the memo follows the NetworkPolicies' version, not only the pods'.
    w.networkPolicies.delete('team/egress');
    expect(w.caches.coveredCounts('team', now).get('team/agents') ?? 0).toBe(0);
  });

  it('an exception in a namespace without the label is Invalid, saying where exceptions may go; labelled, it is not', () => {
    const w = world();
    w.addNamespace('team');
    w.addException('team', 'agents');
    expect(w.caches.evaluated('team/agents', now)?.lifecycle.phase).toBe('Invalid');
    const result = reconcileException('team', 'agents', w.caches, now);
    const invalid = events(result.writes).find((e) => e.reason === 'Invalid');
    expect(invalid?.note).toContain('namespace team has no label hostns.io/exceptions');
    expect(w.caches.desiredGrants('team', now)?.spec.grants).toEqual([]);
    w.addNamespace('team', 'allowed', '2');
    expect(w.caches.evaluated('team/agents', now)?.lifecycle.phase).toBe('Active');
    expect(w.caches.desiredGrants('team', now)?.spec.grants.map((g) => g.exception)).toEqual(['agents']);
  });
});
