// kubectl-hostns: the monthly review, a live audit, a static check for CI and a live enforcement
// check (see docs/cli.md).
// Imperative shell: flags, kubeconfig, files and stdout here; every decision in src/policy and
// src/report, so the CLI, the controller and the admission policy never disagree.
import { DATE_TIME_MESSAGE, SINGLE_LINE_MESSAGE, isApiDateTime, textProblem } from '../api/validation.ts';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { DateTime, type Duration } from 'luxon';
import { DEFAULT_POLICY_SETTINGS, parseDuration, policyFrom, type PolicyConfig } from '../policy/config.ts';
import { rfc3339 } from '../policy/grants.ts';
import { auditSummary, buildAudit, renderAuditJson, renderAuditMarkdown, renderAuditTable } from '../report/audit.ts';
import { wantsColour } from '../report/format.ts';
import { buildReview, renderReviewJson, renderReviewMarkdown, renderReviewTable } from '../report/review.ts';
import { hasUncovered, scanSources } from '../report/scan.ts';
import { renderSarif, renderScanJson, renderScanText } from '../report/scan-output.ts';
import { renderVerifyJson, renderVerifyTable, verifySummary } from '../report/verify.ts';
import { CliError, EXIT } from './errors.ts';
import { readInputs } from './inputs.ts';
import { Cluster, DEFAULT_CHUNK_SIZE, loadKubeConfig } from './cluster.ts';
import { Verifier, verifyExitCode } from './verify.ts';

export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  readStdin: () => string;
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

interface PolicyFlags {
  exemptNamespaces: string;
  expiringSoon: string;
  maxLifetime: string;
  reviewInterval: string;
  now?: string;
}

interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  requestTimeout: string;
  chunkSize: string;
  namespace?: string;
  allNamespaces?: boolean;
}

/** The policy core's one settings reader; its errors are usage errors here. */
function policyFromFlags(flags: PolicyFlags): PolicyConfig {
  try {
    return policyFrom(flags);
  } catch (err) {
    throw new CliError(EXIT.usage, (err as Error).message);
  }
}

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

type VerifyFlags = Omit<ClusterFlags, 'namespace'> &
  Omit<PolicyFlags, 'now'> & { namespace?: string[]; output: string; acceptWarn?: boolean };

function connectionFlags(
  flags: Omit<ClusterFlags, 'namespace'>,
  io: Io,
): { kc: KubeConfig; timeoutSeconds: number; chunkSize: number } {
  const seconds = Number(flags.requestTimeout.replace(/s$/, ''));
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(EXIT.usage, `--request-timeout: ${JSON.stringify(flags.requestTimeout)} is not a positive number of seconds`);
  const chunk = Number(flags.chunkSize);
  if (!Number.isInteger(chunk) || chunk <= 0) throw new CliError(EXIT.usage, `--chunk-size: ${JSON.stringify(flags.chunkSize)} is not a positive integer`);
  const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context }, io.env);
  return { kc, timeoutSeconds: seconds, chunkSize: chunk };
}

function connect(flags: ClusterFlags, io: Io): Cluster {
  const { kc, timeoutSeconds, chunkSize } = connectionFlags(flags, io);
  return new Cluster(kc, timeoutSeconds, chunkSize);
}

/** Review and audit read every namespace unless -n names one. */
function scope(flags: ClusterFlags): string | undefined {
  if (flags.namespace !== undefined && flags.allNamespaces) throw new CliError(EXIT.usage, '-n/--namespace and -A/--all-namespaces exclude each other');
  if (flags.namespace === '') throw new CliError(EXIT.usage, '-n/--namespace: empty namespace name');
  return flags.namespace;
}

function outputFlag(formats: string[], fallback: string): Option {
  return new Option('-o, --output <format>', 'output format').choices(formats).default(fallback);
}

function addPolicyOptions(cmd: Command): Command {
  return cmd
    .option('--exempt-namespaces <list>', 'namespaces whose pods are never offenders (comma-separated, "" for none)', DEFAULT_POLICY_SETTINGS.exemptNamespaces)
    .option('--expiring-soon <duration>', 'ExpiringSoon window, as the operator uses it', DEFAULT_POLICY_SETTINGS.expiringSoon)
    .option('--max-lifetime <duration>', 'longest lifetime an exception may have', DEFAULT_POLICY_SETTINGS.maxLifetime)
    .option('--review-interval <duration>', 'a review is due this long after the last one', DEFAULT_POLICY_SETTINGS.reviewInterval)
    .option('--now <time>', 'evaluate at this RFC 3339 time instead of now (what-if, tests)');
}

function addClusterOptions(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'only this namespace (default: all namespaces)')
    .option('-A, --all-namespaces', 'all namespaces (the default)')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context to use')
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
Checks Pods and the pod templates of Deployments, ReplicaSets, ReplicationControllers, StatefulSets,
DaemonSets, Jobs, CronJobs and PodTemplates, also inside kind: List. HostNamespaceException
documents in the input (or in --exceptions) that select the template's labels in the same namespace
and have not expired are the allowed path. Objects without metadata.namespace are in --namespace.

Exit status: 0 nothing uncovered, 1 uncovered host-namespace use, 2 input incomplete (a YAML syntax
error, an unreadable path; the scan still reports what it could read).

Examples:
  kubectl hostns scan deploy/
  kustomize build overlays/prod | kubectl hostns scan -
  helm template my-release ./chart | kubectl hostns scan - --exceptions exceptions/
  kubectl hostns scan k8s/ -o sarif > hostns.sarif     # upload to code scanning
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
        .option('--fail-on-findings', 'exit 1 when any exception has a finding')
        .option('--mark-reviewed <name>', 'record a review on this exception (needs -n and --by) instead of reporting')
        .option('--by <who>', 'who reviewed it (with --mark-reviewed)'),
    ),
  )
    .addHelpText('after', REVIEW_HELP)
    .action(async (flags: ClusterFlags & PolicyFlags & { output: string; within: string; failOnFindings?: boolean; markReviewed?: string; by?: string }) => {
      if (flags.markReviewed !== undefined && flags.now !== undefined) {
        throw new CliError(EXIT.usage, '--now cannot be used with --mark-reviewed: a review is recorded at the time it happens');
      }
      const now = nowFrom(flags);
      if (flags.markReviewed !== undefined) {
        if (!flags.namespace) throw new CliError(EXIT.usage, '--mark-reviewed needs -n/--namespace (the namespace of the exception)');
        if (!flags.by || !flags.by.trim()) throw new CliError(EXIT.usage, '--mark-reviewed needs --by <who> (the reviewer)');
        if (textProblem(flags.by.trim())) {
          throw new CliError(EXIT.usage, `--by: ${JSON.stringify(flags.by)} ${SINGLE_LINE_MESSAGE}`);
        }
        if (!flags.markReviewed.trim()) throw new CliError(EXIT.usage, '--mark-reviewed: empty exception name');
        const cluster = connect(flags, io);
        const at = rfc3339(now.startOf('second')); // second precision, as kubectl and the API server write times
        await cluster.markReviewed(flags.namespace, flags.markReviewed, { lastReviewedAt: at, reviewedBy: flags.by.trim() });
        out(`hostnamespaceexception.hostns.io/${flags.markReviewed} reviewed by ${flags.by.trim()} at ${at}\n`);
        return;
      }
      if (flags.by !== undefined) throw new CliError(EXIT.usage, '--by is only used with --mark-reviewed');
      const config = policyFromFlags(flags);
      const within = durationFlag(flags.within, '--within');
      const ns = scope(flags);
      const cluster = connect(flags, io);
      const exceptions = await cluster.listExceptions(ns);
      const pods = exceptions.length ? await cluster.listPods(ns) : [];
      const rows = buildReview(exceptions, pods, { now, config, within });
      if (flags.output === 'json') out(renderReviewJson(rows, now));
      else if (flags.output === 'markdown') out(renderReviewMarkdown(rows, now));
      else out(renderReviewTable(rows, wantsColour(io.stdout, io.env)));
      if (flags.failOnFindings && rows.some((r) => r.findings.length > 0)) exitCode = EXIT.findings;
    });

  addPolicyOptions(
    addClusterOptions(
      program
        .command('audit')
        .description('live: every pod using a host namespace, covered (by which exception), offender or exempt')
        .addOption(outputFlag(['table', 'markdown', 'json'], 'table'))
        .option('--fail-on-findings', 'exit 1 when any pod is an offender'),
    ),
  )
    .addHelpText('after', AUDIT_HELP)
    .action(async (flags: ClusterFlags & PolicyFlags & { output: string; failOnFindings?: boolean }) => {
      const now = nowFrom(flags);
      const config = policyFromFlags(flags);
      const ns = scope(flags);
      const cluster = connect(flags, io);
      const exceptions = await cluster.listExceptions(ns);
      const pods = await cluster.listPods(ns);
      const rows = buildAudit(pods, exceptions, { now, config });
      if (flags.output === 'json') out(renderAuditJson(rows, now));
      else if (flags.output === 'markdown') out(renderAuditMarkdown(rows, now));
      else out(renderAuditTable(rows, wantsColour(io.stdout, io.env)));
      if (flags.failOnFindings && auditSummary(rows).offenders > 0) exitCode = EXIT.findings;
    });

  addPolicyOptions(
    program
      .command('scan')
      .description('static check for CI: host-namespace use in manifests without a HostNamespaceException')
      .argument('<paths...>', 'files, folders (recursive *.yaml, *.yml, *.json) or - for stdin')
      .addOption(outputFlag(['text', 'json', 'sarif'], 'text'))
      .option('--exceptions <path>', 'also read HostNamespaceExceptions from this file or folder (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('-n, --namespace <namespace>', 'namespace of objects that name none', 'default'),
  )
    .addHelpText('after', SCAN_HELP)
    .action((paths: string[], flags: PolicyFlags & { output: string; exceptions: string[]; namespace: string }) => {
      const now = nowFrom(flags);
      const config = policyFromFlags(flags);
      if (!flags.namespace) throw new CliError(EXIT.usage, '-n/--namespace: empty namespace name');
      const inputs = readInputs(paths, io.readStdin);
      const extra = readInputs(flags.exceptions, io.readStdin);
      const result = scanSources(inputs.sources, extra.sources, { now, config, defaultNamespace: flags.namespace });
      result.errors.unshift(...inputs.errors, ...extra.errors);
      if (flags.output === 'json') out(renderScanJson(result));
      else if (flags.output === 'sarif') out(renderSarif(result, cliVersion()));
      else out(renderScanText(result));
      // incomplete input wins: a clean result over a partial read must not pass CI
      exitCode = result.errors.length > 0 ? EXIT.usage : hasUncovered(result) ? EXIT.findings : EXIT.ok;
    });

  program
    .command('verify')
    .description('live: prove host-namespace enforcement with dry-run probe pods in each namespace (none is stored)')
    .addOption(outputFlag(['table', 'json'], 'table'))
    .option(
      '-n, --namespace <namespace>',
      'only this namespace (repeatable; default: every namespace)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('-A, --all-namespaces', 'every namespace (the default)')
    .option(
      '--exempt-namespaces <list>',
      'namespaces you exempt on purpose: probed, never a finding (comma-separated, "" for none)',
      DEFAULT_POLICY_SETTINGS.exemptNamespaces,
    )
    .option('--accept-warn', 'warn mode (admitted with a warning) is not a finding, e.g. during a rollout')
    .option('--expiring-soon <duration>', 'ExpiringSoon window, as the operator uses it', DEFAULT_POLICY_SETTINGS.expiringSoon)
    .option('--max-lifetime <duration>', 'longest lifetime an exception may have', DEFAULT_POLICY_SETTINGS.maxLifetime)
    .option('--review-interval <duration>', 'a review is due this long after the last one', DEFAULT_POLICY_SETTINGS.reviewInterval)
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--request-timeout <seconds>', 'give up on an API request after this many seconds', '30')
    .option('--chunk-size <n>', 'list in pages of this many objects, as kubectl does', String(DEFAULT_CHUNK_SIZE))
    .addHelpText('after', VERIFY_HELP)
    .action(async (flags: VerifyFlags) => {
      flags.namespace ??= [];
      if (flags.namespace.length && flags.allNamespaces) {
        throw new CliError(EXIT.usage, '-n/--namespace and -A/--all-namespaces exclude each other');
      }
      if (flags.namespace.some((n) => n.trim() === '')) {
        throw new CliError(EXIT.usage, '-n/--namespace: empty namespace name');
      }
      const config = policyFrom(flags);
      const { kc, timeoutSeconds, chunkSize } = connectionFlags(flags, io);
      const now = DateTime.utc();
      const verifier = new Verifier(kc, {
        namespaces: flags.namespace,
        exempt: config.exemptNamespaces,
        config,
        now,
        timeoutMs: timeoutSeconds * 1000,
        chunkSize,
      });
      const { accessRefused, ...report } = await verifier.run();
      if (flags.output === 'json') out(renderVerifyJson(report, now, flags.acceptWarn));
      else out(renderVerifyTable(report, wantsColour(io.stdout, io.env)));
      exitCode = verifyExitCode(verifySummary(report, flags.acceptWarn), accessRefused);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage; // commander has printed the message
    }
    if (err instanceof CliError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`error: internal: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}

function readStdinSync(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN' || (err as NodeJS.ErrnoException).code === 'EOF') return '';
    throw err;
  }
}

// Run when executed (bin/kubectl-hostns, node src/cli/kubectl-hostns.ts), not when imported by tests.
const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]);
if (invokedDirectly) {
  const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, readStdin: readStdinSync, env: process.env });
  process.exitCode = code;
}
