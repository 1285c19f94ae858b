// `npm run cluster` for people: prints KUBECONFIG, answers kubectl, and leaves no process and no
// data dir behind on Ctrl-C, nor when it is SIGKILLed (the watchdog cleans up).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the cluster's processes (etcd, kube-*, kwok) whose command line mentions `dir`. */
function controlPlanePids(dir: string): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return ps
    .split('\n')
    .filter((l) => l.includes(dir) && /\/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok) /.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Launchers a test started: one a failed test did not stop is interrupted after it, as Ctrl-C would. */
const launched: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const child of launched.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
});

async function startCluster(args: string[] = []): Promise<{ child: ReturnType<typeof spawn>; kubeconfig: string }> {
  const child = spawn(process.execPath, ['tools/controlplane/cluster.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launched.push(child);
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^KUBECONFIG=(.+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`cluster exited with ${code}`)));
  });
  return { child, kubeconfig };
}

describe('npm run cluster', () => {
  it('answers kubectl, and Ctrl-C stops every process and removes the data dir', async () => {
    const { child, kubeconfig } = await startCluster();
    const dir = dirname(kubeconfig);
    const ns = spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'ns', '-o', 'name'], { encoding: 'utf8' });
    expect(ns.stdout).toContain('namespace/default');
    const pids = controlPlanePids(dir);
    expect(pids.length).toBe(3);
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('a SIGKILLed launcher leaves nothing behind either', async () => {
    const { child, kubeconfig } = await startCluster();
    const dir = dirname(kubeconfig);
    const pids = controlPlanePids(dir);
    expect(pids.length).toBe(3);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while ((pids.some(alive) || existsSync(dir)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('npm run cluster -- --nodes 2', () => {
  it('serves Ready nodes, and a SIGKILLed launcher leaves none of its five processes nor its dir behind', async () => {
    const { child, kubeconfig } = await startCluster(['--nodes', '2']);
    const dir = dirname(kubeconfig);
    const kc = (args: string[]) => spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
    expect(kc(['get', 'nodes', '-o', 'name']).stdout.trim().split('\n')).toEqual([
      'node/kwok-node-0',
      'node/kwok-node-1',
    ]);
    expect(kc(['wait', '--for=condition=Ready', '--timeout=60s', 'node', '--all']).status).toBe(0);
    const pids = controlPlanePids(dir);
    // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
    expect(pids.length).toBe(5);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while ((pids.some(alive) || existsSync(dir)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('npm run cluster -- --nodes 1 --pod-heartbeat 1s', () => {
  it("updates a running pod's status again and again, as a kubelet's probes do, without being asked per pod", async () => {
    const { child, kubeconfig } = await startCluster(['--nodes', '1', '--pod-heartbeat', '1s']);
    const kc = (args: string[]) => spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
    try {
      const deadline = Date.now() + 60_000;
      while (kc(['get', 'sa', 'default']).status !== 0 && Date.now() < deadline) await sleep(250);
      expect(kc(['run', 'probed', '--image=registry.k8s.io/pause:3.10']).status).toBe(0);
      // Three different probe times, each a status update KWOK wrote on its own.
      const probeTimes = new Set<string>();
      const jsonpath = '{.status.conditions[?(@.type=="Ready")].lastProbeTime}';
      while (probeTimes.size < 3 && Date.now() < deadline) {
        const t = kc(['get', 'pod', 'probed', '-o', `jsonpath=${jsonpath}`]).stdout.trim();
        if (t) probeTimes.add(t);
        await sleep(500);
      }
      expect(probeTimes.size).toBe(3);
      const pod = JSON.parse(kc(['get', 'pod', 'probed', '-o', 'json']).stdout) as {
        status: { phase: string; conditions: { type: string; status: string }[] };
      };
      // Readiness itself never flips.
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
  }, 120_000);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ControlPlane.setPodHeartbeat and restartApiserver (what the benchmarks switch mid-run)', () => {
  it('turns the heartbeat on by restarting KWOK, and brings kube-apiserver back with the same flags', async () => {
    const { ControlPlane } = await import('./controlplane.ts');
    const cp = await ControlPlane.start({ nodes: 1 });
    const kc = (args: string[]) =>
      spawnSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], { encoding: 'utf8' });
    const jsonpath = '{.status.phase} {.status.conditions[?(@.type=="Ready")].lastProbeTime}';
    const probeTimes = async (forMs: number, enough: number) => {
      const seen = new Set<string>();
      const until = Date.now() + forMs;
      while (seen.size < enough && Date.now() < until) {
        const [phase, probed] = kc(['get', 'pod', 'probed', '-o', `jsonpath=${jsonpath}`])
          .stdout.trim()
          .split(' ');
        if (phase === 'Running' && probed) seen.add(probed);
        await sleep(500);
      }
      return seen.size;
    };
    try {
      expect(kc(['run', 'probed', '--image=registry.k8s.io/pause:3.10']).status).toBe(0);
      await expect
        .poll(() => kc(['get', 'pod', 'probed', '-o', 'jsonpath={.status.phase}']).stdout, { timeout: 60_000 })
        .toBe('Running');
      // No cluster-wide heartbeat asked: a running pod's status stays as KWOK started it.
      expect(await probeTimes(4000, 2)).toBeLessThanOrEqual(1);
      await cp.setPodHeartbeat(1000);
      // A restarted KWOK plays stages on the pods it gets an event for once it holds their node:
      // a pod that changes is one (pods it found unchanged at its start may wait for a change).
      expect(kc(['annotate', 'pod', 'probed', 'hostns.io/bench-touch=1']).status).toBe(0);
      expect(await probeTimes(60_000, 3)).toBe(3);

      const revision = await cp.compactEtcd();
      expect(revision).toBeGreaterThan(0);
      await cp.restartApiserver();
      expect(kc(['get', 'pod', 'probed', '-o', 'jsonpath={.metadata.name}']).stdout).toBe('probed');
    } finally {
      await cp.stop();
    }
  }, 180_000);
});

describe('a kept control plane (keepDir)', () => {
  it('survives stop() and serves the same objects on the next start', async () => {
    const { ControlPlane } = await import('./controlplane.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const keepDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'hostns-keep-')), 'cluster');
    try {
      const first = await ControlPlane.start({ keepDir });
      const kc = (cp: { kubeconfigPath: string }, args: string[]) =>
        spawnSync('kubectl', ['--kubeconfig', cp.kubeconfigPath, ...args], { encoding: 'utf8' });
      expect(kc(first, ['create', 'namespace', 'kept']).status).toBe(0);
      await first.stop();
      expect(existsSync(keepDir)).toBe(true);
      const second = await ControlPlane.start({ keepDir });
      expect(kc(second, ['get', 'namespace', 'kept', '-o', 'name']).stdout.trim()).toBe('namespace/kept');
      await second.stop();
    } finally {
      rmSync(dirname(keepDir), { recursive: true, force: true });
    }
  });
});
