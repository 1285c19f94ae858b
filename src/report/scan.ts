// The static check: host-namespace use in manifests, with file:line, against the exceptions in the
// same input. Pure: (sources, now, config) -> result; reading files and stdin is the CLI's job.
import { DateTime } from 'luxon';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { EXCEPTION_KIND, GROUP, type ExceptionPhase, type HostNamespace } from '../api/v1alpha1.ts';
import { classifyPod, type ExceptionGrant } from '../policy/classify.ts';
import { podSecurityProfile } from '../policy/contract.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { isGranting } from '../policy/lifecycle.ts';
import { evaluateException, grantsByNamespace, type EvaluatedException } from './model.ts';

export interface ScanSource {
  /** As the user named it; `-` is stdin (shown as `<stdin>`). */
  path: string;
  text: string;
}

export type ScanStatus = 'offender' | 'covered' | 'exempt';

/** One host-namespace flag set to true in one object. */
export interface ScanFinding {
  file: string;
  /** 1-based line and column of the flag's key (`hostNetwork: true`). */
  line: number;
  column: number;
  kind: string;
  namespace: string;
  name: string;
  flag: HostNamespace;
  /** Where the flag sits in the object, e.g. `spec.template.spec.hostNetwork`. */
  field: string;
  status: ScanStatus;
  /** Granting exceptions that allow this flag for this object. */
  exceptions: string[];
  /** Expired exceptions that would have allowed it. */
  lapsed: string[];
}

/** Input that could not be checked: the result is incomplete. */
export interface ScanError {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** A HostNamespaceException found in the input, and whether it counts. */
export interface ScannedException {
  file: string;
  line: number;
  namespace: string;
  name: string;
  phase: ExceptionPhase;
  counts: boolean;
  problems: string[];
}

export interface ScanResult {
  findings: ScanFinding[];
  errors: ScanError[];
  exceptions: ScannedException[];
  /** Kubernetes objects looked at (List items counted one by one). */
  objects: number;
  files: number;
}

export interface ScanOptions {
  now: DateTime;
  config: PolicyConfig;
  /** Namespace of objects that name none (as `kubectl apply -n` would place them). */
  defaultNamespace: string;
}

/** Kinds whose pod spec we check, and where it sits. */
const POD_SPEC_PATHS: Record<string, { spec: string[]; labels: string[] }> = {
  Pod: { spec: ['spec'], labels: ['metadata', 'labels'] },
  PodTemplate: { spec: ['template', 'spec'], labels: ['template', 'metadata', 'labels'] },
  Deployment: { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] },
  ReplicaSet: { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] },
  ReplicationController: { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] },
  StatefulSet: { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] },
  DaemonSet: { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] },
  Job: { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] },
  CronJob: {
    spec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
    labels: ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'],
  },
};

export const SCANNED_KINDS = Object.keys(POD_SPEC_PATHS);

/** One Kubernetes object found in the input, with what locates it. */
interface FoundObject {
  file: string;
  node: YAMLMap;
  value: Record<string, unknown>;
  lines: LineCounter;
}

export function displayName(path: string): string {
  return path === '-' ? '<stdin>' : path;
}

function pairOf(map: Node | null | undefined, key: string): Pair | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key) as Pair | undefined;
}

function nodeAt(node: Node | null | undefined, path: readonly string[]): Node | undefined {
  let at: Node | null | undefined = node;
  for (const k of path) {
    const p = pairOf(at, k);
    if (!p) return undefined;
    at = p.value as Node | null;
  }
  return at ?? undefined;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let at: unknown = value;
  for (const k of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[k];
  }
  return at;
}

function position(lines: LineCounter, offset: number | undefined): { line: number; column: number } {
  const p = lines.linePos(offset ?? 0);
  return { line: p.line, column: p.col };
}

/** Parses one source into objects; syntax errors are reported and the other documents kept. */
function parseSource(source: ScanSource, errors: ScanError[]): FoundObject[] {
  const file = displayName(source.path);
  const lines = new LineCounter();
  // YAML 1.1 booleans (`yes`, `on`), as kubectl's sigs.k8s.io/yaml reads them.
  const docs = parseAllDocuments(source.text, { lineCounter: lines, version: '1.1', prettyErrors: true });
  const list: Document[] = Array.isArray(docs) ? docs : [];
  const found: FoundObject[] = [];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = e.linePos?.[0];
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        errors.push({ file, line: at?.line, column: at?.col, message: `YAML syntax error: ${message}` });
      }
      return;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return; // empty document
    if (!isMap(root)) {
      const { line, column } = position(lines, root.range?.[0]);
      errors.push({ file, line, column, message: `document ${i + 1} is not a Kubernetes object (expected a mapping with apiVersion and kind)` });
      return;
    }
    collectObjects(file, root, root.toJS(doc) as Record<string, unknown>, lines, found);
  });
  return found;
}

/** The object itself, or the items of a `kind: List` (or `PodList`, ...) as kubectl prints them. */
function collectObjects(file: string, node: YAMLMap, value: Record<string, unknown>, lines: LineCounter, out: FoundObject[]): void {
  const kind = value.kind;
  const items = nodeAt(node, ['items']);
  if (typeof kind === 'string' && kind.endsWith('List') && isSeq(items) && Array.isArray(value.items)) {
    items.items.forEach((item, i) => {
      const v = (value.items as unknown[])[i];
      if (isMap(item) && v && typeof v === 'object') collectObjects(file, item, v as Record<string, unknown>, lines, out);
    });
    return;
  }
  out.push({ file, node, value, lines });
}

function isException(o: FoundObject): boolean {
  const apiVersion = o.value.apiVersion;
  return o.value.kind === EXCEPTION_KIND && typeof apiVersion === 'string' && apiVersion.startsWith(`${GROUP}/`);
}

function namespaceOf(value: Record<string, unknown>, fallback: string): string {
  const ns = valueAt(value, ['metadata', 'namespace']);
  return typeof ns === 'string' && ns !== '' ? ns : fallback;
}

function nameOf(value: Record<string, unknown>): string {
  const name = valueAt(value, ['metadata', 'name']) ?? valueAt(value, ['metadata', 'generateName']);
  return typeof name === 'string' && name !== '' ? name : '(unnamed)';
}

/**
 * Scans workloads in `sources` against the exceptions in `sources` and `exceptionSources` (only
 * the HostNamespaceException documents of the latter are used).
 */
export function scanSources(sources: readonly ScanSource[], exceptionSources: readonly ScanSource[], options: ScanOptions): ScanResult {
  const errors: ScanError[] = [];
  const objects = sources.map((s) => parseSource(s, errors));
  const extra = exceptionSources.map((s) => parseSource(s, errors));

  const exceptionObjects = [...objects.flat(), ...extra.flat()].filter(isException);
  const exceptions: ScannedException[] = [];
  const evaluated: EvaluatedException[] = [];
  for (const o of exceptionObjects) {
    const metadata = (o.value.metadata && typeof o.value.metadata === 'object' ? o.value.metadata : {}) as Record<string, unknown>;
    const raw = { ...o.value, metadata: { ...metadata, namespace: namespaceOf(o.value, options.defaultNamespace) } };
    // A manifest has no creationTimestamp: its lifetime runs from its risk acceptance, else from now.
    const acceptedAt = valueAt(o.value, ['spec', 'riskAcceptance', 'acceptedAt']);
    const accepted = typeof acceptedAt === 'string' ? parseIso(acceptedAt) : undefined;
    const e = evaluateException(raw, options.now, options.config, accepted ?? options.now);
    evaluated.push(e);
    exceptions.push({
      file: o.file,
      line: position(o.lines, o.node.range?.[0]).line,
      namespace: e.facts.namespace,
      name: e.facts.name,
      phase: e.lifecycle.phase,
      counts: isGranting(e.lifecycle.phase),
      problems: e.lifecycle.problems,
    });
  }
  const grants: Map<string, ExceptionGrant[]> = grantsByNamespace(evaluated);

  const findings: ScanFinding[] = [];
  let count = 0;
  for (const o of objects.flat()) {
    count++;
    const kind = o.value.kind;
    if (typeof kind !== 'string' || !Object.hasOwn(POD_SPEC_PATHS, kind)) continue;
    const paths = POD_SPEC_PATHS[kind]!;
    const spec = valueAt(o.value, paths.spec);
    const labels = valueAt(o.value, paths.labels);
    const namespace = namespaceOf(o.value, options.defaultNamespace);
    const name = nameOf(o.value);
    const pod = {
      namespace,
      name,
      labels: labels && typeof labels === 'object' && !Array.isArray(labels) ? (labels as Record<string, string>) : {},
      hostNetwork: valueAt(spec, ['hostNetwork']) === true,
      hostPID: valueAt(spec, ['hostPID']) === true,
      hostIPC: valueAt(spec, ['hostIPC']) === true,
      security: podSecurityProfile(spec),
    };
    const cls = classifyPod(pod, grants.get(namespace) ?? [], options.config.exemptNamespaces);
    if (cls.kind === 'clean') continue;
    const specNode = nodeAt(o.node, paths.spec);
    for (const flag of cls.used) {
      const keyNode = pairOf(specNode, flag)?.key as Node | undefined;
      const { line, column } = position(o.lines, keyNode?.range?.[0]);
      const grantedBy = (grants.get(namespace) ?? []).filter(
        (g) => g.granting && g.allow.includes(flag) && cls.kind !== 'exempt' && cls.exceptions.includes(g.name),
      );
      const status: ScanStatus = cls.kind === 'exempt' ? 'exempt' : grantedBy.length > 0 ? 'covered' : 'offender';
      findings.push({
        file: o.file,
        line,
        column,
        kind,
        namespace,
        name,
        flag,
        field: [...paths.spec, flag].join('.'),
        status,
        exceptions: grantedBy.map((g) => g.name).sort(),
        lapsed: cls.kind === 'offender' ? cls.lapsed.filter((l) => (grants.get(namespace) ?? []).some((g) => g.name === l.name && g.allow.includes(flag))).map((l) => l.name) : [],
      });
    }
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { findings, errors, exceptions, objects: count, files: sources.length };
}

function parseIso(text: string): DateTime | undefined {
  const t = DateTime.fromISO(text, { setZone: true });
  return t.isValid ? t.toUTC() : undefined;
}

export function hasUncovered(result: ScanResult): boolean {
  return result.findings.some((f) => f.status === 'offender');
}
