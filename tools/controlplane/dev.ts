// `npm run dev [-- --nodes N]`: the whole product in one command. Starts the local cluster with
// 3 simulated nodes (N; 0 for the control plane only), installs the CRDs, applies the samples
// (expiry set 30 days ahead) into namespace `demo` with a node-exporter DaemonSet (covered, one pod
// per node), a diagnostics pod (offender) and a web Deployment (clean), and runs the operator
// against it until Ctrl-C. Without nodes the DaemonSet and Deployment are bare pods.
import { execFileSync, spawn } from 'node:child_process';
import { installCrds } from './crds.ts';
import { parseArgs } from 'node:util';
import { DateTime } from 'luxon';
import { parseAllDocuments } from 'yaml';
import { ControlPlane } from './controlplane.ts';
import { parseNodeCount } from './nodes.ts';

let nodes: number;
try {
  const { values } = parseArgs({ options: { nodes: { type: 'string', default: '3' } } });
  nodes = parseNodeCount(values.nodes);
} catch (err) {
  process.stderr.write(`npm run dev: ${(err as Error).message}\nusage: npm run dev [-- --nodes N]\n`);
  process.exit(2);
}
const cp = await ControlPlane.start({ verbose: true, nodes });
const kubectl = (args: string[], input?: string) =>
  execFileSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
  });

// eslint-disable-next-line prefer-const -- assigned once the control plane is up, read by stop() before that
let operator: ReturnType<typeof spawn> | undefined;
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${signal}: stopping the operator and the control plane\n`);
  if (operator && operator.exitCode === null) {
    const exited = new Promise((r) => operator!.once('exit', r));
    operator.kill('SIGTERM');
    await exited;
  }
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  installCrds(cp.kubeconfigPath);
  kubectl(['create', 'namespace', 'demo']);
  // With nodes, the ServiceAccount admission plugin refuses pods until the namespace has one.
  if (nodes) kubectl(['wait', '--for=create', '--timeout=60s', '-n', 'demo', 'serviceaccount/default']);
  const expiresAt = DateTime.utc().plus({ days: 30 }).startOf('second').toISO({ suppressMilliseconds: true });
  const samples = parseAllDocuments(kubectl(['kustomize', 'config/samples']))
    .map((d) => d.toJS())
    .filter((o) => o?.kind === 'HostNamespaceException')
    .map((o) => ({ ...o, spec: { ...o.spec, expiresAt } }));
  const podSpec = (spec: Record<string, unknown>) => ({
    ...spec,
    containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'sleep 3600'] }],
  });
  const pod = (name: string, labels: Record<string, string>, spec: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: podSpec(spec),
  });
  const workload = (kind: string, name: string, labels: Record<string, string>, spec: Record<string, unknown>) => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, labels },
    spec: {
      ...(kind === 'Deployment' ? { replicas: 2 } : {}),
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec(spec) },
    },
  });
  const exporter = { 'app.kubernetes.io/name': 'node-exporter' };
  // Keeps the node-exporter sample's contract: its ServiceAccount, its image, and the six controls
  // it enforces (config/samples/node-exporter.yaml), so it is covered; the others are offenders.
  const hostAgent = {
    hostNetwork: true,
    hostPID: true,
    serviceAccountName: 'node-exporter',
    securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
  };
  const exporterSpec = {
    ...hostAgent,
    containers: [
      {
        name: 'node-exporter',
        image: 'quay.io/prometheus/node-exporter:v1.9.1',
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        },
      },
    ],
  };
  const exporterObject = nodes
    ? {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'node-exporter', labels: exporter },
        spec: { selector: { matchLabels: exporter }, template: { metadata: { labels: exporter }, spec: exporterSpec } },
      }
    : { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'node-exporter', labels: exporter }, spec: exporterSpec };
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'node-exporter' } },
    exporterObject,
    pod('diagnostics', { app: 'diagnostics' }, { hostNetwork: true, hostPID: true, hostIPC: true }),
    nodes ? workload('Deployment', 'web', { app: 'web' }, {}) : pod('web', { app: 'web' }, {}),
  ];
  kubectl(
    ['apply', '-n', 'demo', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...samples, ...objects] }),
  );
} catch (err) {
  process.stderr.write(`npm run dev: setting up the demo failed: ${(err as Error).message}\n`);
  await cp.stop();
  process.exit(1);
}

process.stdout.write(`KUBECONFIG=${cp.kubeconfigPath}\n`);
process.stderr.write(
  [
    'demo namespace ready. In another terminal:',
    `  export KUBECONFIG=${cp.kubeconfigPath}`,
    '  kubectl get hnse -A                                  # the exception register',
    '  kubectl get nodes; kubectl get pods -n demo -o wide  # simulated nodes, pods Running on them',
    '  kubectl get pods -A -l hostns.io/violation=true      # the offenders',
    '  kubectl get events -n demo                           # Activated, HostNamespaceViolation, ...',
    '',
  ].join('\n'),
);
operator = spawn(
  process.execPath,
  ['src/main.ts', '--kubeconfig', cp.kubeconfigPath, '--http-port', process.env.HOSTNS_HTTP_PORT ?? '8080'],
  { stdio: 'inherit' },
);
operator.on('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`operator exited with ${code}\n`);
    void stop('operator exit');
  }
});
