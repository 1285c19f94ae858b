// `npm run bench [-- options]`: the operator in its production form (config/manager: dist/main.js,
// its NODE_OPTIONS and flags) against floors measured in the same run, on a local control plane
// this script starts (and stops). Writes <out>/results.json and <out>/RESULTS.md. See bench/README.md.
//
//   npm run bench                                   N = 10,000, 20,000, 50,000; every phase; 3 trials
//   npm run bench -- --sizes 20000,50000,150000     the documented large run
//   npm run bench -- --phase startup --sizes 50000  one phase at one size, in minutes
//   npm run bench -- --quick                        N = 2,000, 1 trial: a smoke run (no verdicts)
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import { AuditLog, FLOOR_USER, OPERATOR_USER, STANDBY_USER } from './audit.ts';
import { startBenchCluster } from './cluster.ts';
import { ensureNamespaces, growFixture } from './fixture.ts';
import { Api } from './minimal-client.ts';
import {
  countPods,
  deletePhaseNamespaces,
  operatorCommand,
  OPERATOR_NAMESPACE,
  startOperator,
  versionOf,
  type BenchContext,
} from './phases/common.ts';
import { runAdmission } from './phases/admission.ts';
import { runApiserverCost } from './phases/apiserver-cost.ts';
import { runEnforcement } from './phases/enforcement.ts';
import { runFailover } from './phases/failover.ts';
import { runRelist } from './phases/relist.ts';
import { runLapse } from './phases/lapse.ts';
import { measureOperator, runPeer, type MemoryResult } from './phases/memory.ts';
import { runRestart } from './phases/restart.ts';
import { runStartup } from './phases/startup.ts';
import { floorSteadyNamespace, runSteady } from './phases/steady.ts';
import { productionForm } from './production.ts';
import { load1, provenance } from './provenance.ts';
import { worldSectionFrom } from './nodes-report.ts';
import { renderReport, type BenchResults } from './report.ts';
import { summarizeProfile } from './profile.ts';
import { controlPlanePids } from './procstat.ts';
import { controlPlaneAssets } from '../tools/controlplane/controlplane.ts';
import type { OperatorProcess } from '../tools/operator-process.ts';

/**
 * The phases, in run order. `startup` and `memory` run at every size; the others at the largest,
 * on the operator the startup left converged. A new phase adds its name here and its step below.
 */
export const PHASES = [
  'memory',
  'startup',
  'restart',
  'steady',
  'lapse',
  'admission',
  'enforcement',
  'apiserver-cost',
  'failover',
  'relist',
] as const;
type Phase = (typeof PHASES)[number];

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
    pods: { type: 'string' },
    phase: { type: 'string' },
    trials: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'fixture-concurrency': { type: 'string', default: '64' },
    'patch-concurrency': { type: 'string', default: '16' },
    'steady-rate': { type: 'string', default: '50' },
    'steady-seconds': { type: 'string' },
    lapse: { type: 'string' },
    'lapse-lead': { type: 'string' },
    'admission-exceptions': { type: 'string', default: '320' },
    'admission-rate': { type: 'string', default: '50' },
    'admission-seconds': { type: 'string' },
    enforce: { type: 'string' },
    'enforce-lead': { type: 'string' },
    'probe-concurrency': { type: 'string', default: '32' },
    'failover-lead': { type: 'string' },
    'standby-seconds': { type: 'string' },
    'startup-timeout': { type: 'string', default: '600' },
    'node-options': { type: 'string' },
    env: { type: 'string', multiple: true },
    entry: { type: 'string' },
    'concurrency-flag': { type: 'string', default: '--max-concurrent-reconciles' },
    profile: { type: 'boolean', default: false },
    'keep-work': { type: 'boolean', default: false },
    'cluster-dir': { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});

function positive(text: string | undefined, flag: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag}: ${JSON.stringify(text)} is not a positive number`);
  return v;
}

const quick = values.quick;
const sizes = (values.sizes ?? values.pods ?? (quick ? '2000' : '10000,20000,50000'))
  .split(',')
  .map((s) => Math.round(positive(s.trim(), '--sizes')))
  .sort((a, b) => a - b);
const phases = new Set<Phase>(
  (values.phase ?? PHASES.join(',')).split(',').map((p) => {
    if (!(PHASES as readonly string[]).includes(p.trim()))
      throw new Error(`--phase: ${JSON.stringify(p)} is not one of ${PHASES.join(', ')}`);
    return p.trim() as Phase;
  }),
);
const trialCount = Math.round(positive(values.trials ?? (quick ? '1' : '3'), '--trials'));
const fixtureConcurrency = positive(values['fixture-concurrency'], '--fixture-concurrency');
const patchConcurrency = positive(values['patch-concurrency'], '--patch-concurrency');
const steadyRate = positive(values['steady-rate'], '--steady-rate');
const steadySeconds = positive(values['steady-seconds'] ?? (quick ? '15' : '30'), '--steady-seconds');
const lapseCount = Math.round(positive(values.lapse ?? (quick ? '200' : '1000'), '--lapse'));
const lapseLead = positive(values['lapse-lead'] ?? (quick ? '60' : '120'), '--lapse-lead');
const admissionExceptions = Math.round(positive(values['admission-exceptions'], '--admission-exceptions'));
const admissionRate = positive(values['admission-rate'], '--admission-rate');
const admissionSeconds = positive(values['admission-seconds'] ?? (quick ? '10' : '20'), '--admission-seconds');
const enforceCount = Math.round(positive(values.enforce ?? (quick ? '200' : '1000'), '--enforce'));
const enforceLead = positive(values['enforce-lead'] ?? (quick ? '30' : '90'), '--enforce-lead');
const probeConcurrency = Math.round(positive(values['probe-concurrency'], '--probe-concurrency'));
const failoverLead = positive(values['failover-lead'] ?? (quick ? '30' : '60'), '--failover-lead');
const standbySeconds = positive(values['standby-seconds'] ?? (quick ? '10' : '20'), '--standby-seconds');
const startupTimeoutMs = positive(values['startup-timeout'], '--startup-timeout') * 1000;
const outDir = resolve(values.out);

const form = productionForm();
if (values['node-options'] !== undefined) form.nodeArgs = values['node-options'].split(/\s+/).filter(Boolean);
for (const kv of values.env ?? []) {
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new Error(`--env: ${JSON.stringify(kv)} is not NAME=value`);
  form.env[kv.slice(0, eq)] = kv.slice(eq + 1);
}
if (values.entry) form.entry = values.entry;

const runStarted = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[bench ${((Date.now() - runStarted) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

const workDir = mkdtempSync(join(tmpdir(), 'hostns-bench-'));
const assets = controlPlaneAssets();
const results: BenchResults = {
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  provenance: provenance([relative(process.cwd(), outDir) || '.']),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    loadAtStart: load1(),
  },
  versions: {
    node: process.version,
    'kube-apiserver': versionOf(join(assets, 'kube-apiserver')),
    etcd: versionOf(join(assets, 'etcd')),
    '@kubernetes/client-node': '2.0.1',
  },
  settings: {
    sizes,
    phases: [...phases],
    trials: trialCount,
    fixtureConcurrency,
    patchConcurrency,
    steadyRate,
    steadySeconds,
    lapseCount,
    lapseLeadSeconds: lapseLead,
    admissionExceptions,
    admissionRate,
    admissionSeconds,
    enforceCount,
    enforceLeadSeconds: enforceLead,
    probeConcurrency,
    failoverLeadSeconds: failoverLead,
    standbySeconds,
    apiserverPriority: 'bench users are in system:masters (APF exempt), like the floor',
    profiled: values.profile,
  },
  form: { ...form },
  fixtures: [],
  startup: [],
  memory: [],
  notes: [],
  errors: [],
};

function save(): void {
  mkdirSync(outDir, { recursive: true });
  results.durationSeconds = (Date.now() - runStarted) / 1000;
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'RESULTS.md'), `${renderReport(results, worldSectionFrom(outDir))}\n`);
}

async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const msg = `${what}: ${(err as Error).message}`;
    log(`ERROR ${msg}`);
    results.errors.push(msg);
    return undefined;
  }
}

/** Removes a finished phase's namespaces (their exceptions and pods), so later phases see the fixture. */
async function cleanUp(prefixes: string[]): Promise<void> {
  const r = await attempt('clean-up', () => deletePhaseNamespaces(api, prefixes));
  if (r) log(`  removed ${r.deleted} namespaces ${prefixes.join(', ')}*${r.gone ? '' : ' (some still terminating)'}`);
}

log(
  `sizes ${sizes.join(', ')}; phases ${[...phases].join(', ')}; ${trialCount} trials; commit ${results.provenance.commit}${results.provenance.dirty ? ' (dirty)' : ''}; work dir ${workDir}; free memory ${Math.round(freemem() / 2 ** 30)} GiB`,
);
const cluster = await startBenchCluster(workDir, [], values['cluster-dir']);
log(`control plane ready at ${cluster.cp.server}`);
const api = Api.fromKubeconfig(cluster.admin, 64);
await ensureNamespaces(api, [OPERATOR_NAMESPACE]);
const ctx: BenchContext = {
  api,
  adminKubeconfig: cluster.admin,
  operatorKubeconfig: cluster.users[OPERATOR_USER]!,
  floorKubeconfig: cluster.users[FLOOR_USER]!,
  standbyKubeconfig: cluster.users[STANDBY_USER]!,
  audit: new AuditLog(cluster.auditLogPath),
  workDir,
  patchConcurrency,
  controlPlane: controlPlanePids(cluster.cp.dir),
  form,
  // An older build (--entry) may only know the flag's old name, --patch-concurrency.
  operatorArgs: [values['concurrency-flag'], String(patchConcurrency)],
  operatorNodeArgs: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(workDir, 'profiles')}`] : [],
  exemptNamespaces: Array.from({ length: trialCount }, (_, t) => floorSteadyNamespace(t)),
  log,
};
results.settings.operatorCommand = operatorCommand(ctx);

let stopping = false;
const cleanup = async () => {
  if (stopping) return;
  stopping = true;
  api.close();
  await cluster.cp.stop();
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

let op: OperatorProcess | undefined;
try {
  if (phases.has('memory')) {
    const m0: MemoryResult = { size: 0, podsInCluster: await countPods(api), operator: [] };
    await attempt('memory at N = 0 (operator)', async () => {
      const empty = await startOperator(ctx);
      await empty.waitReady(120_000);
      await new Promise((r) => setTimeout(r, 2000));
      m0.operator.push(await measureOperator(empty));
      await empty.stop();
    });
    m0.peer = await attempt('memory at N = 0 (peer)', () => runPeer(ctx));
    results.memory.push(m0);
    save();
  }

  let have = 0;
  for (const size of sizes) {
    const largest = size === sizes[sizes.length - 1];
    log(`N = ${size}: growing the fixture from ${have} pods (${fixtureConcurrency} creates in flight)`);
    const fx = await growFixture(api, have, size, fixtureConcurrency, (done) => log(`  ${done} pods created`));
    have = size;
    results.fixtures.push(fx);
    log(`  fixture: ${fx.created} created, ${fx.existed} existed in ${fx.seconds.toFixed(1)} s`);

    const needOperator = phases.has('startup') || phases.has('memory') || largest;
    if (!needOperator) continue;
    const trials = phases.has('startup') ? trialCount : 0;
    const started = await attempt(`startup at N = ${size}`, () => runStartup(ctx, size, trials, startupTimeoutMs));
    if (!started) continue;
    op = started.op;
    if (trials > 0) results.startup.push(started.result);
    const mem: MemoryResult = {
      size,
      podsInCluster: started.result.podsInCluster,
      operator: started.result.trials.flatMap((t) => (t.operator.memory ? [t.operator.memory] : [])),
    };
    if (mem.operator.length === 0) mem.operator.push(await measureOperator(op));
    save();

    if (largest && phases.has('restart')) {
      const restarted = await attempt('restart (write amplification)', () =>
        runRestart(ctx, op!, quick ? 10_000 : 20_000),
      );
      if (restarted) {
        results.restart = restarted.result;
        op = restarted.op;
      }
      save();
    }
    if (largest && phases.has('steady')) {
      results.steady = await attempt('steady state', () => runSteady(ctx, op!, steadyRate, steadySeconds, trialCount));
      save();
    }
    if (largest && phases.has('lapse')) {
      results.lapse = await attempt('lapse', () => runLapse(ctx, lapseCount, lapseLead, trialCount));
      save();
      await cleanUp(['bench-lapse-']);
    }
    if (largest && phases.has('admission')) {
      results.admission = await attempt('admission cost', () =>
        runAdmission(ctx, admissionExceptions, admissionRate, admissionSeconds, trialCount),
      );
      save();
    }
    // The peak after every phase this process ran (steady and lapse add to the startup's); the
    // phases below stop it and start others.
    mem.afterPhases = op.memory();
    // These stop and start the operator: `live.op` is the one running afterwards.
    const live = { op };
    if (largest && phases.has('enforcement')) {
      results.enforcement = await attempt('enforcement', () =>
        runEnforcement(ctx, live, enforceCount, enforceLead, probeConcurrency, trialCount),
      );
      save();
      await cleanUp(['bench-enforce-']);
    }
    if (largest && phases.has('apiserver-cost')) {
      results.apiserverCost = await attempt('apiserver cost', () =>
        runApiserverCost(ctx, live, size, steadyRate, steadySeconds, trialCount),
      );
      save();
    }
    if (largest && phases.has('failover')) {
      results.failover = await attempt('failover', () =>
        runFailover(ctx, live, lapseCount, failoverLead, standbySeconds, trialCount),
      );
      save();
      await cleanUp(['bench-failover-']);
    }
    if (largest && phases.has('relist')) {
      results.relist = await attempt('relist after watch expiry', () =>
        runRelist(
          ctx,
          live.op,
          (whileDown) => cluster.cp.restartApiserver(whileDown),
          () => cluster.cp.compactEtcd(),
          trialCount,
          startupTimeoutMs,
        ),
      );
      save();
    }
    op = live.op;
    await op.stop();
    op = undefined;
    if (phases.has('memory')) {
      log(`  peer informer at ${await countPods(api)} pods`);
      mem.peer = await attempt(`memory at N = ${size} (peer)`, () => runPeer(ctx));
    }
    results.memory.push(mem);
    save();
  }
  const profiles = join(workDir, 'profiles');
  if (values.profile && existsSync(profiles)) {
    for (const [i, f] of readdirSync(profiles)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .entries()) {
      const to = join(outDir, `profile-${i + 1}.txt`);
      writeFileSync(to, summarizeProfile(join(profiles, f), 40));
      results.notes.push(`CPU profile of operator start ${i + 1} (in run order): ${relative(process.cwd(), to)}`);
    }
  }
} finally {
  await op?.stop();
  save();
  log(`wrote ${join(outDir, 'RESULTS.md')} and results.json`);
  await cleanup();
  if (values['keep-work'] || results.errors.length > 0) log(`operator log, audit log and profiles kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}
// A watch or timer left behind must not keep a finished bench alive.
process.exit(0);
