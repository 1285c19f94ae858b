// The static check: host-namespace use in manifests, with file:line, against the exceptions of a
// trusted source (a protected folder, the live register). Pure: (sources, now, config) -> result;
// reading files, stdin and the cluster is the CLI's job. Documents are read one at a time and only
// what a finding needs is kept, so memory follows the largest document, not the input.
import { DateTime } from 'luxon';
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { EXCEPTION_KIND, GROUP, HOST_NAMESPACES, type ExceptionPhase, type HostNamespace } from '../api/v1alpha1.ts';
import { classifyPod, type ExceptionGrant } from '../policy/classify.ts';
import { podSecurityProfile, type PodSecurityProfile } from '../policy/contract.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { isGranting } from '../policy/lifecycle.ts';
import { evaluateException, grantsByNamespace, type EvaluatedException } from './model.ts';
import {
  scanCommands,
  scanCompose,
  type CommandFileKind,
  type CommandFinding,
  type CommandError,
} from './scan-commands.ts';
import { scannedKind, type ScannedKind } from './scan-kinds.ts';
import {
  deref,
  nodeAt,
  overAliasBudget,
  pairIn,
  parseDocuments,
  positionIn,
  splitDocuments,
  syntaxErrorOffset,
  type ParsedDocument,
} from './scan-yaml.ts';

export interface ScanSource {
  /** As the user named it; `-` is stdin (shown as `<stdin>`). */
  path: string;
  /** The whole text, or its pieces in order (a file read in chunks). */
  text?: string;
  read?: () => Iterable<string>;
  /** Exceptions here count (the file lies in an --exceptions folder); else they are in the change. */
  trusted?: boolean;
  /** What the file is (by name, see inputs.ts); Kubernetes manifests when unset. */
  format?: 'manifest' | 'compose' | CommandFileKind;
}

export type ScanStatus = 'offender' | 'covered' | 'exempt';

/** One host-namespace flag set to true in one object. */
export interface ScanFinding {
  file: string;
  /** 1-based line and column of the flag's key (`hostNetwork: true`), in an anchor if merged from one. */
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
  /** Controls of the covering exceptions that no file can show kept (networkRestricted: the operator checks it). */
  notCheckableOffline?: string[];
  /** Outside Kubernetes (kind `Compose` or `Command`): what sets it, as written. */
  setBy?: string;
}

/** Input that could not be checked: the result is incomplete. */
export interface ScanError {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** Where an exception came from: the scanned input, an --exceptions path, the live cluster. */
export type ExceptionSource = 'input' | 'exceptions' | 'cluster';

/** A HostNamespaceException considered, and whether it counts. */
export interface ScannedException {
  file: string;
  line: number;
  column: number;
  namespace: string;
  name: string;
  phase: ExceptionPhase;
  source: ExceptionSource;
  /** In the scanned change and not trusted: the `exception-in-change` finding. */
  inChange: boolean;
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
  /** Count exceptions found among the scanned inputs (off: they are `exception-in-change` findings). */
  trustInlineExceptions?: boolean;
  /** Exceptions read from the cluster (`--exceptions-from cluster`), as the API returns them. */
  clusterExceptions?: readonly Record<string, unknown>[];
  /**
   * Largest document given a full parse: a larger one is an error of its file (exit 2) instead of
   * exhausting the heap, which aborts the process. The CLI derives it from the heap limit.
   */
  maxDocumentBytes?: number;
}

/** Heap a full parse needs per byte of YAML: about 85x measured on a 17 MB kind: List, with a margin. */
export const PARSE_BYTES_PER_BYTE = 100;

/** What a workload finding needs, kept instead of the document. */
interface Workload {
  file: string;
  kind: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  flags: { flag: HostNamespace; line: number; column: number; field: string }[];
  /** What an exception's contract checks; read only for workloads that use a host namespace. */
  security?: PodSecurityProfile;
}

interface FoundException {
  file: string;
  line: number;
  column: number;
  value: Record<string, unknown>;
  source: ExceptionSource;
  trusted: boolean;
}

export function displayName(path: string): string {
  return path === '-' ? '<stdin>' : path;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let at: unknown = value;
  for (const k of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[k];
  }
  return at;
}

function namespaceOf(value: Record<string, unknown>, fallback: string): string {
  const ns = valueAt(value, ['metadata', 'namespace']);
  return typeof ns === 'string' && ns !== '' ? ns : fallback;
}

function nameOf(value: Record<string, unknown>): string {
  const name = valueAt(value, ['metadata', 'name']) ?? valueAt(value, ['metadata', 'generateName']);
  return typeof name === 'string' && name !== '' ? name : '(unnamed)';
}

function isException(value: Record<string, unknown>): boolean {
  const apiVersion = value.apiVersion;
  return value.kind === EXCEPTION_KIND && typeof apiVersion === 'string' && apiVersion.startsWith(`${GROUP}/`);
}

/** The value as written (`"true"`, `{{ .Values.x }}`), shortened. */
function writtenValue(p: ParsedDocument, node: Node | undefined, value: unknown): string {
  const range = node?.range;
  const text = range ? p.text.slice(range[0], range[1]).trim() : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A document that can hold no host flag and no exception: its text names none of them, has no
 * escape (a quoted key can spell one with `\u` or a line continuation), no anchor or alias (their
 * budget is checked in a full parse), and is a plain block mapping with apiVersion and kind at the
 * top and no List. Anchors and merge keys only reach within their document, so nothing else can
 * put a flag in it. Such documents (most of a
 * large rendered chart) are counted without a full parse: the scan costs what the flagged ones
 * cost. A syntax error there is the API server's to report, not a host-namespace question.
 */
const MAY_MATTER = /host(?:Network|PID|IPC)|HostNamespaceException|\\|List|[&*][\w-]/;
const TOP_KIND = /^kind:[ \t]*[A-Za-z]/m;
const TOP_API_VERSION = /^apiVersion:[ \t]*[A-Za-z]/m;

function cannotMatter(text: string): boolean {
  return !MAY_MATTER.test(text) && TOP_KIND.test(text) && TOP_API_VERSION.test(text);
}

/** Reads one source document by document; every problem is an error of that file, never a throw. */
class SourceReader {
  objects = 0;
  private readonly file: string;
  private readonly source: ExceptionSource;
  private readonly trusted: boolean;
  private readonly options: ScanOptions;
  private readonly out: { errors: ScanError[]; workloads: Workload[]; exceptions: FoundException[] };
  constructor(file: string, source: ExceptionSource, trusted: boolean, options: ScanOptions, out: SourceReader['out']) {
    this.file = file;
    this.source = source;
    this.trusted = trusted;
    this.options = options;
    this.out = out;
  }

  read(pieces: Iterable<string>): void {
    let index = 0;
    for (const text of splitDocuments(pieces)) {
      if (cannotMatter(text.text)) {
        index++;
        this.objects++;
        continue;
      }
      const limit = this.options.maxDocumentBytes;
      if (limit !== undefined && text.text.length > limit) {
        const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;
        this.out.errors.push({
          file: this.file,
          line: text.firstLine + 1,
          column: 1,
          message:
            `document ${++index} is ${mb(text.text.length)}: over the ${mb(limit)} this process can parse ` +
            'in its heap (raise it with NODE_OPTIONS=--max-old-space-size=MB, or split the document)',
        });
        continue;
      }
      for (const p of parseDocuments(text)) this.document(p, ++index);
    }
  }

  private error(p: ParsedDocument, offset: number | undefined, message: string): void {
    this.out.errors.push({ file: this.file, ...positionIn(p, offset), message });
  }

  private document(p: ParsedDocument, index: number): void {
    const { doc } = p;
    if (doc.errors.length > 0) {
      // the first error only: the ones after it mostly follow from it (an unclosed quote, then
      // its unclosed map), and a person fixes the first and scans again
      const e = doc.errors[0]!;
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      this.error(p, syntaxErrorOffset(doc, e), `YAML syntax error: ${message}`);
      return;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return; // empty document
    if (!isMap(root)) {
      this.error(
        p,
        root.range?.[0],
        `document ${index} is not a Kubernetes object (expected a mapping with apiVersion and kind)`,
      );
      return;
    }
    const overBudget = overAliasBudget(doc);
    if (overBudget) {
      this.error(p, root.range?.[0], `document ${index}: ${overBudget}`);
      return;
    }
    let value: unknown;
    try {
      // the budget is checked above; aliases resolve to shared objects, nothing is copied
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (err) {
      // e.g. an alias to an anchor of another document (anchors do not cross `---`)
      this.error(p, root.range?.[0], `document ${index}: ${(err as Error).message}`);
      return;
    }
    this.object(p, root, value as Record<string, unknown>);
  }

  /** The object itself, or the items of a `kind: List` (or `PodList`, ...) as kubectl prints them. */
  private object(p: ParsedDocument, node: YAMLMap, value: Record<string, unknown>): void {
    const kind = value.kind;
    const items = nodeAt(node, ['items'], p.doc);
    if (typeof kind === 'string' && kind.endsWith('List') && isSeq(items) && Array.isArray(value.items)) {
      items.items.forEach((item, i) => {
        const itemNode = deref(item, p.doc);
        const v = (value.items as unknown[])[i];
        if (isMap(itemNode) && v && typeof v === 'object') this.object(p, itemNode, v as Record<string, unknown>);
      });
      return;
    }
    this.objects++;
    if (isException(value)) {
      const at = positionIn(p, node.range?.[0]);
      this.out.exceptions.push({ file: this.file, ...at, value, source: this.source, trusted: this.trusted });
      return;
    }
    const k = scannedKind(kind);
    if (k && this.source === 'input') this.workload(p, node, value, k);
  }

  private workload(p: ParsedDocument, node: YAMLMap, value: Record<string, unknown>, k: ScannedKind): void {
    const spec = valueAt(value, k.spec);
    const specNode = nodeAt(node, k.spec, p.doc);
    const labels = valueAt(value, k.labels);
    const w: Workload = {
      file: this.file,
      kind: k.kind,
      namespace: namespaceOf(value, this.options.defaultNamespace),
      name: nameOf(value),
      labels: labels && typeof labels === 'object' && !Array.isArray(labels) ? (labels as Record<string, string>) : {},
      flags: [],
    };
    for (const flag of HOST_NAMESPACES) {
      const v = valueAt(spec, [flag]);
      if (v === undefined || v === null || v === false) continue; // null is "unset" to the API server
      const pair = pairIn(specNode, flag, p.doc);
      const field = [...k.spec, flag].join('.');
      if (v !== true) {
        const shown = writtenValue(p, deref(pair?.value, p.doc), v);
        const why = /\{\{/.test(shown)
          ? 'an unrendered template; render it with helm template or kustomize build, and scan the output'
          : 'the API server refuses it; write true or false';
        const at = (pair?.value as Node | undefined)?.range?.[0] ?? (pair?.key as Node | undefined)?.range?.[0];
        this.error(p, at, `${k.kind} ${w.namespace}/${w.name}: ${field} is ${shown}, not a boolean (${why})`);
        continue;
      }
      const { line, column } = positionIn(p, (pair?.key as Node | undefined)?.range?.[0] ?? node.range?.[0]);
      w.flags.push({ flag, line, column, field });
    }
    if (w.flags.length) this.out.workloads.push({ ...w, security: podSecurityProfile(spec) });
  }
}

function readSource(s: ScanSource): Iterable<string> {
  return s.read ? s.read() : [s.text ?? ''];
}

/**
 * Scans workloads in `sources` against the exceptions that count: those of `exceptionSources`
 * (only their HostNamespaceException documents are used), of the cluster, and those among
 * `sources` only when trusted (the file lies in a trusted folder, or trustInlineExceptions).
 */
export function scanSources(
  sources: readonly ScanSource[],
  exceptionSources: readonly ScanSource[],
  options: ScanOptions,
): ScanResult {
  const out = { errors: [] as ScanError[], workloads: [] as Workload[], exceptions: [] as FoundException[] };
  let objects = 0;
  const outside: ScanFinding[] = [];
  for (const s of sources) {
    if (s.format !== undefined && s.format !== 'manifest') {
      scanOutside(s, out.errors, outside);
      continue;
    }
    const reader = new SourceReader(
      displayName(s.path),
      'input',
      s.trusted === true || options.trustInlineExceptions === true,
      options,
      out,
    );
    reader.read(readSource(s));
    objects += reader.objects;
  }
  for (const s of exceptionSources.filter((x) => x.format === undefined || x.format === 'manifest'))
    new SourceReader(displayName(s.path), 'exceptions', true, options, out).read(readSource(s));
  for (const raw of options.clusterExceptions ?? []) {
    const ns = valueAt(raw, ['metadata', 'namespace']);
    out.exceptions.push({
      file: `cluster:${String(ns)}`,
      line: 0,
      column: 0,
      value: raw,
      source: 'cluster',
      trusted: true,
    });
  }

  const exceptions: ScannedException[] = [];
  const evaluated: EvaluatedException[] = [];
  for (const o of out.exceptions) {
    const metadata = (o.value.metadata && typeof o.value.metadata === 'object' ? o.value.metadata : {}) as Record<
      string,
      unknown
    >;
    const raw = { ...o.value, metadata: { ...metadata, namespace: namespaceOf(o.value, options.defaultNamespace) } };
    // A manifest has no creationTimestamp: its lifetime runs from its risk acceptance, else from now.
    const acceptedAt = valueAt(o.value, ['spec', 'riskAcceptance', 'acceptedAt']);
    const accepted =
      o.source === 'cluster' ? undefined : typeof acceptedAt === 'string' ? parseIso(acceptedAt) : undefined;
    const e = evaluateException(
      raw,
      options.now,
      options.config,
      o.source === 'cluster' ? undefined : (accepted ?? options.now),
    );
    const counts = o.trusted && isGranting(e.lifecycle.phase);
    if (o.trusted) evaluated.push(e); // a lapsed one is named in the findings it no longer covers
    exceptions.push({
      file: o.file,
      line: o.line,
      column: o.column,
      namespace: e.facts.namespace,
      name: e.facts.name,
      phase: e.lifecycle.phase,
      source: o.source,
      inChange: !o.trusted,
      counts,
      problems: e.lifecycle.problems,
    });
  }
  const grants: Map<string, ExceptionGrant[]> = grantsByNamespace(evaluated);

  const findings: ScanFinding[] = [];
  for (const w of out.workloads) {
    const has = (f: HostNamespace) => w.flags.some((x) => x.flag === f);
    const pod = {
      namespace: w.namespace,
      name: w.name,
      labels: w.labels,
      hostNetwork: has('hostNetwork'),
      hostPID: has('hostPID'),
      hostIPC: has('hostIPC'),
      security: w.security,
    };
    const nsGrants = grants.get(w.namespace) ?? [];
    const cls = classifyPod(pod, nsGrants, options.config.exemptNamespaces);
    if (cls.kind === 'clean') continue;
    for (const { flag, line, column, field } of w.flags) {
      if (!cls.used.includes(flag)) continue;
      const grantedBy = nsGrants.filter(
        (g) => g.granting && g.allow.includes(flag) && cls.kind !== 'exempt' && cls.exceptions.includes(g.name),
      );
      const status: ScanStatus = cls.kind === 'exempt' ? 'exempt' : grantedBy.length > 0 ? 'covered' : 'offender';
      const lapsed =
        cls.kind === 'offender'
          ? cls.lapsed
              .filter((l) => nsGrants.some((g) => g.name === l.name && g.allow.includes(flag)))
              .map((l) => l.name)
          : [];
      const offlineOnly = grantedBy.some((g) => g.contract?.controls?.includes('networkRestricted'));
      findings.push({
        file: w.file,
        line,
        column,
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        flag,
        field,
        status,
        exceptions: grantedBy.map((g) => g.name).sort(),
        lapsed,
        ...(offlineOnly ? { notCheckableOffline: ['networkRestricted'] } : {}),
      });
    }
  }
  findings.push(...outside);
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { findings, errors: out.errors, exceptions, objects, files: sources.length };
}

/** Compose files, Dockerfiles, scripts, Makefiles, CI files: always offenders (no exception reaches them). */
function scanOutside(s: ScanSource, errors: ScanError[], out: ScanFinding[]): void {
  const file = displayName(s.path);
  const text = [...readSource(s)].join('');
  const r: { findings: CommandFinding[]; errors: CommandError[] } =
    s.format === 'compose' ? scanCompose(text) : scanCommands(text, s.format as CommandFileKind);
  for (const e of r.errors) errors.push({ file, ...e });
  for (const f of r.findings) {
    const kind = s.format === 'compose' ? 'Compose' : 'Command';
    out.push({
      file,
      line: f.line,
      column: f.column,
      kind,
      namespace: '',
      name: f.subject,
      flag: f.flag,
      field: f.what,
      status: 'offender',
      exceptions: [],
      lapsed: [],
      setBy: f.what,
    });
  }
}

function parseIso(text: string): DateTime | undefined {
  const t = DateTime.fromISO(text, { setZone: true });
  return t.isValid ? t.toUTC() : undefined;
}

export function hasUncovered(result: ScanResult): boolean {
  return result.findings.some((f) => f.status === 'offender');
}

export function exceptionsInChange(result: ScanResult): ScannedException[] {
  return result.exceptions.filter((x) => x.inChange);
}

/** Exit-worthy findings: uncovered host-namespace use, or an exception the change brings itself. */
export function hasFailures(result: ScanResult): boolean {
  return hasUncovered(result) || exceptionsInChange(result).length > 0;
}
