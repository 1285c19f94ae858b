// kubectl-hostns: the monthly review, a live audit, a static check for CI and a live enforcement
// check (see docs/cli.md).
// Imperative shell: flags, kubeconfig, files and stdout here; every decision in src/policy and
// src/report, so the CLI, the controller and the admission policy never disagree.
import { DATE_TIME_MESSAGE, SINGLE_LINE_MESSAGE, isApiDateTime, textProblem } from '../api/validation.ts';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { DateTime, type Duration } from 'luxon';
import { DEFAULT_POLICY_SETTINGS, parseDuration, type PolicyConfig } from '../policy/config.ts';
import { rfc3339 } from '../policy/grants.ts';
import { enforcesNetworkRestricted } from '../report/controls.ts';
import { auditSummary, buildAudit, renderAuditJson, renderAuditMarkdown, renderAuditTable } from '../report/audit.ts';
import {
  auditByWorkload,
  controllersOf,
  GROUPINGS,
  renderAuditWorkloadsJson,
  renderAuditWorkloadsMarkdown,
  renderAuditWorkloadsTable,
  renderReviewImpact,
  reviewImpact,
  reviewImpactPods,
  reviewWorkloads,
  type Grouping,
} from '../report/workloads.ts';
import { wantsColour } from '../report/format.ts';
import {
  buildReview,
  renderReviewJson,
  renderReviewMarkdown,
  renderReviewTable,
  type ReviewOptions,
} from '../report/review.ts';
import {
  renderClustersJson,
  renderClustersMarkdown,
  renderClustersTable,
  type ClusterReview,
} from '../report/review-clusters.ts';
import { hasFailures, PARSE_BYTES_PER_BYTE, scanSources } from '../report/scan.ts';
import { renderSarif, renderScanJson, renderScanText } from '../report/scan-output.ts';
import { renderVerifyJson, renderVerifyTable, verifySummary } from '../report/verify.ts';
import { CliError, EXIT, oneLine } from './errors.ts';
import { kustomizationSources, readChunks, readInputs, renderHelm, renderKustomize, type Rendered } from './inputs.ts';
import { placeHelmFindings, placeKustomizeFindings } from '../report/scan-render.ts';
import {
  acrossClusters,
  acrossClustersExitCode,
  Cluster,
  DEFAULT_CHUNK_SIZE,
  loadKubeConfig,
  loadKubeConfigContexts,
} from './cluster.ts';
import { Verifier, verifyExitCode } from './verify.ts';
import { resolvePolicy, type PolicyFlagValues, type SettingsSource } from './settings.ts';

export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  /** The whole of stdin, or its pieces in order. */
  readStdin: () => string | Iterable<string>;
  env: Record<string, string | undefined>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** From package.json two levels up: src/cli/ in development, dist/cli/ when built. */
export function cliVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Each policy flag is undefined unless given: the operator's published settings come first. */
type PolicyFlags = PolicyFlagValues & { now?: string };

interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  requestTimeout: string;
  chunkSize: string;
  namespace?: string;
  allNamespaces?: boolean;
}

/** The settings to decide with (src/cli/settings.ts); a bad flag value is a usage error. */
function policyFor(flags: PolicyFlagValues, source: SettingsSource): { config: PolicyConfig; notes: string[] } {
  try {
    return resolvePolicy(flags, source);
  } catch (err) {
    throw new CliError(EXIT.usage, (err as Error).message);
  }
}

/** Checks the policy flags before any request: a usage error never waits for the cluster. */
function checkPolicyFlags(flags: PolicyFlagValues): void {
  policyFor(flags, { kind: 'unavailable', why: '' });
}

/**
 * `list` and the operator's settings, read at once, then the settings to decide with. A cluster
 * that cannot answer fails `list`, with its error; the settings read never fails.
 */
async function withOperatorSettings<T>(
  cluster: Cluster,
  flags: PolicyFlagValues,
  list: () => Promise<T>,
): Promise<{ value: T; config: PolicyConfig; notes: string[] }> {
  const [source, value] = await Promise.all([cluster.operatorSettings(), list()]);
  return { value, ...policyFor(flags, source) };
}

/** `work`, then the client's connections closed whatever happened: nothing it started outlives it. */
async function closing<T>(client: { close(): Promise<void> }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await client.close();
  }
}

const printNotes = (io: Io, notes: readonly string[], prefix = '') => {
  for (const note of notes) io.stderr.write(`${prefix}${note}\n`);
};

function durationFlag(text: string, flag: string): Duration {
  try {
    return parseDuration(text, flag);
  } catch (err) {
    throw new CliError(EXIT.usage, (err as Error).message);
  }
}

function nowFrom(flags: PolicyFlags): DateTime {
  if (flags.now === undefined) return DateTime.utc();
  const t = DateTime.fromISO(flags.now, { setZone: true });
  // The API's one date grammar (src/api/validation.ts), as for every date of an exception.
  if (!isApiDateTime(flags.now) || !t.isValid) {
    throw new CliError(EXIT.usage, `--now: ${JSON.stringify(flags.now)} ${DATE_TIME_MESSAGE}`);
  }
  return t.toUTC();
}

type ReviewFlags = Omit<ClusterFlags, 'context'> &
  PolicyFlags & {
    context: string[];
    allContexts?: boolean;
    output: string;
    within: string;
    failOnFindings?: boolean;
    markReviewed?: string;
    by?: string;
    groupBy: Grouping;
  };

/**
 * One cluster's review, with that cluster's operator settings: its exceptions, and its pods when
 * there is an exception to cover them; and the notes on the settings used.
 */
async function reviewOf(
  cluster: Cluster,
  namespace: string | undefined,
  flags: PolicyFlagValues,
  options: Omit<ReviewOptions, 'config'>,
) {
  const {
    value: exceptions,
    config,
    notes,
  } = await withOperatorSettings(cluster, flags, () => cluster.listExceptions(namespace));
  const pods = exceptions.length ? await cluster.listPods(namespace) : [];
  const networkPolicies = await networkPoliciesFor(cluster, namespace, exceptions);
  return { rows: buildReview(exceptions, pods, { ...options, config, networkPolicies }), notes };
}

/**
 * The NetworkPolicies, when an exception enforces networkRestricted, to check it as the operator
 * does; when they cannot be read (e.g. no RBAC), the control is reported as not checked.
 */
async function networkPoliciesFor(
  cluster: Cluster,
  namespace: string | undefined,
  exceptions: readonly unknown[],
): Promise<unknown[] | undefined> {
  if (!enforcesNetworkRestricted(exceptions)) return undefined;
  return cluster.listNetworkPolicies(namespace).catch(() => undefined);
}

type VerifyFlags = Omit<ClusterFlags, 'namespace'> &
  PolicyFlagValues & { namespace?: string[]; output: string; acceptWarn?: boolean };

/** --request-timeout and --chunk-size, checked. */
function requestLimits(flags: Pick<ClusterFlags, 'requestTimeout' | 'chunkSize'>): {
  timeoutSeconds: number;
  chunkSize: number;
} {
  const seconds = Number(flags.requestTimeout.replace(/s$/, ''));
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new CliError(
      EXIT.usage,
      `--request-timeout: ${JSON.stringify(flags.requestTimeout)} is not a positive number of seconds`,
    );
  const chunk = Number(flags.chunkSize);
  if (!Number.isInteger(chunk) || chunk <= 0)
    throw new CliError(EXIT.usage, `--chunk-size: ${JSON.stringify(flags.chunkSize)} is not a positive integer`);
  return { timeoutSeconds: seconds, chunkSize: chunk };
}

function connectionFlags(
  flags: Omit<ClusterFlags, 'namespace'>,
  io: Io,
): { kc: KubeConfig; timeoutSeconds: number; chunkSize: number } {
  const limits = requestLimits(flags);
  const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context }, io.env);
  return { kc, ...limits };
}

function connect(flags: ClusterFlags, io: Io): Cluster {
  const { kc, timeoutSeconds, chunkSize } = connectionFlags(flags, io);
  return new Cluster(kc, timeoutSeconds, chunkSize);
}

/** Review and audit read every namespace unless -n names one. */
function scope(flags: ClusterFlags): string | undefined {
  if (flags.namespace !== undefined && flags.allNamespaces)
    throw new CliError(EXIT.usage, '-n/--namespace and -A/--all-namespaces exclude each other');
  if (flags.namespace === '') throw new CliError(EXIT.usage, '-n/--namespace: empty namespace name');
  return flags.namespace;
}

/** Collects a repeatable option's values. */
const append = (v: string, prev: string[]): string[] => [...prev, v];

function outputFlag(formats: string[], fallback: string): Option {
  return new Option('-o, --output <format>', 'output format').choices(formats).default(fallback);
}

/** --group-by: review and audit group pods by their workload (top owner) unless asked for each pod. */
function groupByFlag(): Option {
  return new Option('--group-by <grouping>', 'group pods by their workload (top owner) or list each pod')
    .choices(GROUPINGS)
    .default('workload');
}

const fromOperator = (fallback: string) => `(default: the operator's published setting, else ${fallback})`;

/**
 * The policy flags, defined once for every subcommand. None has a commander default: a flag not
 * given takes the operator's published setting (src/cli/settings.ts). verify has no --now and
 * reads --exempt-namespaces as the namespaces exempt on purpose.
 */
function addPolicyOptions(cmd: Command, { verify = false } = {}): Command {
  const d = DEFAULT_POLICY_SETTINGS;
  const exempt = verify
    ? 'namespaces you exempt on purpose: probed, never a finding (comma-separated, "" for none)'
    : 'namespaces whose pods are never offenders (comma-separated, "" for none)';
  cmd
    .option('--exempt-namespaces <list>', `${exempt} ${fromOperator(d.exemptNamespaces)}`)
    .option('--expiring-soon <duration>', `ExpiringSoon window ${fromOperator(d.expiringSoon)}`)
    .option('--max-lifetime <duration>', `longest lifetime an exception may have ${fromOperator(d.maxLifetime)}`)
    .option(
      '--review-interval <duration>',
      `a review is due this long after the last one ${fromOperator(d.reviewInterval)}`,
    );
  return verify ? cmd : cmd.option('--now <time>', 'evaluate at this RFC 3339 time instead of now (what-if, tests)');
}

/** `acrossClusters`: --context is repeatable and --all-contexts exists (review). */
function addClusterOptions(cmd: Command, acrossClusters = false): Command {
  const withContext = acrossClusters
    ? cmd
        .addOption(
          new Option('--context <name>', 'kubeconfig context to use; repeat it to review several clusters at once')
            .argParser(append)
            .default([], 'the current context'),
        )
        .option('--all-contexts', 'review the cluster of every context of the kubeconfig, at once')
    : cmd.option('--context <name>', 'kubeconfig context to use');
  return withContext
    .option('-n, --namespace <namespace>', 'only this namespace (default: all namespaces)')
    .option('-A, --all-namespaces', 'all namespaces (the default)')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--request-timeout <seconds>', 'give up on an API request after this many seconds', '30')
    .option('--chunk-size <n>', 'list in pages of this many objects, as kubectl does', String(DEFAULT_CHUNK_SIZE));
}

const REVIEW_HELP = `
Findings: invalid, expired, expiring (within --within), review-overdue,
lifetime-over-max, unused (covers no pod now, computed from the pods).
Rows are sorted by urgency (that order), then by expiry.

Examples:
  # the monthly review of every exception, as a table
  kubectl hostns review

  # one namespace, as Markdown to paste into the review ticket
  kubectl hostns review -n monitoring -o markdown

  # fail a scheduled job when anything needs attention in the next 14 days
  kubectl hostns review --within 14d --fail-on-findings

  # record that alice reviewed an exception (spec.review.lastReviewedAt/reviewedBy)
  kubectl hostns review --mark-reviewed node-exporter -n monitoring --by alice@example.com

  # several clusters at once, with a CLUSTER column (or --all-contexts)
  kubectl hostns review --context prod-eu --context prod-us

Across clusters (--context repeated, --all-contexts) a cluster that cannot be read is a row with
its error; exit status 2 when some cluster was not reviewed, 3 when none was.
`;

const AUDIT_HELP = `
Every pod using hostNetwork, hostPID or hostIPC: covered (by which exception), offender, or exempt,
and whether the operator's labels on it agree (LABELLED). Reads the API directly: works while the
operator is not running.

Examples:
  kubectl hostns audit
  kubectl hostns audit -n monitoring -o json
  kubectl hostns audit --fail-on-findings      # exit 1 when any offender runs
`;

const SCAN_HELP = `
Checks Pods and the pod templates of ReplicationControllers, Deployments, ReplicaSets, StatefulSets,
DaemonSets, Jobs and CronJobs (the admission policy's resources), also inside kind: List. YAML is
read as the API server reads it (YAML 1.1 booleans, timestamps as strings, its alias budget).
Exceptions count only from a trusted source: --exceptions PATH (a protected folder) or
--exceptions-from cluster. One found among the scanned inputs is an exception-in-change finding
(--trust-inline-exceptions counts it instead). Objects without metadata.namespace are in --namespace.

Exit status: 0 nothing uncovered, 1 uncovered host-namespace use or an exception-in-change, 2 input
incomplete (a YAML syntax error, an alias bomb, a host flag that is not a boolean, an unreadable
path or looping link; the scan still reports what it could read).

Examples:
  kubectl hostns scan deploy/ --exceptions exceptions/
  kustomize build overlays/prod | kubectl hostns scan - --exceptions-from cluster
  helm template my-release ./chart | kubectl hostns scan - --exceptions exceptions/
  kubectl hostns scan k8s/ -o sarif > hostns.sarif     # upload to code scanning
  kubectl hostns scan --helm-chart charts/agent --values prod.yaml --kustomize overlays/prod
  kubectl hostns scan .        # also Compose files, Dockerfiles, scripts, Makefiles, CI workflows
`;

const VERIFY_HELP = `
Sends server-side dry-run creates (dryRun=All: admission runs, nothing is stored) of a probe pod
with hostNetwork, hostPID, hostIPC (and one with none, the control) into each namespace, and one
per exception carrying labels its selector selects and the flags it allows. Per namespace and flag:
refused (enforced), warned (admitted with a warning: warn mode), admitted (not enforced: exempt,
policy, binding or param missing; the cause is shown), covered (an exception allows it to every pod).

Needs create on pods (RBAC cannot limit that to dry-run), list on namespaces and
hostnamespaceexceptions: config/rbac/verify_role.yaml.

Exit status: 0 every namespace not declared exempt is enforced and every exception probe is as
expected; 1 not so (warn mode too, unless --accept-warn); 2 bad usage or a probe that proves nothing;
3 cluster unreachable or access refused.

Examples:
  kubectl hostns verify
  kubectl hostns verify -n payments -n web -o json
  kubectl hostns verify --exempt-namespaces kube-system,monitoring --accept-warn
`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const out = (s: string) => void io.stdout.write(s);

  const program = new Command()
    .name('kubectl hostns')
    .description(
      'Host namespace exceptions: the monthly review, a live audit, a static check for CI, a live enforcement check.',
    )
    .version(cliVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  program.addHelpText(
    'after',
    `
Policy settings (--exempt-namespaces, --expiring-soon, --max-lifetime, --review-interval): the
operator's, as it publishes them in the cluster; a flag given wins, with a warning when it differs.

Exit status: 0 ok; 1 findings (scan: uncovered use; verify: a namespace not enforced;
review/audit: with --fail-on-findings); 2 bad usage or incomplete input (verify: a probe that
proves nothing); 3 cluster unreachable, access refused or CRD not installed;
4 internal error (a bug).

Examples:
  kubectl hostns review -o markdown
  kubectl hostns audit -A
  kubectl hostns scan manifests/ -o sarif
  kubectl hostns verify`,
  );

  addPolicyOptions(
    addClusterOptions(
      program
        .command('review')
        .description('the monthly review: every exception, its state, and what needs action')
        .addOption(outputFlag(['table', 'markdown', 'json'], 'table'))
        .option('--within <duration>', 'report exceptions expiring within this window', '30d')
        .addOption(groupByFlag())
        .option('--fail-on-findings', 'exit 1 when any exception has a finding')
        .option('--mark-reviewed <name>', 'record a review on this exception (needs -n and --by) instead of reporting')
        .option('--by <who>', 'who reviewed it (with --mark-reviewed)'),
      true,
    ),
  )
    .addHelpText('after', REVIEW_HELP)
    .action(async (reviewFlags: ReviewFlags) => {
      const { context: contexts, allContexts, ...rest } = reviewFlags;
      if (allContexts && contexts.length > 0) {
        throw new CliError(EXIT.usage, '--context and --all-contexts exclude each other');
      }
      const across = allContexts === true || new Set(contexts).size > 1;
      const flags = { ...rest, context: contexts[0] };
      if (flags.markReviewed !== undefined && across) {
        throw new CliError(EXIT.usage, '--mark-reviewed records a review in one cluster: give at most one --context');
      }
      if (flags.markReviewed !== undefined && flags.now !== undefined) {
        throw new CliError(
          EXIT.usage,
          '--now cannot be used with --mark-reviewed: a review is recorded at the time it happens',
        );
      }
      const now = nowFrom(flags);
      if (flags.markReviewed !== undefined) {
        if (!flags.namespace)
          throw new CliError(EXIT.usage, '--mark-reviewed needs -n/--namespace (the namespace of the exception)');
        if (!flags.by || !flags.by.trim())
          throw new CliError(EXIT.usage, '--mark-reviewed needs --by <who> (the reviewer)');
        if (textProblem(flags.by.trim())) {
          throw new CliError(EXIT.usage, `--by: ${JSON.stringify(flags.by)} ${SINGLE_LINE_MESSAGE}`);
        }
        if (!flags.markReviewed.trim()) throw new CliError(EXIT.usage, '--mark-reviewed: empty exception name');
        const cluster = connect(flags, io);
        const at = rfc3339(now.startOf('second')); // second precision, as kubectl and the API server write times
        const { namespace, markReviewed } = flags;
        const reviewedBy = flags.by.trim();
        await closing(cluster, () => cluster.markReviewed(namespace, markReviewed, { lastReviewedAt: at, reviewedBy }));
        const review = {
          namespace: flags.namespace,
          name: flags.markReviewed,
          reviewedBy: flags.by.trim(),
          lastReviewedAt: at,
        };
        if (flags.output === 'json') out(JSON.stringify({ reviewed: review }, null, 2) + '\n');
        else out(`hostnamespaceexception.hostns.io/${flags.markReviewed} reviewed by ${flags.by.trim()} at ${at}\n`);
        return;
      }
      if (flags.by !== undefined) throw new CliError(EXIT.usage, '--by is only used with --mark-reviewed');
      checkPolicyFlags(flags);
      const within = durationFlag(flags.within, '--within');
      const ns = scope(flags);
      const options = { now, within };
      if (across) {
        const { timeoutSeconds, chunkSize } = requestLimits(flags);
        const which = { kubeconfig: flags.kubeconfig, contexts: allContexts ? ('all' as const) : contexts };
        const targets = loadKubeConfigContexts(which, io.env);
        const outcomes = await acrossClusters(targets, (t) => {
          const cluster = new Cluster(t.kc, timeoutSeconds, chunkSize);
          return closing(cluster, () => reviewOf(cluster, ns, flags, options));
        });
        const reviews = outcomes.map((o): ClusterReview => ({
          cluster: o.context,
          server: o.server,
          ...('error' in o ? { error: oneLine(o.error.message) } : { rows: o.value.rows }),
        }));
        for (const o of outcomes) {
          if ('error' in o) io.stderr.write(`error: context ${o.context}: ${oneLine(o.error.message)}\n`);
          else printNotes(io, o.value.notes, `context ${o.context}: `);
        }
        if (flags.output === 'json') out(renderClustersJson(reviews, now));
        else if (flags.output === 'markdown') out(renderClustersMarkdown(reviews, now));
        else out(renderClustersTable(reviews, wantsColour(io.stdout, io.env)));
        const findings = reviews.some((r) => r.rows?.some((row) => row.findings.length > 0));
        exitCode = acrossClustersExitCode(outcomes, flags.failOnFindings === true && findings);
        return;
      }
      const cluster = connect(flags, io);
      const { exceptions, pods, controllers, warnings, networkPolicies, config, notes } = await closing(
        cluster,
        async () => {
          const { value, ...settings } = await withOperatorSettings(cluster, flags, () => cluster.listExceptions(ns));
          const [pods, { controllers, warnings }] = value.length
            ? await Promise.all([cluster.listPods(ns), cluster.listControllers(ns)])
            : [[], { controllers: [], warnings: [] }];
          const networkPolicies = await networkPoliciesFor(cluster, ns, value);
          return { exceptions: value, pods, controllers, warnings, networkPolicies, ...settings };
        },
      );
      printNotes(io, notes);
      for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
      const withConfig = { ...options, config };
      const rows = buildReview(exceptions, pods, { ...withConfig, networkPolicies });
      const impact = reviewImpact(exceptions, pods, controllersOf(controllers), withConfig);
      const byPod = flags.groupBy === 'pod' ? reviewImpactPods(exceptions, pods, withConfig) : undefined;
      if (flags.output === 'json') {
        const withWorkloads = rows.map((r) => {
          const key = `${r.namespace}/${r.name}`;
          return byPod
            ? { ...r, pods: byPod.get(key) ?? [] }
            : { ...r, workloads: reviewWorkloads(impact.get(key) ?? []) };
        });
        out(renderReviewJson(withWorkloads, now));
      } else if (flags.output === 'markdown')
        out(renderReviewMarkdown(rows, now) + renderReviewImpact(rows, impact, byPod));
      else out(renderReviewTable(rows, wantsColour(io.stdout, io.env)) + renderReviewImpact(rows, impact, byPod));
      if (flags.failOnFindings && rows.some((r) => r.findings.length > 0)) exitCode = EXIT.findings;
    });

  addPolicyOptions(
    addClusterOptions(
      program
        .command('audit')
        .description('live: every pod using a host namespace, covered (by which exception), offender or exempt')
        .addOption(outputFlag(['table', 'markdown', 'json'], 'table'))
        .addOption(groupByFlag())
        .option('--fail-on-findings', 'exit 1 when any pod is an offender'),
    ),
  )
    .addHelpText('after', AUDIT_HELP)
    .action(
      async (flags: ClusterFlags & PolicyFlags & { output: string; failOnFindings?: boolean; groupBy: Grouping }) => {
        const now = nowFrom(flags);
        checkPolicyFlags(flags);
        const ns = scope(flags);
        const cluster = connect(flags, io);
        const { exceptions, pods, listed, networkPolicies, config, notes } = await closing(cluster, async () => {
          const { value, ...settings } = await withOperatorSettings(cluster, flags, () => cluster.listExceptions(ns));
          const pods = await cluster.listPods(ns);
          const listed = flags.groupBy === 'pod' ? undefined : await cluster.listControllers(ns);
          const networkPolicies = await networkPoliciesFor(cluster, ns, value);
          return { exceptions: value, pods, listed, networkPolicies, ...settings };
        });
        printNotes(io, notes);
        const rows = buildAudit(pods, exceptions, { now, config, networkPolicies });
        if (!listed) {
          if (flags.output === 'json') out(renderAuditJson(rows, now));
          else if (flags.output === 'markdown') out(renderAuditMarkdown(rows, now));
          else out(renderAuditTable(rows, wantsColour(io.stdout, io.env)));
        } else {
          for (const w of listed.warnings) io.stderr.write(`warning: ${w}\n`);
          const workloads = auditByWorkload(rows, pods, controllersOf(listed.controllers));
          if (flags.output === 'json') out(renderAuditWorkloadsJson(workloads, now));
          else if (flags.output === 'markdown') out(renderAuditWorkloadsMarkdown(workloads, now));
          else out(renderAuditWorkloadsTable(workloads, wantsColour(io.stdout, io.env)));
        }
        if (flags.failOnFindings && auditSummary(rows).offenders > 0) exitCode = EXIT.findings;
      },
    );

  addPolicyOptions(
    program
      .command('scan')
      .description('static check for CI: host-namespace use in manifests without a HostNamespaceException')
      .argument(
        '[paths...]',
        'files, folders (recursive: manifests, Compose, Dockerfiles, scripts, Makefiles, CI workflows) or - for stdin',
      )
      .addOption(outputFlag(['text', 'json', 'sarif'], 'text'))
      .option(
        '--exceptions <path>',
        'trusted HostNamespaceExceptions from this file or protected folder (repeatable)',
        append,
        [],
      )
      .addOption(
        new Option('--exceptions-from <source>', 'trusted HostNamespaceExceptions from the live register').choices([
          'cluster',
        ]),
      )
      .option('--helm-chart <dir>', 'render this chart with helm template and scan the output (repeatable)', append, [])
      .option('--values <file>', 'values file for --helm-chart (repeatable)', append, [])
      .option(
        '--kustomize <dir>',
        'render this kustomization with kubectl kustomize, scan the output (repeatable)',
        append,
        [],
      )
      .option(
        '--trust-inline-exceptions',
        'count exceptions among the scanned inputs (default: exception-in-change finding)',
      )
      .option('-n, --namespace <namespace>', 'namespace of objects that name none', 'default')
      .option('--kubeconfig <path>', 'kubeconfig file, with --exceptions-from cluster')
      .option('--context <name>', 'kubeconfig context, with --exceptions-from cluster')
      .option('--request-timeout <seconds>', 'give up on an API request after this many seconds', '30'),
  )
    .addHelpText('after', SCAN_HELP)
    .action(
      async (
        paths: string[],
        flags: PolicyFlags &
          Pick<ClusterFlags, 'kubeconfig' | 'context' | 'requestTimeout'> & {
            output: string;
            exceptions: string[];
            exceptionsFrom?: 'cluster';
            trustInlineExceptions?: boolean;
            helmChart: string[];
            values: string[];
            kustomize: string[];
            namespace: string;
          },
      ) => {
        const now = nowFrom(flags);
        checkPolicyFlags(flags);
        if (!flags.namespace) throw new CliError(EXIT.usage, '-n/--namespace: empty namespace name');
        if (paths.length === 0 && flags.helmChart.length === 0 && flags.kustomize.length === 0) {
          throw new CliError(EXIT.usage, 'scan needs a path, - for stdin, --helm-chart DIR or --kustomize DIR');
        }
        if (flags.values.length > 0 && flags.helmChart.length === 0) {
          throw new CliError(EXIT.usage, '--values is only used with --helm-chart');
        }
        const helm: [string, Rendered][] = flags.helmChart.map((c) => [c, renderHelm(c, flags.values, io.env)]);
        const kustomize: [string, Rendered][] = flags.kustomize.map((d) => [d, renderKustomize(d, io.env)]);
        const rendered = [...helm, ...kustomize].map(([, r]) => r);
        let clusterExceptions: Record<string, unknown>[] | undefined;
        let settings: { config: PolicyConfig; notes: string[] };
        if (flags.exceptionsFrom === 'cluster') {
          const cluster = connect({ ...flags, chunkSize: String(DEFAULT_CHUNK_SIZE), namespace: undefined }, io);
          const { value, ...resolved } = await closing(cluster, () =>
            withOperatorSettings(cluster, flags, () => cluster.listExceptions(undefined)),
          );
          clusterExceptions = value;
          settings = resolved;
        } else {
          const why = 'scan reads no cluster without --exceptions-from cluster';
          settings = policyFor(flags, { kind: 'unavailable', why });
        }
        printNotes(io, settings.notes);
        const { config } = settings;
        const inputs = readInputs(paths, io.readStdin, flags.exceptions);
        const extra = readInputs(flags.exceptions, io.readStdin);
        const options = {
          now,
          config,
          defaultNamespace: flags.namespace,
          trustInlineExceptions: flags.trustInlineExceptions === true,
          clusterExceptions,
          maxDocumentBytes: Math.floor(getHeapStatistics().heap_size_limit / PARSE_BYTES_PER_BYTE),
        };
        const renderedSources = rendered.flatMap((r) => (r.text === undefined ? [] : [{ path: r.name, text: r.text }]));
        const result = scanSources([...renderedSources, ...inputs.sources], extra.sources, options);
        // read errors are collected while the scan reads
        const renderErrors = rendered.flatMap((r) => (r.error ? [r.error] : []));
        result.errors.unshift(...renderErrors, ...inputs.errors, ...extra.errors);
        // rendered findings back to the template or patch that produced them, where unambiguous
        for (const [chart, r] of helm) {
          if (r.text !== undefined) placeHelmFindings(result.findings, r.name, r.text, chart, readIfExists);
        }
        for (const [dir, r] of kustomize) {
          if (r.text === undefined) continue;
          const files = readInputs(kustomizationSources(dir), () => '');
          const manifests = files.sources.filter((x) => x.format === 'manifest');
          const sourceScan = scanSources(manifests, [], {
            ...options,
            trustInlineExceptions: true,
            clusterExceptions: [],
          });
          placeKustomizeFindings(result.findings, r.name, sourceScan.findings);
        }
        result.findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
        if (flags.output === 'json') out(renderScanJson(result));
        else if (flags.output === 'sarif') out(renderSarif(result, cliVersion()));
        else out(renderScanText(result));
        // incomplete input wins: a clean result over a partial read must not pass CI
        exitCode = result.errors.length > 0 ? EXIT.usage : hasFailures(result) ? EXIT.findings : EXIT.ok;
      },
    );

  const verify = program
    .command('verify')
    .description('live: prove host-namespace enforcement with dry-run probe pods in each namespace (none is stored)')
    .addOption(outputFlag(['table', 'json'], 'table'))
    .option(
      '-n, --namespace <namespace>',
      'only this namespace (repeatable; default: every namespace)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('-A, --all-namespaces', 'every namespace (the default)')
    .option('--accept-warn', 'warn mode (admitted with a warning) is not a finding, e.g. during a rollout')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--request-timeout <seconds>', 'give up on an API request after this many seconds', '30')
    .option('--chunk-size <n>', 'list in pages of this many objects, as kubectl does', String(DEFAULT_CHUNK_SIZE));
  addPolicyOptions(verify, { verify: true })
    .addHelpText('after', VERIFY_HELP)
    .action(async (flags: VerifyFlags) => {
      flags.namespace ??= [];
      if (flags.namespace.length && flags.allNamespaces) {
        throw new CliError(EXIT.usage, '-n/--namespace and -A/--all-namespaces exclude each other');
      }
      if (flags.namespace.some((n) => n.trim() === '')) {
        throw new CliError(EXIT.usage, '-n/--namespace: empty namespace name');
      }
      checkPolicyFlags(flags);
      const { kc, timeoutSeconds, chunkSize } = connectionFlags(flags, io);
      const settingsReader = new Cluster(kc, timeoutSeconds, chunkSize);
      const source = await closing(settingsReader, () => settingsReader.operatorSettings());
      const { config, notes } = policyFor(flags, source);
      const now = DateTime.utc();
      const verifier = new Verifier(kc, {
        namespaces: flags.namespace,
        exempt: config.exemptNamespaces,
        config,
        now,
        timeoutMs: timeoutSeconds * 1000,
        chunkSize,
      });
      const { accessRefused, ...report } = await closing(verifier, () => verifier.run());
      printNotes(io, notes);
      if (flags.output === 'json') out(renderVerifyJson(report, now, flags.acceptWarn));
      else out(renderVerifyTable(report, wantsColour(io.stdout, io.env)));
      exitCode = verifyExitCode(verifySummary(report, flags.acceptWarn), accessRefused);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return EXIT.ok;
      return EXIT.usage; // commander has printed the message
    }
    if (err instanceof CliError) {
      io.stderr.write(`error: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    io.stderr.write(`error: internal: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

// Run when executed (bin/kubectl-hostns, node src/cli/kubectl-hostns.ts), not when imported by tests.
const invokedDirectly =
  process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]);
if (invokedDirectly) {
  const io = { stdout: process.stdout, stderr: process.stderr, readStdin: () => readChunks(0), env: process.env };
  const code = await run(process.argv.slice(2), io);
  // Exit once the answer is written. Every command closes its connections when done (one still
  // opening after --request-timeout included); this only guards against a timer left behind.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
