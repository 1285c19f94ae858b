// `kubectl hostns verify`, the shell: lists namespaces and exceptions, sends the dry-run probes
// (dryRun=All: admission runs, nothing is stored) and reads the answers and their Warning headers.
// Every decision is in src/report/verify.ts.
import type { DateTime } from 'luxon';
import {
  EXCEPTION_PLURAL,
  GRANT_INDEX_NAME,
  GRANT_INDEX_PLURAL,
  GRANTS_NAME,
  GRANTS_PLURAL,
  GROUP,
  HOST_NAMESPACES,
  VERSION,
  type HostNamespace,
} from '../api/v1alpha1.ts';
import { ApiError, KubeClient } from '../kube/client.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import type { PolicyConfig } from '../policy/config.ts';
import { isGranting } from '../policy/lifecycle.ts';
import { formatSelector, matchesSelector } from '../policy/selector.ts';
import { evaluateException, type EvaluatedException } from '../report/model.ts';
import {
  HOSTNS_POLICY,
  REQUIRED_POLICY,
  diagnose,
  exceptionVerdict,
  flagVerdict,
  isRbacRefusal,
  labelsAvoiding,
  labelsSelectedBy,
  namespaceResult,
  parseWarningHeader,
  probePod,
  refusalNote,
  type AdmissionConfig,
  type ExceptionProbe,
  type FlagResult,
  type NamespaceReport,
  type ProbeAnswer,
  type VerifyReport,
} from '../report/verify.ts';
import { CliError, EXIT } from './errors.ts';

export interface VerifyOptions {
  /** Namespaces to probe; empty: every namespace. */
  namespaces: string[];
  /** Namespaces the user declares exempt: probed, never a finding. */
  exempt: ReadonlySet<string>;
  config: PolicyConfig;
  now: DateTime;
  timeoutMs: number;
  chunkSize: number;
}

/** Probes in flight at once: enough to verify a few hundred namespaces quickly, gentle on the API. */
const CONCURRENCY = 8;
const FIELD_MANAGER = 'kubectl-hostns-verify';

interface NamespaceObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  status?: { phase?: string };
}

function describe(err: unknown, server: string, what: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ApiError) {
    const message = (err.body as { message?: string } | undefined)?.message ?? err.message;
    if (err.status === 401) {
      const why = 'did not accept our credentials (401 Unauthorized)';
      return new CliError(EXIT.cluster, `${what}: the API server at ${server} ${why}`);
    }
    if (err.status === 403) {
      return new CliError(EXIT.cluster, `${what}: forbidden: ${message} (RBAC: config/rbac/verify_role.yaml)`);
    }
    return new CliError(EXIT.cluster, `${what}: the API server answered ${err.status}: ${message}`);
  }
  const e = err as { name?: string; code?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === 'TimeoutError') {
    const why = `no answer from the Kubernetes API at ${server} in time (--request-timeout)`;
    return new CliError(EXIT.cluster, `${what}: ${why}`);
  }
  const detail = e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
  return new CliError(EXIT.cluster, `${what}: cannot reach the Kubernetes API at ${server} (${detail})`);
}

async function listAll<T>(client: KubeClient, path: string, chunkSize: number, timeoutMs: number): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await client.request<{ items?: T[]; metadata?: { continue?: string } }>('GET', path, {
      query: { limit: chunkSize, continue: token },
      timeoutMs,
    });
    items.push(...(page.items ?? []));
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class Verifier {
  private readonly client: KubeClient;
  private readonly opts: VerifyOptions;
  private clusterConfig?: Promise<AdmissionConfig>;

  constructor(kc: KubeConfig, opts: VerifyOptions) {
    this.client = new KubeClient(kc);
    this.opts = opts;
  }

  /** Closes the connections of the probes and reads (src/kube/client.ts close()). */
  close(): Promise<void> {
    return this.client.close();
  }

  /** One server-side dry-run create; the answer (admitted or refused) with its warnings. */
  async probe(namespace: string, pod: Record<string, unknown>): Promise<ProbeAnswer> {
    let warnings: string[] = [];
    try {
      await this.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, {
        query: { dryRun: 'All', fieldManager: FIELD_MANAGER },
        body: pod,
        timeoutMs: this.opts.timeoutMs,
        onHeaders: (h) => (warnings = parseWarningHeader(h.get('warning'))),
      });
      return { admitted: true, warnings };
    } catch (err) {
      if (!(err instanceof ApiError) || err.status === 401) {
        throw describe(err, this.client.server, `probing namespace ${namespace}`);
      }
      const message = (err.body as { message?: string } | undefined)?.message ?? err.message;
      return { admitted: false, status: err.status, reason: err.reason, message, warnings };
    }
  }

  /** null: no such object, or its resource type unknown (a CRD not installed: no object either). */
  private async get(path: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.client.request<Record<string, unknown>>('GET', path, { timeoutMs: this.opts.timeoutMs });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  private unreadable(err: unknown, what: string): AdmissionConfig {
    if (err instanceof ApiError && err.status === 403) return { unreadable: `no access to read ${what}` };
    throw describe(err, this.client.server, `reading ${what}`);
  }

  /** Both policies, their bindings and the grant index: read once, only when a namespace needs explaining. */
  private readClusterConfig(): Promise<AdmissionConfig> {
    this.clusterConfig ??= (async () => {
      const reg = '/apis/admissionregistration.k8s.io/v1';
      try {
        const [policy, binding, requiredPolicy, requiredBinding, index] = await Promise.all([
          this.get(`${reg}/validatingadmissionpolicies/${HOSTNS_POLICY}`),
          this.get(`${reg}/validatingadmissionpolicybindings/${HOSTNS_POLICY}`),
          this.get(`${reg}/validatingadmissionpolicies/${REQUIRED_POLICY}`),
          this.get(`${reg}/validatingadmissionpolicybindings/${REQUIRED_POLICY}`),
          this.get(`/apis/${GROUP}/${VERSION}/${GRANT_INDEX_PLURAL}/${GRANT_INDEX_NAME}`),
        ]);
        return { policy, binding, requiredPolicy, requiredBinding, index };
      } catch (err) {
        return this.unreadable(err, 'the admission policies, their bindings or the grant index');
      }
    })();
    return this.clusterConfig;
  }

  /** The cluster-wide configuration and the namespace's own grants object (the param in it). */
  private async readAdmissionConfig(ns: NamespaceObject): Promise<AdmissionConfig> {
    const cluster = await this.readClusterConfig();
    if (cluster.unreadable) return cluster;
    const name = ns.metadata.name;
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(name)}/${GRANTS_PLURAL}/${GRANTS_NAME}`;
    try {
      const grants = await this.get(path);
      const version = ns.metadata.resourceVersion;
      return { ...cluster, grants, ...(version ? { namespaceVersion: version } : {}) };
    } catch (err) {
      return this.unreadable(err, `the grants object of namespace ${name}`);
    }
  }

  private async listExceptions(
    scoped: string[] | undefined,
  ): Promise<{ items: Record<string, unknown>[]; crdMissing: boolean }> {
    const base = `/apis/${GROUP}/${VERSION}`;
    const paths = scoped
      ? scoped.map((ns) => `${base}/namespaces/${encodeURIComponent(ns)}/${EXCEPTION_PLURAL}`)
      : [`${base}/${EXCEPTION_PLURAL}`];
    const { chunkSize, timeoutMs } = this.opts;
    try {
      const list = (p: string) => listAll<Record<string, unknown>>(this.client, p, chunkSize, timeoutMs);
      const lists = await Promise.all(paths.map(list));
      return { items: lists.flat(), crdMissing: false };
    } catch (err) {
      // not a Status naming an object: the resource type is unknown, the CRD is not installed
      if (err instanceof ApiError && err.status === 404) return { items: [], crdMissing: true };
      throw describe(err, this.client.server, 'listing HostNamespaceExceptions');
    }
  }

  async run(): Promise<VerifyReport & { accessRefused: boolean }> {
    const { opts } = this;
    let all: NamespaceObject[];
    try {
      all = await listAll<NamespaceObject>(this.client, '/api/v1/namespaces', opts.chunkSize, opts.timeoutMs);
    } catch (err) {
      throw describe(err, this.client.server, 'listing namespaces');
    }
    const byName = new Map(all.map((n) => [n.metadata.name, n]));
    const missing = opts.namespaces.filter((n) => !byName.has(n));
    if (missing.length) throw new CliError(EXIT.usage, `-n/--namespace: no such namespace: ${missing.join(', ')}`);
    const notes: string[] = [];
    const wanted = (opts.namespaces.length ? [...new Set(opts.namespaces)] : [...byName.keys()]).sort();
    const terminating = wanted.filter((n) => byName.get(n)!.status?.phase === 'Terminating');
    if (terminating.length) {
      notes.push(`skipped (being deleted, nothing can be created there): ${terminating.join(', ')}`);
    }
    const namespaces = wanted.filter((n) => !terminating.includes(n));

    const { items, crdMissing } = await this.listExceptions(opts.namespaces.length ? namespaces : undefined);
    if (crdMissing) notes.push('the HostNamespaceException CRD is not installed: no exception to probe');
    const exceptions = items.map((raw) => evaluateException(raw, opts.now, opts.config));
    const byNamespace = new Map<string, EvaluatedException[]>();
    for (const e of exceptions) byNamespace.set(e.facts.namespace, [...(byNamespace.get(e.facts.namespace) ?? []), e]);

    let accessRefused = false;
    const results = await pooled(namespaces, CONCURRENCY, async (ns) => {
      const r = await this.verifyNamespace(byName.get(ns)!, byNamespace.get(ns) ?? []);
      accessRefused ||= r.accessRefused;
      return r;
    });
    return {
      namespaces: results.map((r) => r.report),
      exceptions: results.flatMap((r) => r.exceptions),
      notes,
      accessRefused,
    };
  }

  private async verifyNamespace(
    namespace: NamespaceObject,
    exceptions: readonly EvaluatedException[],
  ): Promise<{ report: NamespaceReport; exceptions: ExceptionProbe[]; accessRefused: boolean }> {
    const ns = namespace.metadata.name;
    const exempt = this.opts.exempt.has(ns);
    const granting = exceptions.filter((e) => isGranting(e.lifecycle.phase));
    const { labels, unavoidable } = labelsAvoiding(
      granting.map((e) => ({ name: e.facts.name, selector: e.facts.selector })),
    );
    const control = await this.probe(ns, probePod('control', [], labels));
    const answers = await Promise.all(HOST_NAMESPACES.map((f) => this.probe(ns, probePod(f, [f], labels))));
    const flags: FlagResult[] = HOST_NAMESPACES.map((flag, i) => {
      const coveredBy = granting
        .filter((e) => unavoidable.includes(e.facts.name) && e.facts.allow.includes(flag))
        .map((e) => e.facts.name);
      return flagVerdict(flag, control, answers[i]!, coveredBy);
    });
    const result = namespaceResult(flags, exempt);
    let detail: string;
    if (exempt) {
      const refused = flags.every((f) => f.verdict === 'refused');
      detail = refused ? 'declared exempt, refused all the same' : 'declared exempt';
    } else if (flags.some((f) => f.verdict === 'admitted')) {
      detail = diagnose(ns, namespace.metadata.labels ?? {}, await this.readAdmissionConfig(namespace));
    } else {
      detail = refusalNote(flags);
    }
    const report: NamespaceReport = { namespace: ns, exempt, result, flags, detail };
    const enforced = result === 'enforced' || result === 'warn-only';

    const probes = await Promise.all(
      exceptions
        .filter((e) => e.lifecycle.phase !== 'Invalid' && e.facts.allow.length > 0)
        .sort((a, b) => a.facts.name.localeCompare(b.facts.name))
        .map(async (e): Promise<ExceptionProbe> => {
          const base = {
            namespace: ns,
            name: e.facts.name,
            phase: e.lifecycle.phase,
            allow: [...e.facts.allow],
            selector: formatSelector(e.facts.selector),
          };
          const sel = labelsSelectedBy(e.facts.selector);
          if (!sel.ok) return exceptionVerdict(base, true, control, { unsatisfiable: sel.why }, enforced);
          const covers = (f: HostNamespace) =>
            granting.some((g) => g.facts.allow.includes(f) && matchesSelector(g.facts.selector, sel.labels));
          const expectAdmitted = exempt || e.facts.allow.every(covers);
          const answer = await this.probe(ns, probePod('exception', e.facts.allow, sel.labels));
          return exceptionVerdict({ ...base, labels: sel.labels }, expectAdmitted, control, answer, enforced);
        }),
    );
    return { report, exceptions: probes, accessRefused: isRbacRefusal(control) || answers.some(isRbacRefusal) };
  }
}

/** Exit status: access refused (3) over incomplete (2) over findings (1). */
export function verifyExitCode(summary: { failed: boolean; incomplete: boolean }, accessRefused: boolean): number {
  if (accessRefused) return EXIT.cluster;
  if (summary.incomplete) return EXIT.usage;
  return summary.failed ? EXIT.findings : EXIT.ok;
}
