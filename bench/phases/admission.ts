// Phase `admission`: what the shipped admission policy (config/admission) costs a pod create. Pods
// are created at a fixed rate, alternately clean and host-network pods covered by one of hundreds
// of exceptions (each namespace's grants object at its budget), once with the policy bindings and
// once without any; the round trip of each create is timed by the client that sends it.
import { ensureNamespaces, exceptionManifest, podManifest, rfc3339Seconds } from '../fixture.ts';
import { GRANT_LIMITS } from '../../src/policy/grants.ts';
import {
  applyManifests,
  bindingsOf,
  createPod,
  deleteManifests,
  shippedAdmission,
  waitForGrants,
  waitForIndex,
  waitForOutcome,
} from '../admission-config.ts';
import { createIfAbsent } from '../fixture.ts';
import { mapConcurrent } from '../minimal-client.ts';
import { load1 } from '../provenance.ts';
import { CpuMeter } from '../procstat.ts';
import { ratio, summarize, type Summary } from '../stats.ts';
import { type BenchContext, EX_PATH, exemptNamespacesOf, inTrialOrder, paced, sleep } from './common.ts';

const ADMISSION_LABEL = 'bench.hostns.io/admission';
const admissionNamespace = (n: number) => `bench-admission-${n}`;

export interface AdmissionWindow {
  policy: boolean;
  load: number;
  seconds: number;
  sent: number;
  /** Creates not sent because 64 were already in flight (the API server fell behind the rate). */
  skipped: number;
  /** Creates that failed (a covered host pod refused counts here: it must not happen). */
  failed: number;
  clean: Summary;
  host: Summary;
  /** kube-apiserver CPU seconds over the window (/proc). */
  apiserverCpu?: number;
}

export interface AdmissionTrial {
  trial: number;
  /** The floor is the window without a binding. */
  order: 'floor first' | 'operator first';
  policy: AdmissionWindow;
  none: AdmissionWindow;
  cleanRatioP50: number;
  cleanRatioP99: number;
  hostRatioP50: number;
  hostRatioP99: number;
}

export interface AdmissionResult {
  exceptions: number;
  namespaces: number;
  grantsPerNamespace: number;
  rate: number;
  seconds: number;
  setupMs: number;
  /** How long a binding change took to reach admission (dry-run probe), per switch. */
  switchMs: number[];
  trials: AdmissionTrial[];
}

/** The exceptions of namespace `ns`: `perNamespace` of them, each bound to one team's pods and images. */
function exceptionsOf(ns: string, perNamespace: number, expiresAt: string) {
  return Array.from({ length: perNamespace }, (_, k) =>
    exceptionManifest({
      namespace: ns,
      name: `adm-${String(k).padStart(2, '0')}`,
      selector: { app: `agent-a${k}` },
      expiresAt,
      labels: { [ADMISSION_LABEL]: 'true' },
      boundTo: { serviceAccountNames: ['default'], images: [`registry.example.com/a${k}/`] },
    }),
  );
}

/** Creates pods at `rate`/s for `seconds`, alternately clean and covered host pods, over `namespaces`. */
async function createWindow(
  ctx: BenchContext,
  namespaces: string[],
  perNamespace: number,
  tag: string,
  rate: number,
  seconds: number,
  policy: boolean,
): Promise<AdmissionWindow> {
  const { api } = ctx;
  const clean: number[] = [];
  const host: number[] = [];
  let failed = 0;
  const count = Math.round(rate * seconds);
  const load = load1();
  const cpu = new CpuMeter({ apiserver: ctx.controlPlane.apiserver });
  const sent = await paced(rate, count, 64, async (i) => {
    const namespace = namespaces[i % namespaces.length]!;
    const isHost = i % 2 === 1;
    const k = Math.floor(i / 2) % perNamespace;
    const manifest = podManifest({
      namespace,
      name: `adm-${tag}-${String(i).padStart(5, '0')}`,
      team: isHost ? `a${k}` : 'web',
      host: isHost ? 'hostNetwork' : undefined,
      labels: { [ADMISSION_LABEL]: 'true' },
    });
    const r = await createPod(api, namespace, manifest, false);
    if (r.outcome !== 'admitted') failed++;
    else (isHost ? host : clean).push(r.answeredAt - r.sentAt);
  });
  const window: AdmissionWindow = {
    policy,
    load,
    seconds: sent.seconds,
    sent: count - sent.skipped,
    skipped: sent.skipped,
    failed,
    clean: summarize(clean),
    host: summarize(host),
    apiserverCpu: cpu.read().apiserver,
  };
  // Leave the namespaces as they were: pods without a node go at once.
  const selector = encodeURIComponent(`${ADMISSION_LABEL}=true`);
  await mapConcurrent(namespaces, 8, (ns) =>
    api.json('DELETE', `/api/v1/namespaces/${ns}/pods?labelSelector=${selector}&gracePeriodSeconds=0`),
  );
  return window;
}

export async function runAdmission(
  ctx: BenchContext,
  exceptions: number,
  rate: number,
  seconds: number,
  trialCount: number,
): Promise<AdmissionResult> {
  const { api, log } = ctx;
  const perNamespace = Math.min(GRANT_LIMITS.perNamespace, exceptions);
  const nsCount = Math.ceil(exceptions / perNamespace);
  const namespaces = Array.from({ length: nsCount }, (_, n) => admissionNamespace(n));
  const setupStarted = Date.now();
  await ensureNamespaces(api, namespaces);
  const expiresAt = rfc3339Seconds(Date.now() + 60 * 86400_000);
  const manifests = namespaces.flatMap((ns) => exceptionsOf(ns, perNamespace, expiresAt).map((m) => ({ ns, m })));
  await mapConcurrent(manifests, 32, ({ ns, m }) =>
    createIfAbsent(api, `${EX_PATH}/namespaces/${ns}/hostnamespaceexceptions`, m),
  );
  await waitForGrants(api, namespaces, perNamespace, 180_000);
  await waitForIndex(api, namespaces, 60_000);
  const setupMs = Date.now() - setupStarted;
  log(`  admission: ${manifests.length} exceptions in ${nsCount} namespaces, grants written, in ${setupMs} ms`);

  const shipped = shippedAdmission(exemptNamespacesOf(ctx));
  // A host pod no exception covers: refused with the bindings, admitted without.
  const uncovered = podManifest({ namespace: namespaces[0]!, name: 'adm-probe', team: 'zz', host: 'hostNetwork' });
  const result: AdmissionResult = {
    exceptions: manifests.length,
    namespaces: nsCount,
    grantsPerNamespace: perNamespace,
    rate,
    seconds,
    setupMs,
    switchMs: [],
    trials: [],
  };
  const bindings = bindingsOf(shipped);
  const switchTo = async (policy: boolean) => {
    if (policy) await applyManifests(api, bindings);
    else await deleteManifests(api, bindings);
    result.switchMs.push(await waitForOutcome(api, namespaces[0]!, uncovered, policy ? 'refused' : 'admitted'));
    await sleep(2000);
  };
  await applyManifests(api, shipped);
  try {
    for (let t = 0; t < trialCount; t++) {
      const run = async (policy: boolean) => {
        await switchTo(policy);
        const tag = `${t}${policy ? 'p' : 'n'}`;
        return createWindow(ctx, namespaces, perNamespace, tag, rate, seconds, policy);
      };
      const {
        order,
        floor: n,
        operator: p,
      } = await inTrialOrder(
        t,
        () => run(false),
        () => run(true),
      );
      const trial: AdmissionTrial = {
        trial: t + 1,
        order,
        policy: p,
        none: n,
        cleanRatioP50: ratio(p.clean.p50, n.clean.p50),
        cleanRatioP99: ratio(p.clean.p99, n.clean.p99),
        hostRatioP50: ratio(p.host.p50, n.host.p50),
        hostRatioP99: ratio(p.host.p99, n.host.p99),
      };
      result.trials.push(trial);
      log(
        `  admission trial ${t + 1}/${trialCount} (${order}): clean p50 ${p.clean.p50}/${n.clean.p50} ms p99 ${p.clean.p99}/${n.clean.p99} ms; host p50 ${p.host.p50}/${n.host.p50} ms p99 ${p.host.p99}/${n.host.p99} ms (policy/none); failed ${p.failed}/${n.failed}; skipped ${p.skipped}/${n.skipped}; load ${p.load}/${n.load}`,
      );
    }
  } finally {
    await deleteManifests(api, shipped);
  }
  return result;
}
