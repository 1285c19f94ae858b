// The blast radius of an exception: the workloads whose pods depend on it. A pod depends on the
// exception that alone covers it (when it lapses, the pod's next replacement is refused) and on the
// lapsed exception that would still cover it (its replacement is refused now). Pure: the caller
// gives each pod's classification, workload and node.
import type { PodClass } from './classify.ts';
import { joinWithinBytes } from './limits.ts';
import { lostAbility, workloadId, workloadLabel, type Workload } from './workloads.ts';

export interface WorkloadImpact {
  workload: Workload;
  /** Its pods depending on the exception. */
  pods: number;
  /** Distinct nodes those pods are bound to (unscheduled pods count for none). */
  nodes: number;
}

export interface ImpactInput {
  namespace: string;
  cls: PodClass;
  workload: Workload;
  nodeName?: string;
}

/** The exceptions a pod depends on: the sole one covering it, or the lapsed ones that would. */
export function dependedOn(cls: PodClass): readonly string[] {
  if (cls.kind === 'covered') return cls.exceptions.length === 1 ? cls.exceptions : [];
  if (cls.kind === 'offender') return cls.lapsed.map((l) => l.name);
  return [];
}

/**
 * The workloads depending on each exception, keyed `namespace/name`: most pods first, then by
 * kind, namespace and name, so the same pods always give the same list.
 */
export function workloadImpact(pods: Iterable<ImpactInput>): Map<string, WorkloadImpact[]> {
  const acc = new Map<string, Map<string, { workload: Workload; pods: number; nodes: Set<string> }>>();
  for (const p of pods) {
    for (const exception of dependedOn(p.cls)) {
      const key = `${p.namespace}/${exception}`;
      let byWorkload = acc.get(key);
      if (!byWorkload) acc.set(key, (byWorkload = new Map()));
      const id = workloadId(p.workload);
      let entry = byWorkload.get(id);
      if (!entry) byWorkload.set(id, (entry = { workload: p.workload, pods: 0, nodes: new Set() }));
      entry.pods++;
      if (p.nodeName) entry.nodes.add(p.nodeName);
    }
  }
  const out = new Map<string, WorkloadImpact[]>();
  for (const [key, byWorkload] of acc) {
    const list = [...byWorkload.values()].map((e) => ({ workload: e.workload, pods: e.pods, nodes: e.nodes.size }));
    out.set(key, list.sort(compareImpact));
  }
  return out;
}

export function compareImpact(a: WorkloadImpact, b: WorkloadImpact): number {
  return b.pods - a.pods || workloadLabel(a.workload).localeCompare(workloadLabel(b.workload));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `after 2026-12-01T10:00:00Z DaemonSet monitoring/node-exporter (120 pods on 120 nodes) can no
 * longer create pods: new nodes get no node-exporter, ...`; `since` once the time has passed.
 */
export function impactSentence(i: WorkloadImpact, at: string, lapsed: boolean): string {
  const where = i.nodes > 0 ? ` on ${plural(i.nodes, 'node')}` : '';
  return `${lapsed ? 'since' : 'after'} ${at} ${workloadLabel(i.workload)} (${plural(i.pods, 'pod')}${where}) can no longer create pods: ${lostAbility(i.workload)}`;
}

/** Every workload's sentence, joined within `maxBytes` (whole sentences, then `(+N more)`). */
export function impactText(impacts: readonly WorkloadImpact[], at: string, lapsed: boolean, maxBytes: number): string {
  return joinWithinBytes(
    impacts.map((i) => impactSentence(i, at, lapsed)),
    '; ',
    maxBytes,
  );
}
