// A real, local Kubernetes cluster on loopback, in two sizes. Used by the test suite, by
// `npm run cluster` and `npm run dev`, and by the benchmarks.
//
// - Control plane only (default, the cheaper one): etcd + kube-apiserver as envtest starts them,
//   plus kube-controller-manager with two controllers (ClusterRole aggregation, namespace
//   deletion). Pods are stored and stay Pending; the ServiceAccount admission plugin is disabled
//   (as envtest does) because no controller creates a namespace's `default` ServiceAccount.
// - Nodes mode (`nodes: N`): the same plus kube-scheduler, kube-controller-manager with all its
//   default controllers (workloads, garbage collector, namespace, ServiceAccounts and tokens,
//   node lifecycle) and KWOK simulating N nodes and their kubelets: pods are scheduled, go
//   Running, and are recreated by their controllers. The ServiceAccount admission plugin is on.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeNode, fakeNodeName } from './nodes.ts';
import { podHeartbeatStages } from './pod-heartbeat.ts';
import {
  apiserverTuningArgs,
  controllerManagerTuningArgs,
  kwokConfigYaml,
  podStartStages,
  resolveTuning,
  schedulerConfigYaml,
  type ClusterTuning,
} from './tuning.ts';

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
  /**
   * Simulated nodes (KWOK), with kube-scheduler and every default kube-controller-manager
   * controller. 0 (default): the control plane only. With a kept dir, existing nodes are reused.
   */
  nodes?: number;
  /**
   * Nodes mode: every running pod's status is updated about once per this many milliseconds (at
   * least 1000), as a kubelet's probes do (pod-heartbeat.ts). Default: only pods that ask for it
   * with the annotation `pod-heartbeat.stage.kwok.x-k8s.io/delay`.
   */
  podStatusHeartbeatMs?: number;
  /**
   * Nodes mode: client rates, worker counts and how KWOK starts pods (tuning.ts); what is not
   * given keeps NODES_TUNING, the test suite's.
   */
  tuning?: Partial<ClusterTuning>;
}

function buildOrFind(args: string[], what: string): string {
  try {
    return execFileSync('bash', [join(here, 'build.sh'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch {
    throw new Error(`could not build or find ${what}: see the message above (tools/controlplane/build.sh)`);
  }
}

/** Builds (first time only) or finds the binaries; returns the folder holding kube-apiserver and etcd. */
export function controlPlaneAssets(): string {
  return buildOrFind([], 'kube-apiserver and etcd');
}

/** The folder holding kube-controller-manager, kube-scheduler, kwok and kwok-stages.yaml. */
export function nodeAssets(): string {
  return buildOrFind(['--nodes'], 'kube-controller-manager, kube-scheduler and KWOK');
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

/**
 * A throwaway CA, a serving certificate for 127.0.0.1 (serving.crt, serving.key), and an admin
 * client certificate, in `dir`. Also used by tests that need a TLS server of their own.
 */
export function writeCertificates(dir: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=hostns-test-ca',
  ]);
  writeFileSync(join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'serving.key',
    '-out',
    'serving.csr',
    '-subj',
    '/CN=kube-apiserver',
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'serving.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'serving.ext',
    '-out',
    'serving.crt',
  ]);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  // O=system:masters: the admin bypasses RBAC, as a cluster-admin kubeconfig does.
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'admin.key',
    '-out',
    'admin.csr',
    '-subj',
    '/O=system:masters/CN=hostns-admin',
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'admin.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'client.ext',
    '-out',
    'admin.crt',
  ]);
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
  /** etcd's client URL (tests compact its history on demand through its JSON gateway). */
  etcdUrl = '';
  /** The simulated nodes (nodes mode), by name. */
  readonly nodeNames: string[] = [];
  /** The processes, in start order, and how each was started; stop() ends them in reverse. */
  private readonly components: { name: string; child: ChildProcess; bin: string; args: string[] }[] = [];
  private watchdog?: ChildProcess;
  private stopped = false;
  private readonly keep: boolean;
  private tuning = resolveTuning();
  /** KWOK's stages file without the cluster-wide heartbeat (setPodHeartbeat rewrites the rest). */
  private kwokStagesBase?: string;
  /** The simulated kubelets' Lease duration. */
  private nodeLeaseSeconds = 40;

  private constructor(dir: string, keep: boolean) {
    this.dir = dir;
    this.keep = keep;
    this.kubeconfigPath = join(dir, 'kubeconfig');
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const assets = controlPlaneAssets();
    const tools = options.nodes ? nodeAssets() : undefined;
    if (options.keepDir) mkdirSync(options.keepDir, { recursive: true });
    const cp = new ControlPlane(options.keepDir ?? mkdtempSync(join(tmpdir(), 'hostns-cp-')), !!options.keepDir);
    cp.tuning = resolveTuning(options.tuning);
    try {
      await cp.boot(assets, tools, options);
      return cp;
    } catch (err) {
      const logs = cp.components
        .map((c) => join(cp.dir, `${c.name}.log`))
        .filter(existsSync)
        .map((f) => `--- ${f} (last lines)\n${readFileSync(f, 'utf8').split('\n').slice(-25).join('\n')}`)
        .join('\n');
      await cp.stop();
      throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
    }
  }

  private async boot(assets: string, tools: string | undefined, options: ControlPlaneOptions): Promise<void> {
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
    this.etcdUrl = etcdUrl;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const etcd = this.spawnLogged('etcd', join(assets, 'etcd'), [
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
    ]);
    log(`etcd on ${etcdUrl}`);

    this.server = `https://127.0.0.1:${securePort}`;
    const d = (f: string) => join(this.dir, f);
    const apiserverArgs = [
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
      // With the controllers every namespace gets its `default` ServiceAccount, as the plugin needs.
      ...(tools ? apiserverTuningArgs(this.tuning) : ['--disable-admission-plugins=ServiceAccount']),
      ...(options.apiserverArgs ?? []),
    ];
    const apiserver = this.spawnLogged('kube-apiserver', join(assets, 'kube-apiserver'), apiserverArgs);
    writeFileSync(this.kubeconfigPath, kubeconfigYaml(this.dir, this.server), { mode: 0o600 });

    await this.apiserverReady(apiserver, etcd);
    log(`kube-apiserver ready on ${this.server}`);

    if (tools) {
      await this.startNodes(tools, options.nodes ?? 0, options.podStatusHeartbeatMs, log);
      return;
    }
    // Only the controllers that make RBAC and namespaces behave as in a real cluster: ClusterRole
    // aggregation (so `view` picks up our viewer role) and namespace deletion.
    const kcm = join(assets, 'kube-controller-manager');
    if (existsSync(kcm)) {
      this.spawnLogged('kube-controller-manager', kcm, [
        ...(await this.componentArgs()),
        '--controllers=clusterrole-aggregation,namespace',
        '--use-service-account-credentials=false',
      ]);
      log('kube-controller-manager started (clusterrole-aggregation, namespace)');
    }
  }

  private async apiserverReady(apiserver: ChildProcess, etcd?: ChildProcess): Promise<void> {
    const deadline = Date.now() + 90_000;
    while (!(await this.ok('/readyz')) || !(await this.ok('/api/v1/namespaces/default'))) {
      if (apiserver.exitCode !== null) throw new Error(`kube-apiserver exited with code ${apiserver.exitCode}`);
      if (etcd && etcd.exitCode !== null) throw new Error(`etcd exited with code ${etcd.exitCode}`);
      if (Date.now() > deadline) throw new Error('kube-apiserver was not ready within 90 s');
      await sleep(250);
    }
  }

  /**
   * Stops kube-apiserver (SIGTERM, as a rolling upgrade does), runs `whileDown`, starts it again
   * with the same flags and waits until it is ready. Its watch cache starts empty: with etcd's
   * history compacted meanwhile (compactEtcd), every watch resumed at an older resourceVersion is
   * answered 410 and its client must relist. Returns when the new server was ready (ms epoch).
   */
  async restartApiserver(whileDown?: () => Promise<void>): Promise<number> {
    const next = await this.restartComponent('kube-apiserver', whileDown);
    await this.apiserverReady(next);
    return Date.now();
  }

  /**
   * Sets the cluster-wide pod status heartbeat (pod-heartbeat.ts; undefined: annotated pods only)
   * by restarting KWOK with the new stages. KWOK keeps no state of its own: it lists the nodes and
   * pods again and goes on; but it plays stages only on pods it gets an event for once it holds
   * their node, so a pod that does not change after the restart may get no heartbeat (seen at
   * 50,000 pods: ~6 beats a second where 83 were due). The bench builds its world without a heartbeat and turns it on after:
   * at tens of thousands of pods the heartbeat alone takes what KWOK can patch on a small machine,
   * and new pods would wait behind it.
   */
  async setPodHeartbeat(intervalMs: number | undefined): Promise<void> {
    if (this.kwokStagesBase === undefined) throw new Error('setPodHeartbeat: this cluster has no simulated nodes');
    writeFileSync(join(this.dir, 'kwok-stages.yaml'), this.kwokStagesBase + podHeartbeatStages(intervalMs));
    // A new KWOK process is a new Lease holder: it manages a node (and plays the stages of its pods)
    // once the old process's Lease on it expired and it took the Lease over. (Deleting the Leases
    // while it is down is no shortcut: it then takes the nodes before its pod cache has synced and
    // skips the pods already there.) So this waits until it holds the first node's Lease.
    const lease = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.nodeNames[0] ?? fakeNodeName(0)}`;
    const holder = async () => {
      const { status, body } = await this.call('GET', lease);
      return status === 200
        ? (JSON.parse(body) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity
        : undefined;
    };
    const before = await holder();
    await this.restartComponent('kwok');
    await this.waitFor(
      2 * this.nodeLeaseSeconds * 1000 + 60_000,
      'KWOK to take its nodes over',
      async () => {
        const now = await holder();
        return now !== undefined && now !== before;
      },
      1000,
    );
  }

  /** Stops component `name` (SIGTERM), runs `whileDown`, starts it again the same way. */
  private async restartComponent(name: string, whileDown?: () => Promise<void>): Promise<ChildProcess> {
    const at = this.components.findIndex((c) => c.name === name);
    if (at < 0) throw new Error(`restart: ${name} was not started by this ControlPlane`);
    const { child, bin, args } = this.components[at]!;
    await terminate(child, 30_000);
    this.components.splice(at, 1);
    await whileDown?.();
    return this.spawnLogged(name, bin, args, true);
  }

  /**
   * Writes one key to etcd (so its revision moves past every client's last resourceVersion), then
   * compacts its history up to that revision. Returns the revision.
   */
  async compactEtcd(): Promise<number> {
    const post = async <T>(path: string, body: unknown): Promise<T> => {
      const res = await fetch(`${this.etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const key = btoa('/hostns-controlplane/compaction-marker');
    const put = await post<{ header: { revision: string } }>('/v3/kv/put', { key, value: btoa(String(Date.now())) });
    const revision = Number(put.header.revision);
    await post('/v3/kv/compaction', { revision, physical: true });
    return revision;
  }

  /** Flags every component shares: the admin kubeconfig, no leader election, a private port. */
  private async componentArgs(): Promise<string[]> {
    return [
      `--kubeconfig=${this.kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
    ];
  }

  /** kube-controller-manager (all default controllers), kube-scheduler, KWOK, then `count` nodes. */
  private async startNodes(
    tools: string,
    count: number,
    heartbeatMs: number | undefined,
    log: (msg: string) => void,
  ): Promise<void> {
    const d = (f: string) => join(this.dir, f);
    const t = this.tuning;
    // KWOK's configuration, its shipped stages (pod start as tuned) and the pod heartbeat, written
    // per cluster (the heartbeat's interval is an option).
    const shipped = readFileSync(join(tools, 'kwok-stages.yaml'), 'utf8');
    const fastPodReady = readFileSync(join(here, 'kwok-pod-fast.yaml'), 'utf8');
    this.kwokStagesBase = kwokConfigYaml(t) + podStartStages(shipped, t.podStart, fastPodReady);
    writeFileSync(d('kwok-stages.yaml'), this.kwokStagesBase + podHeartbeatStages(heartbeatMs));
    writeFileSync(d('kube-scheduler.yaml'), schedulerConfigYaml(t, this.kubeconfigPath));
    // Hundreds of simulated kubelets on a small shared machine cannot all renew their Lease every
    // 10 s: nodes would flap NotReady (and their pods unready). Large clusters get a 2 min Lease
    // and 5 min before the node lifecycle controller gives a node up.
    const large = count >= 100;
    this.nodeLeaseSeconds = large ? 120 : 40;
    this.spawnLogged('kube-controller-manager', join(tools, 'kube-controller-manager'), [
      ...(await this.componentArgs()),
      ...controllerManagerTuningArgs(t),
      // Controllers act with the admin's credentials: per-controller ServiceAccounts would test
      // the bootstrap RBAC of Kubernetes, not ours.
      '--use-service-account-credentials=false',
      // The token controller signs ServiceAccount tokens with the key kube-apiserver verifies, and
      // publishes the CA in every namespace's kube-root-ca.crt ConfigMap.
      `--service-account-private-key-file=${d('sa.key')}`,
      `--root-ca-file=${d('ca.crt')}`,
      `--cluster-signing-cert-file=${d('ca.crt')}`,
      `--cluster-signing-key-file=${d('ca.key')}`,
      ...(large ? ['--node-monitor-grace-period=300s'] : []),
    ]);
    // Its kubeconfig and client rates are in the file (with --config, its client flags are ignored).
    const schedulerArgs = (await this.componentArgs()).filter((a) => !a.startsWith('--kubeconfig='));
    this.spawnLogged('kube-scheduler', join(tools, 'kube-scheduler'), [
      `--config=${d('kube-scheduler.yaml')}`,
      ...schedulerArgs,
    ]);
    this.spawnLogged('kwok', join(tools, 'kwok'), [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--config=${d('kwok-stages.yaml')}`,
      '--manage-all-nodes=true',
      // A kubelet's Lease: renewed every quarter of it; the node lifecycle controller marks a node
      // NotReady when it lapses.
      `--node-lease-duration-seconds=${this.nodeLeaseSeconds}`,
      // Pod IPs for nodes without a pod CIDR (the nodes created here each have one).
      '--cidr=10.128.0.0/16',
    ]);
    const beat = heartbeatMs === undefined ? 'on annotated pods' : `every ${heartbeatMs / 1000} s`;
    log(`kube-controller-manager (all controllers), kube-scheduler and KWOK started (pod heartbeat ${beat})`);
    const started = Date.now();
    await this.addNodes(count);
    // Every probe reads every Node (a few KiB each): a thousand are read once a second, not four times.
    const nodesReady = async () => (await this.readyNodes()) >= count;
    await this.waitFor(60_000 + count * 100, `${count} Ready nodes`, nodesReady, count >= 100 ? 1000 : 250);
    // The ServiceAccount controller is up once `default` has its ServiceAccount: pods can be created.
    await this.waitFor(60_000, 'the default ServiceAccount', () =>
      this.ok('/api/v1/namespaces/default/serviceaccounts/default'),
    );
    log(`${count} nodes Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** The running components' process ids, by name (to read their CPU time and memory from /proc). */
  processIds(): Record<string, number> {
    return Object.fromEntries(
      this.components.filter((c) => c.child.pid !== undefined).map((c) => [c.name, c.child.pid!] as const),
    );
  }

  /** Creates simulated nodes after the existing ones (kept ones are reused); returns their names. */
  async addNodes(count: number): Promise<string[]> {
    const names: string[] = [];
    const first = this.nodeNames.length;
    for (let batch = first; batch < first + count; batch += 20) {
      const indices = Array.from({ length: Math.min(20, first + count - batch) }, (_, i) => batch + i);
      await Promise.all(
        indices.map(async (index) => {
          const name = fakeNodeName(index);
          // Retried: a loaded machine may drop a connection or the server answer 429/5xx for a while.
          for (let attempt = 1; ; attempt++) {
            const r = await this.call('POST', '/api/v1/nodes', fakeNode(name, index));
            if (r.status === 201 || r.status === 409) break;
            const transient = r.status === 0 || r.status === 429 || r.status >= 500;
            if (!transient || attempt === 10) throw new Error(`creating node ${name}: HTTP ${r.status} ${r.body}`);
            await sleep(500 * attempt);
          }
        }),
      );
      names.push(...indices.map(fakeNodeName));
    }
    this.nodeNames.push(...names);
    return names;
  }

  private async readyNodes(): Promise<number> {
    const r = await this.call('GET', '/api/v1/nodes');
    if (r.status !== 200) return 0;
    const nodes = JSON.parse(r.body) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    return nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .length;
  }

  private async waitFor(timeoutMs: number, what: string, probe: () => Promise<boolean>, everyMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      const dead = this.components.find((c) => c.child.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited with code ${dead.child.exitCode} while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`);
      await sleep(everyMs);
    }
  }

  private spawnLogged(name: string, bin: string, args: string[], append = false): ChildProcess {
    const out = createWriteStream(join(this.dir, `${name}.log`), { flags: append ? 'a' : 'w' });
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    child.on('error', (err) => out.write(`spawn failed: ${err.message}\n`));
    this.components.push({ name, child, bin, args });
    this.startWatchdog();
    return child;
  }

  /**
   * A detached shell that outlives a SIGKILLed parent: when the parent is gone it stops every
   * component and removes the data dir, so no process nor temp dir is ever left behind.
   */
  private startWatchdog(): void {
    this.watchdog?.kill('SIGKILL'); // re-armed with every new child
    const pids = this.components
      .map((c) => c.child.pid)
      .filter(Boolean)
      .reverse()
      .join(' ');
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

  private async ok(path: string): Promise<boolean> {
    const { status } = await this.call('GET', path);
    return status >= 200 && status < 300;
  }

  /** One request with the admin certificate; status 0 when the server cannot be reached. */
  private call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const d = (f: string) => readFileSync(join(this.dir, f));
    return new Promise((resolve) => {
      const headers = body === undefined ? {} : { 'content-type': 'application/json' };
      const req = request(
        `${this.server}${path}`,
        { method, headers, ca: d('ca.crt'), cert: d('admin.crt'), key: d('admin.key'), timeout: 10_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, body: text }));
        },
      );
      req.on('error', (err) => resolve({ status: 0, body: err.message }));
      req.on('timeout', () => req.destroy());
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** Stops every component, the last started first, and removes the data dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const { child } of [...this.components].reverse()) await terminate(child, 10_000);
    this.watchdog?.kill('SIGKILL');
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** SIGTERM, then SIGKILL after `killAfterMs`; resolves once the process exited (at once if it had). */
async function terminate(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
