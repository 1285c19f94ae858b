// `npm run bench [-- options]`: the operator against the API server's own floor, on a local control
// plane this script starts (and stops). Writes bench/results/results.json and bench/results/RESULTS.md.
//
//   npm run bench                          N = 20,000 and 50,000 (default; ~15 min on 2 cores)
//   npm run bench -- --quick               N = 2,000, shorter steady window, 200 lapses
//   npm run bench -- --pods 20000,50000,150000
//   npm run bench -- --profile             CPU profiles of the operator at the largest N (bench/results/profile-*.txt)
//   npm run bench -- --floors-only         fixtures and floors only (no operator)
//   npm run bench -- --keep-work           keep the operator log, audit log and profiles (kept anyway on errors)
//   npm run bench -- --cluster-dir DIR     keep the cluster (etcd data) in DIR; a later run with the same DIR reuses its pods
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { AuditLog, FLOOR_USER, OPERATOR_USER } from './audit.ts';
import { startBenchCluster } from './cluster.ts';
import { growFixture } from './fixture.ts';
import { Api } from './minimal-client.ts';
import { NODE, operatorExists, type OperatorProcess } from './operator.ts';
import {
  countPods,
  deleteNamespaces,
  resetOperatorState,
  runChild,
  startOperator,
  versionOf,
  type BenchContext,
} from './phases/common.ts';
import { runLapse } from './phases/lapse.ts';
import { measureOperatorHeap, runPeer, type MemoryResult } from './phases/memory.ts';
import { runRestart } from './phases/restart.ts';
import { runStartup, type FloorResult } from './phases/startup.ts';
import { runSteady } from './phases/steady.ts';
import { renderReport, type BenchResults } from './report.ts';
import { summarizeProfile } from './profile.ts';
import { controlPlanePids } from './procstat.ts';
import { controlPlaneAssets } from '../tools/controlplane/controlplane.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'fixture-concurrency': { type: 'string', default: '64' },
    'patch-concurrency': { type: 'string', default: '16' },
    'steady-rate': { type: 'string', default: '50' },
    'steady-seconds': { type: 'string' },
    lapse: { type: 'string' },
    'lapse-lead': { type: 'string' },
    'startup-timeout': { type: 'string', default: '600' },
    profile: { type: 'boolean', default: false },
    'floors-only': { type: 'boolean', default: false },
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
const sizes = (values.pods ?? (quick ? '2000' : '20000,50000'))
  .split(',')
  .map((s) => positive(s.trim(), '--pods'))
  .map(Math.round)
  .sort((a, b) => a - b);
const fixtureConcurrency = positive(values['fixture-concurrency'], '--fixture-concurrency');
const patchConcurrency = positive(values['patch-concurrency'], '--patch-concurrency');
const steadyRate = positive(values['steady-rate'], '--steady-rate');
const steadySeconds = positive(values['steady-seconds'] ?? (quick ? '20' : '60'), '--steady-seconds');
const lapseCount = Math.round(positive(values.lapse ?? (quick ? '200' : '1000'), '--lapse'));
const lapseLead = positive(values['lapse-lead'] ?? (quick ? '45' : '90'), '--lapse-lead');
const startupTimeoutMs = positive(values['startup-timeout'], '--startup-timeout') * 1000;
const outDir = resolve(values.out);

const runStarted = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[bench ${((Date.now() - runStarted) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

const workDir = mkdtempSync(join(tmpdir(), 'hostns-bench-'));
const results: BenchResults = {
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
  },
  versions: {},
  settings: {
    sizes,
    fixtureConcurrency,
    patchConcurrency,
    steadyRate,
    steadySeconds,
    lapseCount,
    lapseLeadSeconds: lapseLead,
    apiserverPriority: 'bench users are in system:masters (APF exempt), like the floor',
  },
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
  writeFileSync(join(outDir, 'RESULTS.md'), `${renderReport(results)}\n`);
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

const assets = controlPlaneAssets();
results.versions = {
  node: process.version,
  'kube-apiserver': versionOf(join(assets, 'kube-apiserver')),
  etcd: versionOf(join(assets, 'etcd')),
  '@kubernetes/client-node': '2.0.1',
  operator: (() => {
    try {
      return `git ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()} + working tree`;
    } catch {
      return 'unknown';
    }
  })(),
};
log(`sizes ${sizes.join(', ')}; work dir ${workDir}; free memory ${Math.round(freemem() / 2 ** 30)} GiB`);

const cluster = await startBenchCluster(workDir, [], values['cluster-dir']);
log(`control plane ready at ${cluster.cp.server}`);
const api = Api.fromKubeconfig(cluster.admin, 64);
const withOperator = !values['floors-only'];
if (withOperator && !operatorExists()) throw new Error('src/main.ts does not exist: run with --floors-only');
const ctx: BenchContext = {
  api,
  adminKubeconfig: cluster.admin,
  operatorKubeconfig: cluster.users[OPERATOR_USER]!,
  floorKubeconfig: cluster.users[FLOOR_USER]!,
  audit: new AuditLog(cluster.auditLogPath),
  workDir,
  patchConcurrency,
  controlPlane: controlPlanePids(cluster.cp.dir),
  operatorArgs: ['--max-concurrent-reconciles', String(patchConcurrency)],
  operatorNodeArgs: [],
  log,
};
results.settings.operatorCommand = `${NODE} --expose-gc src/main.ts --kubeconfig <operator user> --http-port <free> --log-level warn ${ctx.operatorArgs.join(' ')}`;

let stopping = false;
const cleanup = async () => {
  if (stopping) return;
  stopping = true;
  api.close();
  await cluster.cp.stop();
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  // 4. Memory at N = 0 (both processes, on the empty cluster).
  const m0: MemoryResult = { size: 0, podsInCluster: await countPods(api) };
  if (withOperator) {
    await attempt('memory at N = 0 (operator)', async () => {
      const op = await startOperator(ctx);
      await op.waitReady(120_000);
      await new Promise((r) => setTimeout(r, 2000));
      m0.operator = await measureOperatorHeap(op);
      await op.stop();
    });
  }
  m0.peer = await attempt('memory at N = 0 (peer)', () => runPeer(ctx));
  results.memory.push(m0);
  save();

  let have = 0;
  for (const [k, size] of sizes.entries()) {
    const last = k === sizes.length - 1;
    log(`N = ${size}: growing the fixture from ${have} pods (${fixtureConcurrency} creates in flight)`);
    const fx = await growFixture(api, have, size, fixtureConcurrency, (done) => log(`  ${done} pods created`));
    have = size;
    results.fixtures.push(fx);
    log(
      `  fixture: ${fx.created} created, ${fx.existed} existed in ${fx.seconds.toFixed(1)} s (${Math.round(fx.podsPerSecond)}/s)`,
    );
    await resetOperatorState(ctx);

    if (!withOperator) {
      const floor = await runChild<FloorResult>([
        'bench/floor-startup.ts',
        '--kubeconfig',
        ctx.floorKubeconfig,
        '--concurrency',
        String(patchConcurrency),
        '--value',
        `run-${Date.now()}`,
      ]);
      log(`  floor: ${floor.wallMs} ms ${JSON.stringify(floor.result)}`);
      results.notes.push(`floors only, N = ${size}: startup floor ${floor.wallMs} ms ${JSON.stringify(floor.result)}`);
      const peer = await attempt(`memory at N = ${size} (peer)`, () => runPeer(ctx));
      results.memory.push({ size, podsInCluster: await countPods(api), peer });
      save();
      continue;
    }

    const profiling = values.profile && last;
    const profileDir = (phase: string) => join(workDir, 'profiles', phase);
    const profileArgs = (phase: string) => (profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(phase)}`] : []);
    const writeProfile = (phase: string, what: string) => {
      if (!profiling) return;
      const files = existsSync(profileDir(phase))
        ? readdirSync(profileDir(phase)).filter((f) => f.endsWith('.cpuprofile'))
        : [];
      if (!files[0]) return void results.errors.push(`no CPU profile written for ${what}`);
      writeFileSync(join(outDir, `profile-${phase}.txt`), summarizeProfile(join(profileDir(phase), files[0]), 40));
      results.notes.push(
        `CPU profile of the operator (${what}, N = ${size}): ${join(outDir, `profile-${phase}.txt`)}. Profiled runs carry the profiler's overhead.`,
      );
    };
    ctx.operatorNodeArgs = profileArgs('startup');
    const started = await attempt(`startup at N = ${size}`, () => runStartup(ctx, size, startupTimeoutMs));
    ctx.operatorNodeArgs = [];
    if (!started) continue;
    results.startup.push(started.result);
    let op: OperatorProcess = started.op;
    const mem: MemoryResult = { size, podsInCluster: started.result.podsInCluster };
    mem.operator = await measureOperatorHeap(op);
    log(`  operator heap ${JSON.stringify(mem.operator)}`);
    save();

    if (last) {
      ctx.operatorNodeArgs = profileArgs('restart-steady-lapse');
      const restarted = await attempt('restart (write amplification)', () =>
        runRestart(ctx, op, quick ? 10_000 : 20_000),
      );
      ctx.operatorNodeArgs = [];
      if (restarted) {
        results.restart = restarted.result;
        op = restarted.op;
      }
      writeProfile('startup', 'startup sync until stopped for the restart');
      save();
      results.steady = await attempt('steady state', () => runSteady(ctx, op, steadyRate, steadySeconds));
      save();
      results.lapse = await attempt('lapse', () => runLapse(ctx, lapseCount, lapseLead));
      save();
    }
    await op.stop();
    if (last) writeProfile('restart-steady-lapse', 'restart, steady state and lapse');
    log(`  peer informer at ${await countPods(api)} pods`);
    mem.peer = await attempt(`memory at N = ${size} (peer)`, () => runPeer(ctx));
    results.memory.push(mem);
    save();
  }
  if (!withOperator) results.notes.push('run with --floors-only: no operator figures');
} finally {
  save();
  log(`wrote ${join(outDir, 'RESULTS.md')} and results.json`);
  await cleanup();
  if (values['keep-work'] || results.errors.length > 0) log(`operator log, audit log and profiles kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}
// A watch or timer left behind must not keep a finished bench alive.
process.exit(0);
void deleteNamespaces;
