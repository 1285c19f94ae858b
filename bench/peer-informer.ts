// The memory peer: what a plain @kubernetes/client-node informer holds for every pod (the whole
// object), measured the way the operator's /debug/heap measures itself (forced GC, then
// process.memoryUsage()). Run with --expose-gc. Prints one JSON line once the informer has synced.
//
//   node --expose-gc bench/peer-informer.ts --kubeconfig <path>
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const kc = new KubeConfig();
kc.loadFromFile(values.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const startedAt = Date.now();
// Paged (500 a page) so that 150,000 pods do not exceed V8's largest string in one response; the
// informer still holds every pod as the whole object.
const listAllPods = async () => {
  const first = await core.listPodForAllNamespaces({ limit: 500 });
  let cont = first.metadata?._continue;
  while (cont) {
    const page = await core.listPodForAllNamespaces({ limit: 500, _continue: cont });
    first.items.push(...page.items);
    first.metadata = page.metadata;
    cont = page.metadata?._continue;
  }
  return first;
};
const informer = makeInformer<V1Pod>(kc, '/api/v1/pods', listAllPods);
informer.on('error', (err) => {
  process.stderr.write(`peer informer: ${String(err)}\n`);
  process.exit(1);
});
// start() resolves once the LIST is stored and the watch is opened.
await informer.start();
const syncedAt = Date.now();
// Let the list's transient buffers go before measuring what stays.
await new Promise((r) => setTimeout(r, 500));
// One forced GC, as the operator's /debug/heap does.
gc();
const m = process.memoryUsage();
const cachedPods = informer.list().length;
process.stdout.write(
  `${JSON.stringify({ cachedPods, heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, syncMs: syncedAt - startedAt })}\n`,
);
await informer.stop();
process.exit(0);
