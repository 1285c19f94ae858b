// Shared string maps (labels, marks, owners of cached pods): equal maps become one frozen object,
// a hash collision never hands out a map with other content, and collected maps leave the table.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { toOwnedRecord } from '../../src/kube/owner-record.ts';
import { toPodRecord } from '../../src/kube/pod-record.ts';
import type { RawObject } from '../../src/kube/reflector.ts';
import { hashStringMap, SharedStringMaps, type StringMap } from '../../src/kube/shared-values.ts';

/**
 * A full GC from inside a test (vitest's workers do not run with --expose-gc), on a later turn of
 * the event loop: a WeakRef keeps its target alive until the turn that created it ended.
 */
async function collectGarbage(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('SharedStringMaps', () => {
  it('equal maps (same keys, values and order) become one frozen object with that content', () => {
    const shared = new SharedStringMaps();
    const a = shared.share({ app: 'agent', team: 't1', 'pod-template-hash': '5d8f7c9b6d' });
    const b = shared.share({ app: 'agent', team: 't1', 'pod-template-hash': '5d8f7c9b6d' });
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toEqual({ app: 'agent', team: 't1', 'pod-template-hash': '5d8f7c9b6d' });
    expect(shared.share({})).toBe(shared.share({}));
  });

  it('maps that differ in a value, a key, a key more, or order are never merged', () => {
    const shared = new SharedStringMaps();
    const base = { app: 'agent', team: 't1' };
    const variants: StringMap[] = [
      { app: 'agent', team: 't2' },
      { app: 'agent', tean: 't1' },
      { app: 'agent', team: 't1', tier: 'node' },
      { app: 'agent' },
      { team: 't1', app: 'agent' },
      // Separators: a key/value boundary moved must not hash alike.
      { appa: 'gent', team: 't1' },
    ];
    const first = shared.share({ ...base });
    for (const v of variants) {
      const got = shared.share({ ...v });
      expect(got).not.toBe(first);
      expect(got).toEqual(v);
      expect(Object.keys(got)).toEqual(Object.keys(v));
    }
    expect(shared.share({ ...base })).toBe(first);
  });

  it('a hash collision returns the colliding map as given, not the one in the table', () => {
    // Found by a birthday search over { k: `v${i}` } (32-bit hashes collide within ~100,000 maps).
    const [x, y] = ['v14317', 'v789220'];
    expect(hashStringMap({ k: x })).toBe(hashStringMap({ k: y }));
    const shared = new SharedStringMaps();
    const first = shared.share({ k: x });
    const second = { k: y };
    expect(shared.share(second)).toBe(second);
    expect(second).toEqual({ k: y });
    expect(shared.share({ k: x })).toBe(first);
  });

  it('maps nothing holds any longer are collected and swept from the table as it grows', async () => {
    const shared = new SharedStringMaps();
    const kept: StringMap[] = [];
    for (let i = 0; i < 5000; i++) {
      const m = shared.share({ 'pod-template-hash': `h${i}` });
      if (i % 100 === 0) kept.push(m);
    }
    await collectGarbage();
    shared.sweep();
    // What is held stays; of 5,000 others, at most a few the last turn's frames may still reach.
    expect(shared.size).toBeGreaterThanOrEqual(kept.length);
    expect(shared.size).toBeLessThan(kept.length + 10);
    // What is still held is still shared.
    expect(shared.share({ 'pod-template-hash': 'h100' })).toBe(kept[1]);
    // Growth alone sweeps: the table stays near what is held, not what was ever seen.
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) shared.share({ 'pod-template-hash': `r${round}-${i}` });
      await collectGarbage();
    }
    expect(shared.size).toBeLessThan(3000 + 2 * kept.length);
  });
});

describe('pod records share what a workload has in common', () => {
  const pod = (name: string, uid: string, meta: Record<string, unknown>) =>
    toPodRecord({
      metadata: {
        name,
        namespace: 'ns',
        uid,
        resourceVersion: '7',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds-1', controller: true }],
        ...meta,
      } as RawObject['metadata'],
      spec: { hostNetwork: true, containers: [{ name: 'c', image: 'agent:1' }] },
    })!;

  it('labels, owner and marks of covered pods are one object each; an offender keeps its own marker', () => {
    const covered = {
      labels: { app: 'agent', 'hostns.io/exception': 'allow' },
      annotations: { 'hostns.io/exceptions': 'allow', unrelated: 'x' },
    };
    const a = pod('a', 'u1', structuredClone(covered));
    const b = pod('b', 'u2', structuredClone(covered));
    expect(b.labels).toBe(a.labels);
    expect(b.owner).toBe(a.owner);
    expect(b.marks).toBe(a.marks);
    expect(a.marks).toEqual({
      labels: { 'hostns.io/exception': 'allow' },
      annotations: { 'hostns.io/exceptions': 'allow' },
    });

    const offender = (name: string, uid: string) =>
      pod(name, uid, {
        labels: { app: 'agent', 'hostns.io/violation': 'true' },
        annotations: { 'hostns.io/violation': 'hostNetwork', 'hostns.io/violation-event': `${uid} hostNetwork` },
      });
    const c = offender('c', 'u3');
    const d = offender('d', 'u4');
    expect(d.labels).toBe(c.labels);
    expect(d.marks.labels).toBe(c.marks.labels);
    expect(c.marks.annotations).toEqual({
      'hostns.io/violation': 'hostNetwork',
      'hostns.io/violation-event': 'u3 hostNetwork',
    });
    expect(d.marks.annotations['hostns.io/violation-event']).toBe('u4 hostNetwork');
    for (const r of [a, c]) {
      expect(Object.isFrozen(r.labels)).toBe(true);
      expect(Object.isFrozen(r.marks)).toBe(true);
      expect(Object.isFrozen(r.marks.annotations)).toBe(true);
      expect(Object.isFrozen(r.owner)).toBe(true);
    }
  });

  it('owners are shared by content: one uid claimed by two names gives two owners', () => {
    const owner = (name: string) => [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: 'same-uid', controller: true },
    ];
    const a = pod('a', 'u1', { ownerReferences: owner('web-1') });
    const b = pod('b', 'u2', { ownerReferences: owner('agent-1') });
    const c = pod('c', 'u3', { ownerReferences: owner('agent-1') });
    expect(a.owner?.name).toBe('web-1');
    expect(b.owner?.name).toBe('agent-1');
    expect(c.owner).toBe(b.owner);
  });

  it("a ReplicaSet's record and its Deployment's other ReplicaSets hold one owner, the same mechanism as pods", () => {
    const rs = (name: string, uid: string) =>
      toOwnedRecord({
        metadata: {
          name,
          uid,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }],
        },
      } as RawObject)!;
    expect(rs('web-1', 'r1').owner).toBe(rs('web-2', 'r2').owner);
    expect(Object.isFrozen(rs('web-3', 'r3').owner)).toBe(true);
  });
});
