// `npm run bench:nodes [-- options]`: the operator in a cluster with simulated nodes (KWOK), host
// network DaemonSets on every node, Deployments, and KWOK updating every running pod's status at a
// set interval (bench/phases/nodes.ts). Starts its own cluster and stops it; writes
// bench/results/nodes-world.json and bench/results/nodes-world.md.
//
//   npm run bench:nodes                                  1,000 nodes, 50,000 pods (the documented size)
//   npm run bench:nodes -- --nodes 50 --pods 2000        a small run (minutes)
//   options: --daemonsets 2 --replicas 500 --pod-heartbeat 300s --churn-seconds 60 --lapse-lead 60
//            --patch-concurrency 16 --out bench/results
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../tools/controlplane/controlplane.ts';
import { parseNodeCount } from '../tools/controlplane/nodes.ts';
import { parseHeartbeatInterval } from '../tools/controlplane/pod-heartbeat.ts';
import { Api } from './minimal-client.ts';
import { renderWorld, type NodesWorldReport } from './nodes-report.ts';
import { OperatorProcess } from '../tools/operator-process.ts';
import { buildWorld, runChurn, runStartup, runWorldLapse, type NodesWorldOptions } from './phases/nodes.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '50000' },
    daemonsets: { type: 'string', default: '2' },
    replicas: { type: 'string', default: '500' },
    'pod-heartbeat': { type: 'string', default: '300s' },
    'churn-seconds': { type: 'string', default: '60' },
    'lapse-lead': { type: 'string', default: '60' },
    'patch-concurrency': { type: 'string', default: '16' },
    out: { type: 'string', default: 'bench/results' },
  },
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

const nodes = parseNodeCount(values.nodes);
const options: Omit<NodesWorldOptions, 'adminKubeconfig' | 'startOperator'> = {
  nodes,
  daemonSets: whole(values.daemonsets, '--daemonsets'),
  pods: whole(values.pods, '--pods', 0),
  replicasPerDeployment: whole(values.replicas, '--replicas'),
  heartbeatMs: parseHeartbeatInterval(values['pod-heartbeat']),
  churnSeconds: whole(values['churn-seconds'], '--churn-seconds'),
  lapseLeadSeconds: whole(values['lapse-lead'], '--lapse-lead', 10),
  patchConcurrency: whole(values['patch-concurrency'], '--patch-concurrency'),
  log,
};
if (!nodes) throw new Error('--nodes: the nodes world needs at least one node');

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
  errors: [],
};

function save(): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'nodes-world.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'nodes-world.md'), renderWorld(report));
}

log(`starting a cluster with ${nodes} nodes, pod heartbeat ${options.heartbeatMs / 1000} s; work dir ${workDir}`);
const cp = await ControlPlane.start({ nodes, podStatusHeartbeatMs: options.heartbeatMs });
let op: OperatorProcess | undefined;
try {
  execFileSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'apply', '-f', 'crds/'], { stdio: 'ignore' });
  execFileSync(
    'kubectl',
    ['--kubeconfig', cp.kubeconfigPath, 'wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'],
    { stdio: 'ignore' },
  );
  const api = Api.fromKubeconfig(cp.kubeconfigPath, 64);
  const world: NodesWorldOptions = {
    ...options,
    adminKubeconfig: cp.kubeconfigPath,
    startOperator: () =>
      OperatorProcess.start({
        kubeconfig: cp.kubeconfigPath,
        logFile: join(workDir, 'operator.log'),
        logLevel: 'warn',
        args: ['--max-concurrent-reconciles', String(options.patchConcurrency)],
      }),
  };
  log(`creating ${options.daemonSets} DaemonSets and Deployments up to ${options.pods} pods`);
  report.world = await buildWorld(api, world);
  log(`world: ${JSON.stringify(report.world)}`);
  save();
  const startup = await runStartup(api, world);
  op = startup.op;
  report.startup = startup.result;
  save();
  log('churn window');
  report.churn = await runChurn(op, world);
  log(`churn: ${JSON.stringify(report.churn)}`);
  save();
  log('lapse');
  report.lapse = await runWorldLapse(api, op, world);
  log(`lapse: ${JSON.stringify(report.lapse)}`);
  api.close();
} catch (err) {
  report.errors.push((err as Error).message);
  log(`ERROR ${(err as Error).message}`);
} finally {
  save();
  await op?.stop();
  await cp.stop();
  if (report.errors.length) log(`operator log kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  log(`wrote ${join(outDir, 'nodes-world.md')}`);
}
process.exit(report.errors.length ? 1 : 0);
