// What changed in the cluster between two instants, object by object: for tests asserting that the
// operator wrote nothing (a converged restart). When one does write, the failure names the write
// (the operator's own `api write` debug log lines) and what it changed (a field-level diff).
import { spawnSync } from 'node:child_process';
import { kubeconfigPath } from './clients.ts';

/** Everything the operator writes, or reads to decide what to write (namespaces: the grant index). */
const KINDS = [
  'pods',
  'hostnamespaceexceptions',
  'hostnamespacegrantsets',
  'hostnamespacegrantindexes',
  'events.events.k8s.io',
  'namespaces',
];

export type ClusterObjects = Map<string, unknown>;

interface Listed {
  kind: string;
  metadata: { namespace?: string; name: string; managedFields?: unknown };
}

/** Every object of KINDS, keyed `kind namespace/name`, without managedFields. */
export function clusterObjects(): ClusterObjects {
  const out: ClusterObjects = new Map();
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath(), 'get', KINDS.join(','), '-A', '-o', 'json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`kubectl get: ${r.stderr}`);
  for (const item of (JSON.parse(r.stdout) as { items: Listed[] }).items) {
    const { managedFields: _drop, ...metadata } = item.metadata;
    out.set(`${item.kind} ${metadata.namespace ?? ''}/${metadata.name}`, { ...item, metadata });
  }
  return out;
}

/** The paths whose values differ, `path: before -> after` (JSON, each cut to 200 characters). */
export function fieldDiff(before: unknown, after: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((k) => fieldDiff(before[k], after[k], path ? `${path}.${k}` : k));
  }
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 200));
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${path}: ${show(before)} -> ${show(after)}`];
}

/** Objects added, removed or changed between two snapshots, each with its field-level diff. */
export function clusterChanges(before: ClusterObjects, after: ClusterObjects): string[] {
  const changes: string[] = [];
  for (const [key, obj] of after) {
    const old = before.get(key);
    if (old === undefined) changes.push(`added ${key}: ${JSON.stringify(obj).slice(0, 600)}`);
    else {
      const diff = fieldDiff(old, obj);
      if (diff.length) changes.push(`changed ${key}:\n    ${diff.join('\n    ')}`);
    }
  }
  for (const key of before.keys()) if (!after.has(key)) changes.push(`removed ${key}`);
  return changes;
}

/** The writes an operator run with `--log-level debug` logged (verb, path, status), one a line. */
export function loggedWrites(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => l.includes('"api write"'))
    .map((l) => {
      const { verb, path, code } = JSON.parse(l) as { verb: string; path: string; code: number };
      return `${verb} ${path} -> ${code}`;
    });
}

/** The explanation a zero-writes assertion prints when it fails. */
export function explainWrites(log: string, before: ClusterObjects, after: ClusterObjects): string {
  const writes = loggedWrites(log);
  const changes = clusterChanges(before, after);
  return [
    `writes the operator logged (${writes.length}):`,
    ...writes.map((w) => `  ${w}`),
    `changes in the cluster (${changes.length}):`,
    ...changes.map((c) => `  ${c}`),
  ].join('\n');
}
