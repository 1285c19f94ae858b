// Phase `relist`: a watch expiry on a converged cluster, at the largest size. kube-apiserver is
// stopped, etcd's history compacted while it is down, and the server started again
// (ControlPlane.restartApiserver, compactEtcd): its watch cache starts empty, so every watch the
// operator resumes at its last resourceVersion is answered 410 and each cache relists, the pods
// cache the largest. As after an API server upgrade or a long outage.
//
// Measured from the moment the operator can see the new server, polling its /metrics: the pods
// watch's 410 (hostns_watch_restarts_total{resource="pods",reason="expired"}) and the relist done
// (hostns_cache_lists_total{resource="pods"} one more), and the operator's own figure of the pods
// LIST, first page asked -> cache replaced (hostns_cache_last_list_seconds), which leaves out the
// reconnect backoff and the bench's 100 ms polling. Meanwhile the operator's VmRSS is sampled
// from /proc every 50 ms (the relist's peak; VmHWM is the process's peak since its start, the
// startup's included). Its writes come from the audit log: a converged cluster needs none.
// Floor: a paged LIST of every pod by a minimal client in its own process (bench/floor-startup.ts
// --list-only). Orders alternate: "operator first" times the operator from the server's readiness
// and runs the floor after; "floor first" pauses the operator (SIGSTOP) across the restart, runs
// the floor on the fresh server, then resumes it (SIGCONT) and times it from there.
import { httpGet, metricSum, type OperatorProcess } from '../../tools/operator-process.ts';
import { load1 } from '../provenance.ts';
import { type BenchContext, operatorRecords, runChild, sleep, waitOperatorQuiet } from './common.ts';

export interface RelistFloor {
  pods: number;
  listMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  wallMs: number;
}

export interface RelistTrial {
  trial: number;
  order: 'floor first' | 'operator first';
  load: number;
  /** kube-apiserver stopped -> ready again. */
  apiserverDownMs: number;
  /** Server ready -> the operator's pods watch answered 410. */
  expiredMs?: number;
  /** Server ready -> the pods relist done (seen on /metrics, polled every 100 ms). */
  relistedMs?: number;
  /** The operator's pods LIST: first page asked -> cache replaced (its own metric). */
  listMs?: number;
  /** Caches that relisted (410) during the trial, by resource. */
  expired: Record<string, number>;
  /** Operator VmRSS before the restart, the largest sample during the relist, VmHWM after. */
  rssBeforeBytes: number;
  rssPeakSampledBytes: number;
  peakRssBytes: number;
  /** The operator's writes from the restart to 5 s after the relist (audit log). */
  writes: Record<string, number>;
  floor: RelistFloor;
}

export interface RelistResult {
  pods: number;
  trials: RelistTrial[];
}

const PODS = '{resource="pods"';

async function metrics(op: OperatorProcess): Promise<string> {
  return (await httpGet(op.port, '/metrics', 10_000).catch(() => ({ text: '' }))).text;
}

/** Expired (410) watch restarts so far, by resource. */
export function expiredByResource(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^hostns_watch_restarts_total\{([^}]*)\} (\S+)$/gm)) {
    if (!m[1]!.includes('reason="expired"')) continue;
    const resource = /resource="([^"]+)"/.exec(m[1]!)?.[1] ?? '?';
    out[resource] = (out[resource] ?? 0) + Number(m[2]);
  }
  return out;
}

async function runFloor(ctx: BenchContext): Promise<RelistFloor> {
  const { result, wallMs } = await runChild<Omit<RelistFloor, 'wallMs'>>([
    'bench/floor-startup.ts',
    '--kubeconfig',
    ctx.floorKubeconfig,
    '--list-only',
  ]);
  ctx.log(
    `  relist floor: LIST of ${result.pods} pods in ${result.listMs} ms, peak RSS ${mib(result.peakRssBytes)} MiB`,
  );
  return { ...result, wallMs };
}

export async function runRelist(
  ctx: BenchContext,
  op: OperatorProcess,
  restartApiserver: (whileDown: () => Promise<void>) => Promise<number>,
  compactEtcd: () => Promise<number>,
  trialCount: number,
  timeoutMs: number,
): Promise<RelistResult> {
  const trials: RelistTrial[] = [];
  let pods = 0;
  for (let t = 1; t <= trialCount; t++) {
    const order: RelistTrial['order'] = t % 2 === 1 ? 'operator first' : 'floor first';
    await waitOperatorQuiet(ctx, 3000, 120_000);
    const load = load1();
    const rssBefore = op.memory()?.rss ?? 0;
    const text0 = await metrics(op);
    const expired0 = expiredByResource(text0);
    const lists0 = metricSum(text0, 'hostns_cache_lists_total', PODS) ?? 0;
    ctx.audit.skipToEnd();
    let floor: RelistFloor | undefined;
    if (order === 'floor first') op.signal('SIGSTOP');
    const stoppedAt = Date.now();
    let start = await restartApiserver(async () => void (await compactEtcd()));
    const apiserverDownMs = start - stoppedAt;
    if (order === 'floor first') {
      try {
        floor = await runFloor(ctx);
      } finally {
        op.signal('SIGCONT');
      }
      start = Date.now();
    }
    let rssPeak = 0;
    let expiredAt: number | undefined;
    let relistedAt: number | undefined;
    let listMs: number | undefined;
    const sampler = setInterval(() => {
      const m = op.memory();
      if (m && m.rss > rssPeak) rssPeak = m.rss;
    }, 50);
    try {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const text = await metrics(op);
        const now = Date.now();
        if ((expiredByResource(text)['pods'] ?? 0) > (expired0['pods'] ?? 0)) expiredAt ??= now;
        if (expiredAt !== undefined && (metricSum(text, 'hostns_cache_lists_total', PODS) ?? 0) > lists0) {
          relistedAt = now;
          listMs = Math.round((metricSum(text, 'hostns_cache_last_list_seconds', PODS) ?? Number.NaN) * 1000);
          break;
        }
        await sleep(100);
      }
    } finally {
      clearInterval(sampler);
    }
    if (order === 'operator first') floor = await runFloor(ctx);
    await sleep(5000);
    const { writes } = operatorRecords(ctx.audit.readNew());
    const expiredNow = expiredByResource(await metrics(op));
    const expired = Object.fromEntries(
      Object.entries(expiredNow)
        .map(([r, v]) => [r, v - (expired0[r] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
    const trial: RelistTrial = {
      trial: t,
      order,
      load,
      apiserverDownMs,
      expiredMs: expiredAt === undefined ? undefined : expiredAt - start,
      relistedMs: relistedAt === undefined ? undefined : relistedAt - start,
      listMs,
      expired,
      rssBeforeBytes: rssBefore,
      rssPeakSampledBytes: rssPeak,
      peakRssBytes: op.memory()?.peakRss ?? 0,
      writes,
      floor: floor!,
    };
    pods = floor!.pods;
    ctx.log(
      `  relist trial ${t} (${order}): server down ${apiserverDownMs} ms; 410 after ${trial.expiredMs ?? '-'} ms, relisted after ${trial.relistedMs ?? 'timeout'} ms (its LIST ${listMs ?? '-'} ms); RSS ${mib(rssBefore)} -> peak ${mib(rssPeak)} MiB; writes ${JSON.stringify(writes)}; expired ${JSON.stringify(expired)}`,
    );
    trials.push(trial);
  }
  return { pods, trials };
}

const mib = (b: number) => Math.round(b / 2 ** 20);
