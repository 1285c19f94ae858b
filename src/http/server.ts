// /healthz (the process answers), /readyz (caches synced and watching), /metrics, /debug/heap.
// Liveness never depends on the API server: restarting a replica that merely waits for an
// unreachable API would only lose its caches. Readiness says whether this replica's view of the
// cluster is current enough to act on, for a load balancer and for alerts.
import { createServer, type Server } from 'node:http';
import type { Operator } from '../controller/operator.ts';
import type { OperatorMetrics } from './metrics.ts';

/** /readyz fails once a watch has been down (or a relist unfinished) this long, by default. */
export const DEFAULT_READY_MAX_DISCONNECTED_MS = 60_000;

export interface HttpServerOptions {
  host?: string;
  /** How long a watch may be down (or a relist unfinished) before /readyz fails. */
  readyMaxDisconnectedMs?: number;
}

export function startHttpServer(
  port: number,
  operator: Operator,
  metrics: OperatorMetrics,
  opts: HttpServerOptions = {},
): Promise<Server> {
  const { host = '0.0.0.0', readyMaxDisconnectedMs = DEFAULT_READY_MAX_DISCONNECTED_MS } = opts;
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'method not allowed\n');
    switch (url) {
      case '/healthz':
        return send(200, 'ok\n');
      case '/readyz': {
        const reasons = operator.manager.unreadyReasons(readyMaxDisconnectedMs);
        return reasons.length === 0 ? send(200, 'ok\n') : send(503, reasons.join('\n') + '\n');
      }
      case '/metrics':
        metrics.registry
          .metrics()
          .then((text) => send(200, text, metrics.registry.contentType))
          .catch((err) => send(500, `${String(err)}\n`));
        return;
      case '/debug/heap': {
        // For benchmarks: heap after a forced GC when node runs with --expose-gc.
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc) gc();
        const m = process.memoryUsage();
        return send(
          200,
          JSON.stringify({
            heapUsed: m.heapUsed,
            heapTotal: m.heapTotal,
            rss: m.rss,
            external: m.external,
            cachedPods: operator.caches.pods.size,
            gcForced: !!gc,
          }),
          'application/json',
        );
      }
      default:
        return send(404, 'not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
