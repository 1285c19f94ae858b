// Rendering the Helm chart with the real helm, and comparing it with the kustomize config.
import { join } from 'node:path';
import { parseObjects, repoRoot, type KubeObject } from '../deploy/manifests.ts';
import { run } from '../harness/tools.ts';

export const CHART = join(repoRoot, 'charts/hostns-operator');

/** Helm's standard labels: the only difference the comparison with config/ ignores. */
export const HELM_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
];

/** `helm template` of the chart as release `hostns-operator`; throws with helm's message on failure. */
export function helmTemplate(helm: string, args: string[] = [], namespace = 'hostns-system'): KubeObject[] {
  const r = run(helm, ['template', 'hostns-operator', CHART, '--namespace', namespace, '--include-crds', ...args]);
  if (r.code !== 0) throw new Error(r.stderr.trim());
  return parseObjects(r.stdout);
}

/** The object without Helm's standard labels (and without an emptied labels map). */
export function withoutHelmLabels(o: KubeObject): KubeObject {
  const labels = Object.fromEntries(Object.entries(o.metadata.labels ?? {}).filter(([k]) => !HELM_LABELS.includes(k)));
  const metadata = { ...o.metadata, labels };
  if (Object.keys(labels).length === 0) delete (metadata as { labels?: unknown }).labels;
  return { ...o, metadata };
}

/**
 * The object with blank lines removed from its strings. kustomize's YAML library reads a folded
 * scalar (`>-`) with more-indented lines with an extra blank line before them (the YAML spec, and
 * helm, keep one line break); the admission policies' CEL is written that way and ignores it.
 */
export function withoutBlankLines<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\n(\s*\n)+/g, '\n') as T;
  if (Array.isArray(value)) return value.map(withoutBlankLines) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutBlankLines(v)])) as T;
  return value;
}

export const key = (o: KubeObject) =>
  `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export function byKey(objects: KubeObject[]): Map<string, KubeObject> {
  return new Map(objects.map((o) => [key(o), o]));
}
