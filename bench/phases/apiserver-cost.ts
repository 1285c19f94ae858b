// Phase `apiserver-cost`: kube-apiserver CPU seconds (/proc) that the operator causes per 1,000 pod
// events in steady state, against a plain watch of the same events (bench/floor-watch.ts). Each
// window sends the same pod updates at a fixed rate (a metadata merge PATCH of one annotation on
// fixture pods, 1 in 20 of them host pods, standing for the status updates kubelets send): one window
// with nobody else watching (the baseline: what the updates themselves cost), one with the floor's
// watch, one with the operator; the operator is stopped outside its window. Cost of a watcher =
// its window's API server CPU per event minus the baseline's: serving the updates themselves costs
// per update, and the windows do not get the same number through on a loaded machine.
import { OPERATOR_USER } from '../audit.ts';
import { countByVerbResource } from '../audit.ts';
import { fixturePod } from '../fixture.ts';
import { withRetry } from '../minimal-client.ts';
import { load1 } from '../provenance.ts';
import { cpuSeconds, CpuMeter } from '../procstat.ts';
import type { OperatorProcess } from '../../tools/operator-process.ts';
import { type BenchContext, paced, sleep, startOperator, waitOperatorQuiet } from './common.ts';
import { startFloorWatch } from './nodes.ts';

export interface CostWindow {
  load: number;
  seconds: number;
  /** Pod updates the API server accepted (each one MODIFIED event for every pod watcher). */
  events: number;
  failed: number;
  apiserverCpu: number;
  etcdCpu?: number;
  /** CPU seconds of the watcher itself (floor: its own count; operator: /proc). */
  watcherCpu?: number;
  /** Events the floor's watch received. */
  watchedEvents?: number;
  /** The operator's requests in its window (audit log). */
  operatorRequests?: Record<string, number>;
}

export interface CostTrial {
  trial: number;
  order: 'floor first' | 'operator first';
  baseline: CostWindow;
  floor: CostWindow;
  operator: CostWindow;
}

export interface ApiserverCostResult {
  rate: number;
  seconds: number;
  podsUpdated: number;
  trials: CostTrial[];
}

/** API server CPU seconds per 1,000 pod events that a watcher in `w` cost beyond `base`'s CPU per event. */
export function costPer1000(w: CostWindow, base: CostWindow): number {
  if (!(w.events > 0) || !(base.events > 0)) return Number.NaN;
  return (w.apiserverCpu / w.events - base.apiserverCpu / base.events) * 1000;
}

/** Updates `pods` fixture pods round-robin at `rate`/s for `seconds`, metering the control plane. */
async function updateWindow(ctx: BenchContext, tag: string, pods: number, rate: number, seconds: number) {
  const { api } = ctx;
  const count = Math.round(rate * seconds);
  const load = load1();
  const meter = new CpuMeter({ apiserver: ctx.controlPlane.apiserver, etcd: ctx.controlPlane.etcd });
  const started = Date.now();
  let events = 0;
  let failed = 0;
  const sent = await paced(rate, count, 64, async (i) => {
    const p = fixturePod(i % pods);
    const body = JSON.stringify({ metadata: { annotations: { 'bench.hostns.io/tick': `${tag}-${i}` } } });
    await withRetry(() =>
      api.json('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${p.name}`, body, 'application/merge-patch+json'),
    )
      .then(() => void events++)
      .catch(() => void failed++);
  });
  failed += sent.skipped;
  // Delivery to the watchers trails the last update by moments.
  await sleep(1000);
  const cpu = meter.read();
  const window: CostWindow = {
    load,
    seconds: (Date.now() - started) / 1000,
    events,
    failed,
    apiserverCpu: cpu.apiserver ?? Number.NaN,
    etcdCpu: cpu.etcd,
  };
  return window;
}

/**
 * `live.op` is the running operator; it is stopped for the baseline and floor windows and started
 * again for its own, so it may be a new process afterwards (also when a trial failed).
 */
export async function runApiserverCost(
  ctx: BenchContext,
  live: { op: OperatorProcess },
  fixturePods: number,
  rate: number,
  seconds: number,
  trialCount: number,
): Promise<ApiserverCostResult> {
  const pods = Math.min(fixturePods, Math.round(rate * seconds));
  const result: ApiserverCostResult = { rate, seconds, podsUpdated: pods, trials: [] };
  let running = true;
  const stopOperator = async () => {
    if (running) await live.op.stop();
    running = false;
  };
  const ensureOperator = async () => {
    if (running) return;
    live.op = await startOperator(ctx);
    await live.op.waitReady(300_000);
    running = true;
  };
  try {
    for (let t = 0; t < trialCount; t++) {
      const order: CostTrial['order'] = t % 2 === 0 ? 'floor first' : 'operator first';
      const w: Partial<Record<'baseline' | 'floor' | 'operator', CostWindow>> = {};
      const steps = order === 'floor first' ? ['baseline', 'floor', 'operator'] : ['operator', 'floor', 'baseline'];
      for (const step of steps) {
        const tag = `${t}${step[0]}`;
        if (step === 'operator') {
          await ensureOperator();
          // Its start-up LIST and any catch-up writes (statuses of exceptions that lapsed meanwhile)
          // must not fall into the window: steady state is an operator with nothing left to write.
          ctx.audit.skipToEnd();
          await waitOperatorQuiet(ctx, 5000, 120_000);
          const cpuBefore = cpuSeconds(live.op.child.pid);
          ctx.audit.skipToEnd();
          const win = await updateWindow(ctx, tag, pods, rate, seconds);
          const cpuAfter = cpuSeconds(live.op.child.pid);
          await sleep(1500); // the audit log is written in batches
          win.operatorRequests = countByVerbResource(ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER));
          if (cpuBefore !== undefined && cpuAfter !== undefined) win.watcherCpu = cpuAfter - cpuBefore;
          w.operator = win;
        } else {
          await stopOperator();
          await sleep(2000);
          if (step === 'baseline') w.baseline = await updateWindow(ctx, tag, pods, rate, seconds);
          else {
            const floor = await startFloorWatch(ctx.floorKubeconfig);
            const win = await updateWindow(ctx, tag, pods, rate, seconds);
            const counts = await floor.stop();
            win.watcherCpu = counts.cpuSeconds;
            win.watchedEvents = counts.events.MODIFIED ?? 0;
            w.floor = win;
          }
        }
      }
      const trial: CostTrial = {
        trial: t + 1,
        order,
        baseline: w.baseline!,
        floor: w.floor!,
        operator: w.operator!,
      };
      result.trials.push(trial);
      ctx.log(
        `  apiserver-cost trial ${t + 1}/${trialCount} (${order}): kube-apiserver CPU per 1,000 pod events over the baseline: operator ${costPer1000(w.operator!, w.baseline!).toFixed(3)} s, floor watch ${costPer1000(w.floor!, w.baseline!).toFixed(3)} s; windows ${w.baseline!.apiserverCpu}/${w.floor!.apiserverCpu}/${w.operator!.apiserverCpu} s for ${w.baseline!.events}/${w.floor!.events}/${w.operator!.events} events; load ${w.operator!.load}`,
      );
    }
  } finally {
    await ensureOperator();
  }
  return result;
}
