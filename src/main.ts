// The operator process: flags (each also settable by an environment variable), then run until
// SIGTERM/SIGINT, then shut down gracefully (finish in-flight work, release the Lease).
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { createLogger } from './logging.ts';
import { Operator } from './controller/operator.ts';
import { KubeClient } from './kube/client.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { OperatorMetrics } from './http/metrics.ts';
import { startHttpServer } from './http/server.ts';
import { EXCEPTION_NAMESPACE_LABEL, parseExceptionNamespaces, type ExceptionNamespaces } from './policy/namespaces.ts';
import { DEFAULT_POLICY_SETTINGS, parseDuration, policyFrom, type PolicyConfig } from './policy/config.ts';

export interface MainOptions {
  kubeconfig?: string;
  context?: string;
  httpPort: string;
  leaderElect: boolean;
  leaseNamespace?: string;
  leaseName: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  identity: string;
  exemptNamespaces: string;
  expiringSoon: string;
  maxLifetime: string;
  reviewInterval: string;
  maxConcurrentReconciles: string;
  listPageSize: string;
  readyMaxDisconnected: string;
  /** The older name of --max-concurrent-reconciles. */
  patchConcurrency?: string;
  logLevel: string;
  policyReports: boolean;
  exceptionNamespaceLabel: string;
}

export function buildCommand(): Command {
  const d = DEFAULT_POLICY_SETTINGS;
  return (
    new Command('hostns-operator')
      .description(
        'Denies host namespaces by default; reconciles HostNamespaceExceptions, labels offenders, raises lapse Events.',
      )
      // Not .env('KUBECONFIG'): that is a list of files, merged by src/kube/kubeconfig.ts as kubectl does.
      .addOption(
        new Option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)'),
      )
      .addOption(new Option('--context <name>', 'kubeconfig context').env('HOSTNS_CONTEXT'))
      .addOption(
        new Option('--http-port <port>', 'port for /metrics, /healthz, /readyz (0: none)')
          .env('HOSTNS_HTTP_PORT')
          .default('8080'),
      )
      .addOption(
        new Option('--leader-elect', 'elect one active replica through a Lease')
          .env('HOSTNS_LEADER_ELECT')
          .default(false),
      )
      .addOption(
        new Option('--lease-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE)').env('POD_NAMESPACE'),
      )
      .addOption(
        new Option('--lease-name <name>', 'name of the Lease').env('HOSTNS_LEASE_NAME').default('hostns-operator'),
      )
      .addOption(
        new Option('--lease-duration <duration>', 'how long a standby waits after the last renewal it saw')
          .env('HOSTNS_LEASE_DURATION')
          .default('15s'),
      )
      .addOption(
        new Option('--renew-deadline <duration>', 'the leader steps down when it could not renew for this long')
          .env('HOSTNS_RENEW_DEADLINE')
          .default('10s'),
      )
      .addOption(
        new Option('--retry-period <duration>', 'interval between acquire/renew attempts')
          .env('HOSTNS_RETRY_PERIOD')
          .default('2s'),
      )
      .addOption(
        new Option('--identity <id>', 'this replica in Events and the Lease (default: POD_NAME, else hostname_pid)')
          .env('POD_NAME')
          .default(`${hostname()}_${process.pid}`),
      )
      .addOption(
        new Option('--exempt-namespaces <list>', 'comma-separated namespaces never classified as offenders')
          .env('HOSTNS_EXEMPT_NAMESPACES')
          .default(d.exemptNamespaces),
      )
      .addOption(
        new Option('--expiring-soon <duration>', 'ExpiringSoon window before expiry')
          .env('HOSTNS_EXPIRING_SOON')
          .default(d.expiringSoon),
      )
      .addOption(
        new Option('--max-lifetime <duration>', 'longest exception lifetime from risk acceptance (or creation)')
          .env('HOSTNS_MAX_LIFETIME')
          .default(d.maxLifetime),
      )
      .addOption(
        new Option('--review-interval <duration>', 'a review is overdue this long after the last one (or creation)')
          .env('HOSTNS_REVIEW_INTERVAL')
          .default(d.reviewInterval),
      )
      .addOption(
        new Option('--max-concurrent-reconciles <n>', 'reconciles (and so API writes) in flight at once')
          .env('HOSTNS_MAX_CONCURRENT_RECONCILES')
          .default('16'),
      )
      .addOption(
        new Option('--list-page-size <n>', 'objects per LIST page (smaller pages: a lower memory peak, more requests)')
          .env('HOSTNS_LIST_PAGE_SIZE')
          .default('500'),
      )
      .addOption(
        new Option(
          '--ready-max-disconnected <duration>',
          '/readyz fails once a watch has been down (or a relist unfinished) this long',
        )
          .env('HOSTNS_READY_MAX_DISCONNECTED')
          .default('60s'),
      )
      .addOption(
        new Option('--patch-concurrency <n>', 'older name of --max-concurrent-reconciles').env(
          'HOSTNS_PATCH_CONCURRENCY',
        ),
      )
      .addOption(
        new Option('--policy-reports', 'publish an OpenReports Report per namespace (when its CRD is installed)')
          .env('HOSTNS_POLICY_REPORTS')
          .default(false),
      )
      .addOption(
        new Option(
          '--exception-namespace-label <key=value>',
          `exceptions count only in namespaces with this label (e.g. ${EXCEPTION_NAMESPACE_LABEL}); empty: anywhere`,
        )
          .env('HOSTNS_EXCEPTION_NAMESPACE_LABEL')
          .default(''),
      )
      .addOption(
        new Option('--log-level <level>', 'error, warn, info or debug')
          .env('HOSTNS_LOG_LEVEL')
          .default('info')
          .choices(['error', 'warn', 'info', 'debug']),
      )
  );
}

function positiveInt(text: string, flag: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(`${flag}: ${JSON.stringify(text)} is not a ${allowZero ? 'non-negative' : 'positive'} integer`);
  return n;
}

/**
 * Reconcile workers: --max-concurrent-reconciles (controller-runtime's name), or its older name
 * --patch-concurrency when only that one is set. Throws naming the flag the value came from.
 */
export function maxConcurrentReconciles(
  opts: Pick<MainOptions, 'maxConcurrentReconciles' | 'patchConcurrency'>,
  newNameIsDefault: boolean,
): number {
  if (opts.patchConcurrency !== undefined && newNameIsDefault)
    return positiveInt(opts.patchConcurrency, '--patch-concurrency');
  return positiveInt(opts.maxConcurrentReconciles, '--max-concurrent-reconciles');
}

export async function main(argv = process.argv): Promise<void> {
  const command = buildCommand().parse(argv);
  const opts = command.opts<MainOptions>();
  const logger = createLogger(opts.logLevel);
  let policy: PolicyConfig;
  let port: number;
  let concurrency: number;
  let pageSize: number;
  let readyMaxDisconnectedMs: number;
  let client: KubeClient;
  let exceptionNamespaces: ExceptionNamespaces | undefined;
  try {
    policy = policyFrom(opts);
    exceptionNamespaces = parseExceptionNamespaces(opts.exceptionNamespaceLabel, '--exception-namespace-label');
    port = positiveInt(opts.httpPort, '--http-port', true);
    pageSize = positiveInt(opts.listPageSize, '--list-page-size');
    readyMaxDisconnectedMs = parseDuration(opts.readyMaxDisconnected, '--ready-max-disconnected').toMillis();
    concurrency = maxConcurrentReconciles(opts, command.getOptionValueSource('maxConcurrentReconciles') === 'default');
    if (opts.leaderElect && !opts.leaseNamespace)
      throw new Error('--leader-elect needs --lease-namespace (or POD_NAMESPACE)');
    client = new KubeClient(loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context }));
  } catch (err) {
    process.stderr.write(`hostns-operator: ${(err as Error).message}\n`);
    process.exit(2);
  }

  // On only when asked and the CRD is served: without it the operator runs as without the flag.
  let policyReports = false;
  if (opts.policyReports) {
    try {
      policyReports = await Operator.policyReportsServed(client);
    } catch (err) {
      const why = (err as Error).message;
      process.stderr.write(`hostns-operator: cannot reach the Kubernetes API at ${client.server}: ${why}\n`);
      process.exit(1);
    }
    if (!policyReports) {
      logger.warn(
        '--policy-reports: the reports.openreports.io CRD is not installed; no Report is published ' +
          '(kubectl apply -k config/openreports, then restart the operator)',
      );
    }
  }

  const metrics = new OperatorMetrics();
  client.onRequest((verb, path, code) => {
    metrics.apiRequests.inc({ verb, code: String(code) });
    // Which object a write touched: what a test (or an operator) needs to explain a write. Only
    // at debug level: winston formats (timestamp, JSON) every entry before its level is checked.
    if (verb !== 'GET' && verb !== 'WATCH' && logger.isDebugEnabled()) logger.debug('api write', { verb, path, code });
  });
  const operator = new Operator({
    client,
    policy,
    logger,
    identity: opts.identity,
    // Decide on the API server's clock, whatever this machine's says (admission uses the server's),
    // at the earliest it can be: a lapse is never decided before admission sees it.
    clock: () => client.serverNotBefore(),
    maxConcurrentReconciles: concurrency,
    pageSize,
    observer: metrics,
    policyReports,
    exceptionNamespaces,
    leaderElection: opts.leaderElect
      ? {
          namespace: opts.leaseNamespace!,
          name: opts.leaseName,
          leaseDurationSeconds: parseDuration(opts.leaseDuration, '--lease-duration').as('seconds'),
          renewDeadlineSeconds: parseDuration(opts.renewDeadline, '--renew-deadline').as('seconds'),
          retryPeriodSeconds: parseDuration(opts.retryPeriod, '--retry-period').as('seconds'),
        }
      : undefined,
  });
  metrics.attach(operator);
  // The server clock estimate is kept fresh (a suspend stops the monotonic clock), and narrowed
  // before the first decision (about 1 s at start-up).
  const stopClockRefresh = client.keepClockFresh();
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { error: String(err) }));

  const server = port ? await startHttpServer(port, operator, metrics, { readyMaxDisconnectedMs }) : undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    stopClockRefresh();
    await operator.stop();
    server?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  logger.info('starting', {
    server: client.server,
    identity: opts.identity,
    leaderElect: opts.leaderElect,
    exemptNamespaces: [...policy.exemptNamespaces],
    expiringSoon: opts.expiringSoon,
    maxLifetime: opts.maxLifetime,
    reviewInterval: opts.reviewInterval,
    policyReports,
  });
  try {
    // The clock is narrowed while the caches list (it only has to be before the first decision).
    await operator.start(client.calibrateClock());
  } catch (err) {
    logger.error((err as Error).message);
    process.stderr.write(`hostns-operator: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

// Run when executed directly (node src/main.ts / node dist/main.js), not when imported by tests.
if (
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith('/main.ts') ||
  process.argv[1]?.endsWith('/main.js')
) {
  await main();
}
