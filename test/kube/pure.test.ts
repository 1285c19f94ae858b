// The pure parts of the Kubernetes adapters.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { eventBody, eventName, microTime } from '../../src/kube/events.ts';
import { toPodRecord } from '../../src/kube/pod-record.ts';
import { podSecurityProfile } from '../../src/policy/contract.ts';

describe('toPodRecord', () => {
  const raw = (spec: object, meta: object = {}) => ({
    metadata: { name: 'p', namespace: 'ns', uid: 'u', resourceVersion: '7', ...meta },
    spec,
  });
  it('drops clean, unmarked pods entirely (never cached)', () => {
    expect(toPodRecord(raw({ containers: [] }))).toBeUndefined();
    expect(toPodRecord(raw({ hostNetwork: false, hostPID: false }))).toBeUndefined();
  });
  it('keeps host-namespace pods lean: labels, flags, our marks, controller owner', () => {
    const r = toPodRecord(
      raw(
        {
          hostPID: true,
          nodeName: 'node-1',
          containers: [{ name: 'c', image: 'x', env: [{ name: 'BIG', value: 'x'.repeat(10_000) }] }],
        },
        {
          labels: { app: 'a', 'hostns.io/violation': 'true' },
          annotations: {
            'hostns.io/violation': 'hostPID',
            'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(5000),
          },
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-a-controller', uid: 'c1' },
            { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds-1', controller: true },
          ],
          managedFields: [{ manager: 'kubectl' }],
        },
      ),
    )!;
    const { security, ...rest } = r;
    expect(security).toEqual(podSecurityProfile({ containers: [{ name: 'c', image: 'x' }] }));
    expect(rest).toEqual({
      namespace: 'ns',
      name: 'p',
      uid: 'u',
      resourceVersion: '7',
      labels: { app: 'a', 'hostns.io/violation': 'true' },
      hostNetwork: false,
      hostPID: true,
      hostIPC: false,
      marks: { labels: { 'hostns.io/violation': 'true' }, annotations: { 'hostns.io/violation': 'hostPID' } },
      owner: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds-1' },
      nodeName: 'node-1',
    });
    expect(JSON.stringify(rest).length).toBeLessThan(400);
  });
  it('pods with the same spec share one security profile; clean pods carry none', () => {
    const spec = {
      hostNetwork: true,
      serviceAccountName: 'agent',
      containers: [{ name: 'c', image: 'quay.io/a/b:1' }],
    };
    const a = toPodRecord(raw(spec))!;
    const b = toPodRecord(raw(structuredClone(spec)))!;
    expect(a.security).toBeDefined();
    expect(a.security).toBe(b.security);
    expect(Object.isFrozen(a.security)).toBe(true);
    expect(toPodRecord(raw({}, { labels: { 'hostns.io/exception': 'x' } }))?.security).toBeUndefined();
  });
  it('keeps a clean pod that carries our marks (so they get removed)', () => {
    expect(toPodRecord(raw({}, { labels: { 'hostns.io/exception': 'x' } }))?.marks.labels).toEqual({
      'hostns.io/exception': 'x',
    });
  });
  it('a clean pod is cached for any one of our keys, in labels or annotations, and only for a string value', () => {
    const kept = [
      { labels: { 'hostns.io/violation': 'true' } },
      { labels: { 'hostns.io/exception': 'x' } },
      { annotations: { 'hostns.io/violation': 'hostNetwork' } },
      { annotations: { 'hostns.io/exceptions': 'x' } },
      { annotations: { 'hostns.io/violation-event': 'abc hostNetwork' } },
      { labels: { app: 'a' }, annotations: { other: 'y', 'hostns.io/exceptions': '' } },
    ];
    for (const meta of kept) expect(toPodRecord(raw({}, meta)), JSON.stringify(meta)).toBeDefined();
    const dropped = [
      { labels: { app: 'a', 'hostns.io/violations': 'true' } },
      { labels: { 'hostns.io/violation': true } },
      { annotations: { 'hostns.io/violation-event': null } },
      { labels: ['hostns.io/violation'] },
      { annotations: 'hostns.io/exceptions' },
      { labels: { 'hostns.io/exception': 'x' }, name: 5 },
    ];
    for (const meta of dropped) expect(toPodRecord(raw({}, meta)), JSON.stringify(meta)).toBeUndefined();
  });
  it('tolerates malformed objects', () => {
    for (const junk of [
      {},
      { metadata: null, spec: null },
      raw({ hostNetwork: 'yes' }),
      raw({ hostIPC: true }, { name: 5 }),
      raw({ hostIPC: true }, { labels: [1, 2] }),
    ]) {
      expect(() => toPodRecord(junk as never)).not.toThrow();
    }
    expect(toPodRecord(raw({ hostIPC: true }, { labels: { a: 1, b: 'ok' } }))?.labels).toEqual({ b: 'ok' });
  });
});

describe('events', () => {
  const now = DateTime.fromISO('2026-11-23T10:11:12.345Z', { zone: 'utc' });
  const target = { apiVersion: 'v1', kind: 'Pod', namespace: 'ns', name: 'p', uid: 'uid-1' };
  it('MicroTime has exactly six fractional digits', () => {
    expect(microTime(now)).toBe('2026-11-23T10:11:12.345000Z');
  });
  it('deterministic names: same (object, reason, key) -> same name; otherwise different', () => {
    const a = eventName({ regarding: target, reason: 'Expired', key: 'k1' });
    expect(a).toMatch(/^p\.expired\.[0-9a-f]{16}$/);
    expect(eventName({ regarding: target, reason: 'Expired', key: 'k1' })).toBe(a);
    expect(eventName({ regarding: target, reason: 'Expired', key: 'k2' })).not.toBe(a);
    expect(eventName({ regarding: { ...target, uid: 'uid-2' }, reason: 'Expired', key: 'k1' })).not.toBe(a);
    expect(
      eventName({ regarding: { ...target, name: 'x'.repeat(253) }, reason: 'Expired', key: 'k' }).length,
    ).toBeLessThanOrEqual(253);
  });
  it('body has what events.k8s.io/v1 requires and kubectl describe needs', () => {
    const b = eventBody(
      {
        regarding: target,
        type: 'Warning',
        reason: 'HostNamespaceViolation',
        action: 'Classify',
        note: 'n'.repeat(2000),
        key: 'k',
      },
      now,
      'op-1',
    );
    expect(b).toMatchObject({
      metadata: { namespace: 'ns' },
      eventTime: '2026-11-23T10:11:12.345000Z',
      reportingController: 'hostns.io/operator',
      reportingInstance: 'op-1',
      regarding: { uid: 'uid-1', kind: 'Pod', namespace: 'ns', name: 'p' },
    });
    expect(Buffer.byteLength(b.note as string)).toBe(1024);
    expect(b.note as string).toMatch(/^n+…$/);
  });
});
