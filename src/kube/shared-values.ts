// One frozen copy of each small string map many cached objects hold: the pods of one workload
// carry the same labels and the same marks, so a 1,000-pod DaemonSet holds one labels object, not
// 1,000 (issue 16: heap per cached pod). Weak: a copy no cached object holds any longer is
// collected, and its table entry swept as the table grows, so rollouts (new pod-template-hash
// values) leave nothing behind, unlike a table with a size cap.

import type { OwnerRef } from '../policy/workloads.ts';

export type StringMap = Readonly<Record<string, string>>;

/** FNV-1a over the keys and values in order, each followed by a separator no UTF-16 code unit equals. */
export function hashStringMap(m: StringMap): number {
  let h = 0x811c9dc5;
  for (const k in m) {
    const v = m[k]!;
    for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x10000, 0x01000193);
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x10001, 0x01000193);
  }
  return h >>> 0;
}

function sameStringMap(a: StringMap, b: StringMap): boolean {
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

const MIN_SWEEP = 1024;

/**
 * Shares equal string maps as one frozen object while anything holds it. Keyed by a 32-bit hash:
 * a collision only means the second map is not shared (it is returned as given). Entries whose map
 * was collected are swept when the table doubled since the last sweep (amortised O(1) per call).
 */
export class SharedStringMaps {
  private readonly table = new Map<number, WeakRef<StringMap>>();
  private sweepAt = MIN_SWEEP;

  /** The shared copy of `m` (frozen), or `m` itself when another map holds its hash. */
  share(m: StringMap): StringMap {
    const h = hashStringMap(m);
    const have = this.table.get(h)?.deref();
    if (have !== undefined) return sameStringMap(have, m) ? have : m;
    const frozen = Object.freeze(m);
    this.table.set(h, new WeakRef(frozen));
    if (this.table.size >= this.sweepAt) this.sweep();
    return frozen;
  }

  /** Entries in the table, collected ones not yet swept included (tests). */
  get size(): number {
    return this.table.size;
  }

  /** Drops the entries whose map was collected. */
  sweep(): void {
    for (const [h, ref] of this.table) if (ref.deref() === undefined) this.table.delete(h);
    this.sweepAt = Math.max(MIN_SWEEP, 2 * this.table.size);
  }
}

const owners = new SharedStringMaps();

/** One frozen controller reference per distinct content: the pods of a workload, a Deployment's ReplicaSets. */
export function shareOwnerRef(ref: OwnerRef): OwnerRef {
  return owners.share(ref as unknown as StringMap) as unknown as OwnerRef;
}
