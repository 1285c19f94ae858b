// Runs the real operator (node src/main.ts) as a child process against the test control plane,
// as a user would run it: so tests can SIGKILL it, restart it and read its /metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { kubeconfigPath } from './kube.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export class OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  log = '';

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
  }

  static async start(args: string[] = [], kubeconfig = kubeconfigPath()): Promise<OperatorProcess> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['src/main.ts', '--kubeconfig', kubeconfig, '--http-port', String(port), '--log-level', 'info', ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const op = new OperatorProcess(child, port);
    const deadline = Date.now() + 30_000;
    while ((await op.get('/readyz').catch(() => '')) !== 'ok\n') {
      if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}:\n${op.log}`);
      if (Date.now() > deadline) throw new Error(`operator not ready within 30 s:\n${op.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return op;
  }

  async get(path: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return res.text();
  }

  /** Sum of a counter/gauge over the label sets matching `labels` (a substring of the label block). */
  async metric(name: string, labels = ''): Promise<number> {
    const text = await this.get('/metrics');
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name || !(m[2] ?? '').includes(labels)) continue;
      sum += Number(m[3]);
    }
    return sum;
  }

  /** Writes the operator has sent (POST, PUT, PATCH, DELETE), by its own count. */
  async writes(): Promise<number> {
    let n = 0;
    for (const verb of ['POST', 'PUT', 'PATCH', 'DELETE'])
      n += await this.metric('hostns_api_requests_total', `verb="${verb}"`);
    return n;
  }

  /** Waits until nothing is queued, in flight or waiting to retry, twice in a row 200 ms apart. */
  async converged(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (quiet < 2) {
      if (Date.now() > deadline) throw new Error(`operator not converged within ${timeoutMs} ms`);
      const busy = (await this.metric('hostns_workqueue_depth')) + (await this.metric('hostns_workqueue_retrying'));
      quiet = busy === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill(signal);
    return exited;
  }
}
