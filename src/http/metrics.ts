// Prometheus metrics. Gauges about the cluster are computed from the caches at scrape time, so
// they can never drift from what the controller sees.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GrantsWriteFailure } from '../controller/grants-writer.ts';
import type { Operator, OperatorObserver } from '../controller/operator.ts';

export class OperatorMetrics implements OperatorObserver {
  readonly registry = new Registry();
  private operator?: Operator;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly reconcileDuration: Histogram<'controller'>;
  private readonly watchRestarts: Counter<'resource' | 'reason'>;
  private readonly lists: Counter<'resource'>;
  private readonly lastListSeconds: Gauge<'resource'>;
  private readonly watchEvents: Counter<'resource' | 'effect'>;
  private readonly reconcileRequests: Counter<'resource'>;
  private readonly events: Counter<'reason' | 'outcome'>;
  private readonly grantsWriteFailures: Counter<'reason'>;
  private readonly eventWriteFailures: Counter<'reason'>;
  private readonly podMarksWriteFailures: Counter<'reason'>;
  private readonly writeFailures: Counter<'kind' | 'reason'>;
  readonly apiRequests: Counter<'verb' | 'code'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.reconcileErrors = new Counter({
      name: 'hostns_reconcile_errors_total',
      help: 'Reconciles that failed (and were retried).',
      labelNames: ['controller'],
      registers,
    });
    // Zero from the start, so that rate() and the alerts on it see a series before the first error.
    for (const controller of ['exception', 'pod', 'grants'] as const) this.reconcileErrors.inc({ controller }, 0);
    this.reconcileDuration = new Histogram({
      name: 'hostns_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, API calls included.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.watchRestarts = new Counter({
      name: 'hostns_watch_restarts_total',
      help: 'Watches re-established (server close, 410 relist, error).',
      labelNames: ['resource', 'reason'],
      registers,
    });
    // An on-call question after an API server upgrade or outage: how long did the relist take?
    this.lists = new Counter({
      name: 'hostns_cache_lists_total',
      help: 'LISTs that (re)filled a cache: one per cache at start, one after each 410 (watch expired).',
      labelNames: ['resource'],
      registers,
    });
    this.lastListSeconds = new Gauge({
      name: 'hostns_cache_last_list_seconds',
      help: "Duration of a cache's last LIST (start or relist): first page asked -> cache replaced.",
      labelNames: ['resource'],
      registers,
    });
    this.watchEvents = new Counter({
      name: 'hostns_watch_events_total',
      help:
        'Watch events received, by effect: changed (the cache changed, handlers ran), unchanged (no kept fact ' +
        "differs, e.g. a pod's status update: nothing queued) or uncached (an object not worth caching).",
      labelNames: ['resource', 'effect'],
      registers,
    });
    this.reconcileRequests = new Counter({
      name: 'hostns_reconcile_requests_total',
      help: 'Reconciles asked for by changes of a cached resource (before the work queue coalesces them).',
      labelNames: ['resource'],
      registers,
    });
    this.events = new Counter({
      name: 'hostns_events_total',
      help: 'Kubernetes Events raised (outcome exists: an earlier attempt had created it).',
      labelNames: ['reason', 'outcome'],
      registers,
    });
    this.eventWriteFailures = new Counter({
      name: 'hostns_event_write_failures_total',
      help: 'Events the API refused for good (4xx other than 409/429), by reason; the writes after them went on.',
      labelNames: ['reason'],
      registers,
    });
    this.podMarksWriteFailures = new Counter({
      name: 'hostns_pod_marks_write_failures_total',
      help: "Writes of the operator's pod labels/annotations refused for good, by reason (labels then written alone).",
      labelNames: ['reason'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'hostns_api_requests_total',
      help: 'Requests sent to the Kubernetes API.',
      labelNames: ['verb', 'code'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'hostns_exceptions',
      help: 'HostNamespaceExceptions by phase.',
      labelNames: ['phase'],
      registers,
      collect() {
        if (!self.operator) return;
        for (const [phase, n] of Object.entries(self.operator.snapshot().exceptionsByPhase)) this.set({ phase }, n);
      },
    });
    new Gauge({
      name: 'hostns_pods',
      help: 'Pods using a host namespace, by class (offender, covered, exempt).',
      labelNames: ['class'],
      registers,
      collect() {
        if (!self.operator) return;
        for (const [cls, n] of Object.entries(self.operator.snapshot().podsByClass)) this.set({ class: cls }, n);
      },
    });
    new Gauge({
      name: 'hostns_exception_expiry_seconds',
      help: 'Seconds until each exception expires (negative once lapsed).',
      labelNames: ['namespace', 'exception'],
      registers,
      collect() {
        if (!self.operator) return;
        this.reset();
        for (const e of self.operator.snapshot().expiries)
          this.set({ namespace: e.namespace, exception: e.name }, Math.round(e.seconds));
      },
    });
    new Gauge({
      name: 'hostns_offender_pods',
      help: 'Offender pods (a host namespace, no covering exception) by namespace; namespaces without any are absent.',
      labelNames: ['namespace'],
      registers,
      collect() {
        if (!self.operator) return;
        this.reset();
        for (const [namespace, n] of self.operator.snapshot().offendersByNamespace) this.set({ namespace }, n);
      },
    });
    // The expiry as a timestamp, as kube-state-metrics exports times: stable between scrapes, so
    // dashboards can draw a timeline and alerts compute `- time()` themselves.
    new Gauge({
      name: 'hostns_exception_expiry_timestamp_seconds',
      help: 'When each exception expires, in Unix seconds.',
      labelNames: ['namespace', 'exception'],
      registers,
      collect() {
        if (!self.operator) return;
        this.reset();
        for (const e of self.operator.snapshot().expiries) {
          this.set({ namespace: e.namespace, exception: e.name }, Math.round(e.expiresAt));
        }
      },
    });
    new Gauge({
      name: 'hostns_cached_pods',
      help: 'Pods held in the lean cache (those using a host namespace or carrying our marks).',
      registers,
      collect() {
        this.set(self.operator?.caches.pods.size ?? 0);
      },
    });
    new Gauge({
      name: 'hostns_workqueue_depth',
      help: 'Reconciles queued or running (0 when converged).',
      registers,
      collect() {
        this.set(self.operator ? self.operator.manager.queue.length + self.operator.manager.queue.inFlight : 0);
      },
    });
    new Gauge({
      name: 'hostns_workqueue_retrying',
      help: 'Keys whose last reconcile failed and that wait for their retry (not in hostns_workqueue_depth).',
      registers,
      collect() {
        this.set(self.operator?.manager.queue.retrying ?? 0);
      },
    });
    new Gauge({
      name: 'hostns_workqueue_oldest_retry_age_seconds',
      help: 'Seconds since the longest-failing key first failed (0 when none is failing).',
      registers,
      collect() {
        this.set((self.operator?.manager.queue.oldestRetryAgeMs() ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'hostns_watch_connected',
      help: 'Whether the watch of a resource is open (1) or down (0: reconnecting, relisting).',
      labelNames: ['resource'],
      registers,
      collect() {
        for (const w of self.operator?.manager.watchStates() ?? [])
          this.set({ resource: w.resource }, w.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hostns_watch_last_sync_age_seconds',
      help: 'Seconds since a resource last heard from the API: a complete list, a watch opening, an event or a bookmark.',
      labelNames: ['resource'],
      registers,
      collect() {
        for (const w of self.operator?.manager.watchStates() ?? []) {
          // Never synced: report the process uptime rather than +Inf, which breaks arithmetic in alerts.
          const age = Number.isFinite(w.lastSyncAgeMs) ? w.lastSyncAgeMs / 1000 : process.uptime();
          this.set({ resource: w.resource }, age);
        }
      },
    });
    this.writeFailures = new Counter({
      name: 'hostns_write_failures_total',
      help: 'Writes the API refused or that failed (kind: event, podMarks, exceptionStatus, grants, grantIndex), by reason.',
      labelNames: ['kind', 'reason'],
      registers,
    });
    new Gauge({
      name: 'hostns_exceptions_not_enforced',
      help:
        'Granting exceptions the admission policy does not honour (condition Enforced=False: over the namespace ' +
        'budget, grants write failing or pending): their pods are refused at admission.',
      registers,
      collect() {
        if (!self.operator) return;
        this.set(self.operator.snapshot().notEnforced);
      },
    });
    this.grantsWriteFailures = new Counter({
      name: 'hostns_grants_write_failures_total',
      help: "Failed writes of a namespace's grants object (the admission policy's param), by reason.",
      labelNames: ['reason'],
      registers,
    });
    // Zero from the start for every reason: increase() misses the first failure of a series that
    // appears at 1, and the dashboard and HostnsGrantsWriteFailing read the series before any failure.
    const reasons: Record<GrantsWriteFailure, 0> = {
      TooLarge: 0,
      Invalid: 0,
      Conflict: 0,
      Forbidden: 0,
      Unavailable: 0,
      Other: 0,
    };
    for (const reason of Object.keys(reasons)) this.grantsWriteFailures.inc({ reason }, 0);
    new Gauge({
      name: 'hostns_grants_last_success_timestamp_seconds',
      help: "When a namespace's grants object was last written or found current (0: not yet).",
      registers,
      collect() {
        this.set(self.operator?.lastGrantsSuccess ?? 0);
      },
    });
    new Gauge({
      name: 'hostns_leader',
      help: '1 when this replica is the leader (writes), 0 on a standby.',
      registers,
      collect() {
        this.set(self.operator?.isLeader ? 1 : 0);
      },
    });
  }

  attach(operator: Operator): void {
    this.operator = operator;
  }

  reconciled(controller: string, seconds: number, error: boolean): void {
    this.reconcileDuration.observe({ controller }, seconds);
    if (error) this.reconcileErrors.inc({ controller });
  }

  watchRestarted(resource: string, reason: string): void {
    this.watchRestarts.inc({ resource, reason });
  }

  listed(resource: string, seconds: number): void {
    this.lists.inc({ resource });
    this.lastListSeconds.set({ resource }, seconds);
  }

  watchEvent(resource: string, effect: string): void {
    this.watchEvents.inc({ resource, effect });
  }

  reconcilesRequested(resource: string, count: number): void {
    this.reconcileRequests.inc({ resource }, count);
  }

  eventRecorded(reason: string, outcome: string): void {
    this.events.inc({ reason, outcome });
  }

  eventWriteFailed(reason: string): void {
    this.eventWriteFailures.inc({ reason });
  }

  podMarksWriteFailed(reason: string): void {
    this.podMarksWriteFailures.inc({ reason });
  }

  writeFailed(kind: string, reason: string): void {
    this.writeFailures.inc({ kind, reason });
  }

  grantsWritten(failure: string | undefined): void {
    if (failure) this.grantsWriteFailures.inc({ reason: failure });
  }
}
