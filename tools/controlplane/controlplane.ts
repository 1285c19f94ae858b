// A real, local Kubernetes control plane: etcd + kube-apiserver on loopback, as envtest starts
// them. Used by the test suite (one per run), by `npm run cluster` and by `npm run dev`.
//
// No kubelet, scheduler or controller-manager: pods are stored and stay Pending. The ServiceAccount
// admission plugin is disabled (as envtest does) because without the controller-manager no
// namespace ever gets its `default` ServiceAccount, and that plugin would refuse every pod.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface ControlPlaneOptions {
  /** Extra kube-apiserver flags (`--flag=value`). */
  apiserverArgs?: string[];
  /**
   * A data dir to keep: etcd's data, the certificates and the ports survive stop(), and a later
   * start with the same dir serves the same cluster (benchmark fixtures are reused this way).
   * Default: a fresh temporary dir, removed on stop.
   */
  keepDir?: string;
  /** Log progress to stderr. */
  verbose?: boolean;
}

/** Builds (first time only) or finds the binaries; returns the folder holding both. */
export function controlPlaneAssets(): string {
  try {
    return execFileSync('bash', [join(here, 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch {
    throw new Error('could not build or find kube-apiserver and etcd: see the message above (tools/controlplane/build.sh)');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throwaway CA, a serving certificate for 127.0.0.1, and an admin client certificate. */
function writeCertificates(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=hostns-test-ca']);
  writeFileSync(join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'serving.key', '-out', 'serving.csr', '-subj', '/CN=kube-apiserver']);
  openssl(dir, ['x509', '-req', '-in', 'serving.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'serving.ext', '-out', 'serving.crt']);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  // O=system:masters: the admin bypasses RBAC, as a cluster-admin kubeconfig does.
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', '/O=system:masters/CN=hostns-admin']);
  openssl(dir, ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'client.ext', '-out', 'admin.crt']);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

function kubeconfigYaml(dir: string, server: string): string {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hostns-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    '- name: hostns-admin',
    '  user:',
    `    client-certificate-data: ${b64('admin.crt')}`,
    `    client-key-data: ${b64('admin.key')}`,
    'contexts:',
    '- name: hostns-local',
    '  context:',
    '    cluster: hostns-local',
    '    user: hostns-admin',
    'current-context: hostns-local',
    '',
  ].join('\n');
}

export class ControlPlane {
  readonly dir: string;
  readonly kubeconfigPath: string;
  server = '';
  private etcd?: ChildProcess;
  private apiserver?: ChildProcess;
  private controllerManager?: ChildProcess;
  private watchdog?: ChildProcess;
  private stopped = false;
  private readonly keep: boolean;

  private constructor(dir: string, keep: boolean) {
    this.dir = dir;
    this.keep = keep;
    this.kubeconfigPath = join(dir, 'kubeconfig');
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const assets = controlPlaneAssets();
    if (options.keepDir) mkdirSync(options.keepDir, { recursive: true });
    const cp = new ControlPlane(options.keepDir ?? mkdtempSync(join(tmpdir(), 'hostns-cp-')), !!options.keepDir);
    try {
      await cp.boot(assets, options);
      return cp;
    } catch (err) {
      const logs = ['etcd.log', 'kube-apiserver.log', 'kube-controller-manager.log']
        .map((f) => join(cp.dir, f))
        .filter(existsSync)
        .map((f) => `--- ${f} (last lines)\n${readFileSync(f, 'utf8').split('\n').slice(-25).join('\n')}`)
        .join('\n');
      await cp.stop();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
  }

  private async boot(assets: string, options: ControlPlaneOptions): Promise<void> {
    const log = (msg: string) => options.verbose && process.stderr.write(`${msg}\n`);
    // A kept dir reuses its certificates and ports (etcd remembers its peer URL in its data).
    const portsFile = join(this.dir, 'ports.json');
    const kept = this.keep && existsSync(join(this.dir, 'admin.crt')) && existsSync(portsFile);
    if (!kept) writeCertificates(this.dir);
    const [etcdClient, etcdPeer, securePort] = kept
      ? (JSON.parse(readFileSync(portsFile, 'utf8')) as number[])
      : [await freePort(), await freePort(), await freePort()];
    if (this.keep) writeFileSync(portsFile, JSON.stringify([etcdClient, etcdPeer, securePort]));
    if (kept) log(`reusing the cluster kept in ${this.dir}`);

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    this.etcd = this.spawnLogged(join(assets, 'etcd'), [
      '--name=default',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=8589934592',
      '--log-level=warn',
    ], 'etcd.log');
    log(`etcd on ${etcdUrl}`);

    this.server = `https://127.0.0.1:${securePort}`;
    const d = (f: string) => join(this.dir, f);
    this.apiserver = this.spawnLogged(join(assets, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--cert-dir=${d('certs')}`,
      `--tls-cert-file=${d('serving.crt')}`,
      `--tls-private-key-file=${d('serving.key')}`,
      `--client-ca-file=${d('ca.crt')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${d('sa.pub')}`,
      `--service-account-signing-key-file=${d('sa.key')}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      ...(options.apiserverArgs ?? []),
    ], 'kube-apiserver.log');
    this.startWatchdog();
    writeFileSync(this.kubeconfigPath, kubeconfigYaml(this.dir, this.server), { mode: 0o600 });

    const deadline = Date.now() + 90_000;
    while (!(await this.get('/readyz')) || !(await this.get('/api/v1/namespaces/default'))) {
      if (this.apiserver.exitCode !== null) throw new Error(`kube-apiserver exited with code ${this.apiserver.exitCode}`);
      if (this.etcd.exitCode !== null) throw new Error(`etcd exited with code ${this.etcd.exitCode}`);
      if (Date.now() > deadline) throw new Error('kube-apiserver was not ready within 90 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`kube-apiserver ready on ${this.server}`);

    // Only the controllers that make RBAC and namespaces behave as in a real cluster: ClusterRole
    // aggregation (so `view` picks up our viewer role) and namespace deletion.
    const kcm = join(assets, 'kube-controller-manager');
    if (existsSync(kcm)) {
      this.controllerManager = this.spawnLogged(kcm, [
        `--kubeconfig=${this.kubeconfigPath}`,
        '--controllers=clusterrole-aggregation,namespace',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        '--use-service-account-credentials=false',
      ], 'kube-controller-manager.log');
      this.startWatchdog();
      log('kube-controller-manager started (clusterrole-aggregation, namespace)');
    }
  }

  private spawnLogged(bin: string, args: string[], logFile: string): ChildProcess {
    const out = createWriteStream(join(this.dir, logFile));
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    child.on('error', (err) => out.write(`spawn failed: ${err.message}\n`));
    return child;
  }

  /**
   * A detached shell that outlives a SIGKILLed parent: when the parent is gone it stops etcd and
   * kube-apiserver and removes the data dir, so no process nor temp dir is ever left behind.
   */
  private startWatchdog(): void {
    this.watchdog?.kill('SIGKILL'); // re-armed with every new child
    const pids = [this.etcd?.pid, this.apiserver?.pid, this.controllerManager?.pid].filter(Boolean).join(' ');
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
for p in ${pids}; do kill -TERM "$p" 2>/dev/null; done; sleep 2
for p in ${pids}; do kill -KILL "$p" 2>/dev/null; done; ${this.keep ? '' : 'rm -rf "$DIR"'}`;
    this.watchdog = spawn('bash', ['-c', script], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DIR: this.dir },
    });
    this.watchdog.unref();
  }

  /** GET with the admin certificate; true on 2xx. */
  private get(path: string): Promise<boolean> {
    const d = (f: string) => readFileSync(join(this.dir, f));
    return new Promise((resolve) => {
      const req = request(
        `${this.server}${path}`,
        { ca: d('ca.crt'), cert: d('admin.crt'), key: d('admin.key'), timeout: 2000 },
        (res) => {
          res.resume();
          resolve((res.statusCode ?? 500) < 300);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  /** Stops kube-apiserver then etcd and removes the data dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const child of [this.controllerManager, this.apiserver, this.etcd]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    this.watchdog?.kill('SIGKILL');
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }

}
