// The operator against the in-memory fake API (kube-api.ts): builders for its objects, and a
// helper that waits until the operator has nothing left to do.
import type { DateTime } from 'luxon';
import { vi } from 'vitest';
import { COVERAGE_THROTTLE_MS } from '../../src/controller/wiring.ts';
import { Operator, type OperatorObserver } from '../../src/controller/operator.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { silentLogger } from '../../src/logging.ts';
import { FakeKubeApi } from './kube-api.ts';

export const EXCEPTIONS = 'hostnamespaceexceptions';
export const GRANTS = 'hostnamespacegrantsets';

/** A valid exception (hostNetwork for app=agent), expiring at `expiresAt`. */
export function exceptionObj(namespace: string, name: string, expiresAt: DateTime, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name, namespace },
    spec: {
      owner: 'team-observability',
      allow: ['hostNetwork'],
      podSelector: { matchLabels: { app: 'agent' } },
      riskAcceptance: { justification: 'agent needs the node network to scrape kubelet', acceptedBy: 'security-board' },
      expiresAt: expiresAt.toUTC().toISO({ suppressMilliseconds: true }),
      ...spec,
    },
  };
}

export function podObj(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  flags: { hostNetwork?: boolean; hostPID?: boolean } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { ...flags, containers: [{ name: 'c', image: 'busybox' }] },
  };
}

/** client-go's Lease timings, in a namespace of the fake API: for operators that elect a leader. */
export const FAKE_LEADER_ELECTION = {
  namespace: 'ops',
  name: 'hostns-operator',
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
};

/** What the operator reported through its observer. */
export class Recorder implements OperatorObserver {
  readonly reconciles: { controller: string; error: boolean }[] = [];
  readonly events: { reason: string; outcome: string }[] = [];
  readonly watchRestarts: { resource: string; reason: string }[] = [];
  readonly writeFailures: { write: 'event' | 'podMarks'; reason: string }[] = [];
  /** Watch events by `resource effect`, and reconciles requested by resource. */
  readonly watchEvents = new Map<string, number>();
  readonly requested = new Map<string, number>();
  watchEvent(resource: string, effect: string): void {
    const key = `${resource} ${effect}`;
    this.watchEvents.set(key, (this.watchEvents.get(key) ?? 0) + 1);
  }
  reconcilesRequested(resource: string, count: number): void {
    this.requested.set(resource, (this.requested.get(resource) ?? 0) + count);
  }
  eventWriteFailed(reason: string): void {
    this.writeFailures.push({ write: 'event', reason });
  }
  podMarksWriteFailed(reason: string): void {
    this.writeFailures.push({ write: 'podMarks', reason });
  }
  reconciled(controller: string, _seconds: number, error: boolean): void {
    this.reconciles.push({ controller, error });
  }
  eventRecorded(reason: string, outcome: string): void {
    this.events.push({ reason, outcome });
  }
  watchRestarted(resource: string, reason: string): void {
    this.watchRestarts.push({ resource, reason });
  }
  errors(): number {
    return this.reconciles.filter((r) => r.error).length;
  }
}

export async function startOperator(
  api: FakeKubeApi,
  opts: { maxConcurrentReconciles?: number; observer?: Recorder; clock?: () => DateTime } = {},
) {
  const observer = opts.observer ?? new Recorder();
  const operator = new Operator({
    client: api,
    policy: DEFAULT_POLICY,
    logger: silentLogger(),
    identity: 'test-operator',
    maxConcurrentReconciles: opts.maxConcurrentReconciles ?? 4,
    observer,
    clock: opts.clock,
  });
  await operator.start();
  await settle(operator);
  return { operator, observer };
}

/** Fake timers for setTimeout and Date only: watch events (microtasks) and setImmediate stay real. */
export function useFakeClock(at: DateTime): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: at.toMillis() });
}

/**
 * Lets watch events arrive and the queue drain. Under fake timers, work that only waits out a
 * throttle is released by moving the clock one throttle period ahead.
 */
export async function settle(operator: Operator): Promise<void> {
  const q = operator.manager.queue;
  let quiet = 0;
  let stuck = 0;
  for (let round = 0; round < 100_000; round++) {
    await new Promise((r) => setImmediate(r));
    if (q.length === 0 && q.inFlight === 0) {
      if (++quiet >= 3) return;
      continue;
    }
    quiet = 0;
    stuck = q.inFlight === 0 ? stuck + 1 : 0;
    if (stuck >= 3 && vi.isFakeTimers()) {
      await vi.advanceTimersByTimeAsync(COVERAGE_THROTTLE_MS);
      stuck = 0;
    }
  }
  throw new Error('the operator did not settle');
}

export { FakeKubeApi };
