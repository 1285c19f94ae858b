// A loopback TCP proxy in front of the API server, so a test can cut every connection and refuse
// new ones for a while: a real outage as the operator sees it, with the real API behind it.
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  private readonly target: { host: string; port: number };
  private holding = false;

  constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  async listen(port = 0): Promise<void> {
    this.server = createServer((client) => {
      if (this.holding) {
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => client.destroy());
        client.resume(); // read and drop: a client that closes is seen closing
        return;
      }
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  /** Drops every open connection and stops listening (new connections are refused). */
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /**
   * Holds every connection open and silent: nothing more is forwarded either way, and a new
   * connection is accepted but never answered (not even its TLS handshake). An API server that
   * stopped answering, as its clients see it.
   */
  hold(): void {
    this.holding = true;
    for (const s of this.sockets) {
      s.unpipe();
      s.resume(); // read and drop: a client that closes is seen closing
    }
  }

  /** Connections from clients open now. */
  connections(): Promise<number> {
    const server = this.server;
    if (!server) return Promise.resolve(0);
    return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    await this.listen(this.port);
  }

  /** A copy of `kubeconfig` whose server goes through this proxy. */
  kubeconfigThrough(kubeconfig: string, out: string): string {
    const text = readFileSync(kubeconfig, 'utf8').replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      `server: https://127.0.0.1:${this.port}`,
    );
    writeFileSync(out, text, { mode: 0o600 });
    return out;
  }
}
