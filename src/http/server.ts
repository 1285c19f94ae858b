// /healthz (the process answers), /readyz (caches synced), /metrics, /debug/heap.
import { createServer, type Server } from 'node:http';
import type { Operator } from '../controller/operator.ts';
import type { OperatorMetrics } from './metrics.ts';

export function startHttpServer(port: number, operator: Operator, metrics: OperatorMetrics, host = '0.0.0.0'): Promise<Server> {
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
      case '/readyz':
        return operator.isReady ? send(200, 'ok\n') : send(503, 'caches not synced yet\n');
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
        return send(200, JSON.stringify({ heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, cachedPods: operator.caches.pods.size, gcForced: !!gc }), 'application/json');
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
