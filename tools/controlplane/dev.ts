// `npm run dev`: the whole product in one command. Starts the local control plane, installs the
// CRDs, applies the samples (expiry set 30 days ahead) into namespace `demo` with three demo pods
// (covered, offender, clean), and runs the operator against it until Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import { DateTime } from 'luxon';
import { parseAllDocuments } from 'yaml';
import { ControlPlane } from './controlplane.ts';

const cp = await ControlPlane.start({ verbose: true });
const kubectl = (args: string[], input?: string) =>
  execFileSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });

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
  kubectl(['apply', '-f', 'crds/']);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=hostns-operator']);
  kubectl(['create', 'namespace', 'demo']);
  const expiresAt = DateTime.utc().plus({ days: 30 }).startOf('second').toISO({ suppressMilliseconds: true });
  const samples = parseAllDocuments(kubectl(['kustomize', 'config/samples']))
    .map((d) => d.toJS())
    .filter((o) => o?.kind === 'HostNamespaceException')
    .map((o) => ({ ...o, spec: { ...o.spec, expiresAt } }));
  const pod = (name: string, labels: Record<string, string>, spec: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { ...spec, containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'sleep 3600'] }] },
  });
  const pods = [
    pod('node-exporter', { 'app.kubernetes.io/name': 'node-exporter' }, { hostNetwork: true, hostPID: true }),
    pod('diagnostics', { app: 'diagnostics' }, { hostNetwork: true, hostPID: true, hostIPC: true }),
    pod('web', { app: 'web' }, {}),
  ];
  kubectl(['apply', '-n', 'demo', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...samples, ...pods] }));
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
    '  kubectl get pods -A -l hostns.io/violation=true      # the offenders',
    '  kubectl get events -n demo                           # Activated, HostNamespaceViolation, ...',
    '',
  ].join('\n'),
);
operator = spawn(process.execPath, ['src/main.ts', '--kubeconfig', cp.kubeconfigPath, '--http-port', process.env.HOSTNS_HTTP_PORT ?? '8080'], { stdio: 'inherit' });
operator.on('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`operator exited with ${code}\n`);
    void stop('operator exit');
  }
});
