// Runs the real operator (node src/main.ts) as a child process against the test control plane,
// as a user would run it: so tests can SIGKILL it, restart it and read its /metrics. The process
// handling is tools/operator-process.ts (shared with the bench); this adds the tests' defaults.
import type { ChildProcess } from 'node:child_process';
import { OperatorProcess as Process } from '../../tools/operator-process.ts';
import { kubeconfigPath } from './clients.ts';

export class OperatorProcess {
  private readonly proc: Process;

  private constructor(proc: Process) {
    this.proc = proc;
  }

  /** Starts the operator with `args` and waits (30 s at most) until /readyz answers 200. */
  static async start(args: string[] = [], kubeconfig = kubeconfigPath()): Promise<OperatorProcess> {
    const proc = await Process.start({ kubeconfig, args, logLevel: process.env.HOSTNS_TEST_LOG_LEVEL ?? 'info' });
    try {
      await proc.waitReady(30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${proc.log}`, { cause: err });
    }
    return new OperatorProcess(proc);
  }

  get child(): ChildProcess {
    return this.proc.child;
  }

  get port(): number {
    return this.proc.port;
  }

  /** Everything the operator wrote to stdout and stderr so far. */
  get log(): string {
    return this.proc.log;
  }

  async get(path: string): Promise<string> {
    return (await this.proc.get(path)).text;
  }

  /** Sum of a counter/gauge over the label sets matching `labels` (a substring of the label block). */
  metric(name: string, labels = ''): Promise<number> {
    return this.proc.metric(name, labels);
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

  /**
   * Stops this operator (SIGTERM) and starts another with `args`, converged twice a second apart
   * (what a zero-writes check after a restart needs).
   */
  async restart(args: string[] = []): Promise<OperatorProcess> {
    await this.kill('SIGTERM');
    const next = await OperatorProcess.start(args);
    await next.converged();
    await new Promise((r) => setTimeout(r, 1000));
    await next.converged();
    return next;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return this.proc.kill(signal);
  }
}

/** Flags of a replica electing a leader through a Lease in `namespace`, with short timings (a 4 s lease). */
export function leaderElectionArgs(namespace: string, identity: string): string[] {
  return [
    '--leader-elect',
    '--lease-namespace',
    namespace,
    '--identity',
    identity,
    '--lease-duration',
    '4s',
    '--renew-deadline',
    '3s',
    '--retry-period',
    '1s',
  ];
}
