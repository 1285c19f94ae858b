// `npm run bench:nodes [-- options]`: the operator in a cluster with simulated nodes (KWOK), host
// network DaemonSets on every node, Deployments, and KWOK updating every running pod's status at a
// set interval (bench/phases/nodes.ts). Starts its own cluster and stops it; writes
// bench/results/nodes-world.json and bench/results/nodes-world.md, and the nodes world section of
// RESULTS.md when bench/results holds a results.json.
//
//   npm run bench:nodes                  1,000 nodes, 50,000 pods (3 host-network DaemonSets), heartbeat 600 s, 3 trials
//   npm run bench:nodes -- --quick       100 nodes, 3,000 pods, heartbeat 30 s, 1 trial (minutes)
//   npm run bench:nodes -- --nodes 1000 --pods 6000 --build-only --tuning nodes   pods/s of a tuning
//   options: --daemonsets 3 --replicas 500 --pod-heartbeat 600s --churn-seconds 60 --lapse-lead 20
//            --trials 3 --patch-concurrency 16 --tuning large|nodes --out bench/results
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../tools/controlplane/controlplane.ts';
import { parseNodeCount } from '../tools/controlplane/nodes.ts';
import { parseHeartbeatInterval } from '../tools/controlplane/pod-heartbeat.ts';
import { installCrds } from '../tools/controlplane/crds.ts';
import { Api } from './minimal-client.ts';
import { renderWorld, worldSection, type NodesWorldReport } from './nodes-report.ts';
import { renderReport, type BenchResults } from './report.ts';
import { LARGE_CLUSTER_TUNING, NODES_TUNING } from '../tools/controlplane/tuning.ts';
import { CpuMeter } from './procstat.ts';
import { productionForm } from './production.ts';
import { NODE } from './phases/common.ts';
import { OperatorProcess } from '../tools/operator-process.ts';
import {
  buildWorld,
  componentCosts,
  runChurn,
  runStartup,
  runWorldLapse,
  type NodesWorldOptions,
} from './phases/nodes.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
    nodes: { type: 'string' },
    pods: { type: 'string' },
    daemonsets: { type: 'string', default: '3' },
    replicas: { type: 'string', default: '500' },
    'pod-heartbeat': { type: 'string' },
    'churn-seconds': { type: 'string' },
    'lapse-lead': { type: 'string' },
    trials: { type: 'string' },
    'build-timeout': { type: 'string', default: '0' },
    'build-window': { type: 'string', default: '3000' },
    'patch-concurrency': { type: 'string', default: '16' },
    tuning: { type: 'string', default: 'large' },
    out: { type: 'string', default: 'bench/results' },
  },
});
/** --quick: a world small enough for a developer's machine in a few minutes (no verdicts: 1 trial). */
const q = values.quick;
const TUNINGS = { large: LARGE_CLUSTER_TUNING, nodes: NODES_TUNING };

/** Thrown to end the run early and still report what was measured: --build-only, or SIGINT/SIGTERM. */
class Stop extends Error {}
/**
 * The first SIGINT or SIGTERM stops the run after the step under way (the report keeps every
 * finished trial, the cluster is stopped); a second one ends it at once.
 */
let stopAsked: string | undefined;
const checkpoint = () => {
  if (stopAsked) throw new Stop(stopAsked);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (stopAsked) process.exit(130);
    stopAsked = `stopped by ${signal} after the step under way`;
    log(`${signal}: stopping after the step under way (again to stop now)`);
  });

function whole(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min) throw new Error(`${flag}: expected a whole number >= ${min}, got "${text}"`);
  return n;
}

const started = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[bench:nodes ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
const workDir = mkdtempSync(join(tmpdir(), 'hostns-bench-nodes-'));
const outDir = resolve(values.out);

const nodes = parseNodeCount(values.nodes ?? (q ? '100' : '1000'));
if (!(values.tuning in TUNINGS)) throw new Error(`--tuning: expected large or nodes, got "${values.tuning}"`);
const tuningName = values.tuning as keyof typeof TUNINGS;
const options: Omit<NodesWorldOptions, 'adminKubeconfig' | 'startOperator' | 'clusterPids'> & { tuning: string } = {
  nodes,
  daemonSets: whole(values.daemonsets, '--daemonsets'),
  pods: whole(values.pods ?? (q ? '3000' : '50000'), '--pods', 0),
  replicasPerDeployment: whole(values.replicas, '--replicas'),
  heartbeatMs: parseHeartbeatInterval(values['pod-heartbeat'] ?? (q ? '30s' : '600s')),
  churnSeconds: whole(values['churn-seconds'] ?? (q ? '20' : '60'), '--churn-seconds'),
  lapseLeadSeconds: whole(values['lapse-lead'] ?? (q ? '10' : '20'), '--lapse-lead', 5),
  trials: whole(values.trials ?? (q ? '1' : '3'), '--trials'),
  buildTimeoutSeconds: whole(values['build-timeout'], '--build-timeout', 0),
  buildWindow: whole(values['build-window'], '--build-window'),
  patchConcurrency: whole(values['patch-concurrency'], '--patch-concurrency'),
  tuning: tuningName,
  log,
};
if (!nodes) throw new Error('--nodes: the nodes world needs at least one node');
if (nodes * options.daemonSets > options.pods)
  throw new Error(`--pods: ${options.pods} is fewer than the DaemonSets' ${nodes * options.daemonSets} pods`);

// The operator as config/manager runs it (dist/main.js, its NODE_OPTIONS and flags).
const form = productionForm();
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim() ? ' + working tree' : '';
const report: NodesWorldReport = {
  date: new Date().toISOString(),
  command: `npm run bench:nodes${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  commit: `${commit}${dirty}`,
  machine: `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB; load at start ${loadavg()
    .map((v) => v.toFixed(2))
    .join(', ')}`,
  options,
  operator: `${Object.entries(form.env)
    .map(([k, v]) => `${k}=${v} `)
    .join('')}node ${form.nodeArgs.join(' ')} ${form.entry}`,
  errors: [],
};

function save(): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'nodes-world.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'nodes-world.md'), renderWorld(report));
  // RESULTS.md carries the nodes world's figures: re-rendered from the bench's own results.json.
  const bench = join(outDir, 'results.json');
  if (existsSync(bench)) {
    const results = JSON.parse(readFileSync(bench, 'utf8')) as BenchResults;
    writeFileSync(join(outDir, 'RESULTS.md'), `${renderReport(results, worldSection(report))}\n`);
  }
}

log(
  `starting a cluster with ${nodes} nodes, pod heartbeat ${options.heartbeatMs / 1000} s, tuning ${tuningName}; ` +
    `work dir ${workDir}`,
);
// The world is built without the cluster-wide heartbeat, which is turned on once it stands: at tens
// of thousands of pods the heartbeat alone takes what KWOK can patch here, and new pods would wait.
const cp = await ControlPlane.start({ nodes, tuning: TUNINGS[tuningName] });
let clusterCpu = new CpuMeter(cp.processIds());
let op: OperatorProcess | undefined;
try {
  installCrds(cp.kubeconfigPath);
  const api = Api.fromKubeconfig(cp.kubeconfigPath, 64);
  const world: NodesWorldOptions = {
    ...options,
    adminKubeconfig: cp.kubeconfigPath,
    clusterPids: cp.processIds(),
    startOperator: () =>
      OperatorProcess.start({
        node: NODE,
        entry: form.entry,
        kubeconfig: cp.kubeconfigPath,
        logFile: join(workDir, 'operator.log'),
        logLevel: 'warn',
        // Without leader election: its Lease renewals would count as writes in the churn windows.
        args: [
          ...form.args.filter((a) => a !== '--leader-elect' && !a.startsWith('--log-level')),
          '--max-concurrent-reconciles',
          String(options.patchConcurrency),
        ],
        nodeArgs: form.nodeArgs,
        env: form.env,
      }),
  };
  log(`creating ${options.daemonSets} DaemonSets and Deployments up to ${options.pods} pods`);
  report.world = await buildWorld(api, world);
  log(`world: ${JSON.stringify(report.world)}`);
  save();
  if (values['build-only']) throw new Stop('--build-only: stopped once the world was built');
  checkpoint();
  await cp.setPodHeartbeat(options.heartbeatMs);
  // The first beats come between half an interval and one and a half after KWOK's restart.
  const beatsFrom = Date.now() + options.heartbeatMs / 2;
  world.clusterPids = cp.processIds();
  clusterCpu = new CpuMeter(world.clusterPids);
  log(`pod heartbeat on: KWOK restarted, every running pod's status about every ${options.heartbeatMs / 1000} s`);
  const startup = await runStartup(api, world);
  op = startup.op;
  report.startup = startup.result;
  save();
  report.churnTrials = [];
  const quietMs = beatsFrom + 60_000 - Date.now();
  if (quietMs > 0) {
    log(`waiting ${Math.round(quietMs / 1000)} s for the first heartbeats before the churn windows`);
    await new Promise((r) => setTimeout(r, quietMs));
  }
  for (let t = 1; t <= options.trials; t++) {
    checkpoint();
    log(`churn window ${t} of ${options.trials}`);
    const churn = await runChurn(op, world);
    report.churnTrials.push(churn);
    log(`  churn: ${JSON.stringify(churn)}`);
    save();
  }
  report.lapseTrials = [];
  let previous = 'node-agent';
  for (let t = 0; t < options.trials; t++) {
    checkpoint();
    log(`lapse ${t + 1} of ${options.trials}`);
    const lapse = await runWorldLapse(api, op, world, t, previous);
    previous = `node-agent-lapsing-${t}`;
    report.lapseTrials.push(lapse);
    log(`  lapse: ${JSON.stringify(lapse)}`);
    save();
  }
  api.close();
} catch (err) {
  if (err instanceof Stop) report.notes = [...(report.notes ?? []), err.message];
  else {
    report.errors.push((err as Error).message);
    log(`ERROR ${(err as Error).message}`);
  }
} finally {
  report.clusterMemory = componentCosts(cp.processIds(), clusterCpu);
  save();
  await op?.stop();
  await cp.stop();
  if (report.errors.length) log(`operator log kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  log(`wrote ${join(outDir, 'nodes-world.md')}`);
}
process.exit(report.errors.length ? 1 : 0);
