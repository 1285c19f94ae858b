// Heap bytes per cached pod entry, in-process and without a cluster (issue 16, goal 4: <= 1 KiB
// per entry). Pods are the bench fixture's (bench/fixture.ts) as the API server returns them after
// the operator's startup: server fields, our marks on them, read by JSON.parse of a LIST page as
// the client reads them (short strings interned by V8 as in production). Two measures:
//
//   records   the pod cache alone: toPodRecord + the store (its key and namespace index), as the
//             Reflector fills it: what each cached entry costs by itself.
//   operator  the whole operator over the in-memory fake API (test/fake) at two sizes, converged
//             (every label, Event and status written): heap it retains, from a full GC, minus the
//             same fake cluster with the operator stopped; per entry = the difference between the
//             sizes over the difference in entries (no fixed cost in it). Includes everything
//             that grows with entries (queue, Event names, memos), like the bench's marginal figure.
//
//   node --expose-gc bench/cache-memory.ts [--entries 5000] [--mode records,operator]
import { parseArgs } from 'node:util';
import { Operator } from '../src/controller/operator.ts';
import { type RawObject, objectKey } from '../src/kube/reflector.ts';
import { toPodRecord, type PodRecord } from '../src/kube/pod-record.ts';
import { StoreWriter } from '../src/kube/store.ts';
import { silentLogger } from '../src/logging.ts';
import { DEFAULT_POLICY } from '../src/policy/config.ts';
import { FakeKubeApi } from '../test/fake/kube-api.ts';
import type { KubeApi, RequestOptions } from '../src/kube/client.ts';
import {
  COVERED_TEAMS,
  exceptionManifest,
  FIXTURE_NAMESPACES,
  fixtureExceptionNames,
  fixturePod,
  HOST_EVERY,
  podManifest,
  TEAMS,
} from './fixture.ts';
import { heapUsedAfterGc } from './heap.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '5000' },
    mode: { type: 'string', default: 'records,operator' },
  },
});
const entries = Number(values.entries);
if (!Number.isInteger(entries) || entries < 100) throw new Error('--entries: an integer >= 100');
const modes = new Set(values.mode.split(','));

const heap = heapUsedAfterGc;
heap(); // fails early without --expose-gc
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A v4-shaped uid, as the API server assigns them (36 characters), from a number. */
function uuid(n: number, tag = 0): string {
  const h = (n * 2654435761 + tag * 40503) >>> 0;
  const hex = (v: number, len: number) => (v >>> 0).toString(16).padStart(len, '0').slice(-len);
  return `${hex(h, 8)}-${hex(n, 4)}-4${hex(h >>> 8, 3)}-8${hex(tag, 3)}-${hex(n, 6)}${hex(h >>> 4, 6)}`;
}

/** The i-th host pod of the fixture (the pods the operator caches), its marks as the operator wrote them. */
function hostPodIndex(k: number): number {
  return k * HOST_EVERY + 7;
}

/** The raw pod as a LIST returns it after the operator's startup converged. */
function cachedPodJson(k: number): object {
  const i = hostPodIndex(k);
  const p = fixturePod(i);
  const manifest = podManifest(p) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const uid = uuid(i);
  const covered = p.coveredBy !== undefined;
  const marks = covered
    ? { labels: { 'hostns.io/exception': p.coveredBy! }, annotations: { 'hostns.io/exceptions': p.coveredBy! } }
    : {
        labels: { 'hostns.io/violation': 'true' },
        annotations: {
          'hostns.io/violation': p.host!,
          // The shape of a marker (src/policy/violation.ts): 32 hex characters, a space, the cause.
          'hostns.io/violation-event': `${uuid(i, 1).replaceAll('-', '').slice(0, 32)} ${p.host!}`,
        },
      };
  return {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      uid,
      resourceVersion: String(1_000_000 + i),
      creationTimestamp: '2026-11-27T20:00:00Z',
      labels: { ...(manifest.metadata.labels as object), ...marks.labels },
      annotations: { ...(manifest.metadata.annotations as object), ...marks.annotations },
    },
    spec: {
      ...manifest.spec,
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
    },
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
}

/** Pages of raw pods as the client parses them (a fresh JSON.parse per page of 500). */
function* parsedPages(count: number): Generator<RawObject[]> {
  for (let from = 0; from < count; from += 500) {
    const items = [];
    for (let k = from; k < Math.min(count, from + 500); k++) items.push(cachedPodJson(k));
    yield (JSON.parse(JSON.stringify({ items })) as { items: RawObject[] }).items;
  }
}

function podStore(count: number): StoreWriter<PodRecord> {
  const store = new StoreWriter<PodRecord>();
  for (const page of parsedPages(count)) {
    for (const raw of page) {
      const rec = toPodRecord(raw);
      if (rec) store.set(objectKey(raw)!, rec);
    }
  }
  return store;
}

const fmt = (b: number) => `${Math.round(b)} B`;

if (modes.has('records')) {
  podStore(1000); // warm-up: code compiled and one-time tables filled are not counted
  const base = heap();
  const store = podStore(entries);
  const bytes = heap() - base;
  console.log(`records: ${store.size} cached pods, ${fmt(bytes / store.size)} per entry (pod record + store)`);
}

/**
 * The fake API behind a JSON round trip, as the real client sees the API server: objects are
 * parsed from text (V8 interns short strings then), and uids have the API server's 36 characters.
 */
class JsonApi implements KubeApi {
  readonly server: string;
  private readonly fake: FakeKubeApi;
  constructor(fake: FakeKubeApi) {
    this.fake = fake;
    this.server = fake.server;
  }
  private static out(v: unknown): unknown {
    if (v === undefined) return undefined;
    return JSON.parse(JSON.stringify(v).replace(/"uid-(\d+)"/g, (_, n: string) => `"${uuid(Number(n))}"`));
  }
  private static in(v: unknown): unknown {
    if (v === undefined) return undefined;
    const back = JSON.stringify(v).replace(
      /"([0-9a-f]{8})-([0-9a-f]{4})-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}"/g,
      (m) => {
        const n = parseInt(m.slice(10, 14), 16);
        return uuid(n) === m.slice(1, -1) ? `"uid-${n}"` : m;
      },
    );
    return JSON.parse(back);
  }
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return JsonApi.out(await this.fake.request(method, path, { ...opts, body: JsonApi.in(opts.body) })) as T;
  }
  readonly watch: KubeApi['watch'] = (path, query, onEvent, signal, idleMs, onOpen) =>
    this.fake.watch(path, query, (ev) => onEvent(JsonApi.out(ev) as typeof ev), signal, idleMs, onOpen);
}

/** A fake cluster with `count` host pods (every pod the operator caches; the others leave nothing behind). */
function fakeCluster(count: number): FakeKubeApi {
  if (count >= 0xffff) throw new Error('at most 65,534 entries (the uid mapping keeps 16 bits)');
  const fake = new FakeKubeApi();
  for (let n = 0; n < FIXTURE_NAMESPACES; n++) {
    fake.put('namespaces', { metadata: { name: `bench-${String(n).padStart(3, '0')}` } });
  }
  const expiresAt = new Date(Date.now() + 60 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  for (const key of fixtureExceptionNames()) {
    const [namespace, name] = key.split('/') as [string, string];
    const manifest = exceptionManifest({ namespace, name, selector: { team: name.slice('allow-'.length) }, expiresAt });
    fake.put('hostnamespaceexceptions', manifest as never);
  }
  for (let k = 0; k < count; k++) {
    const p = fixturePod(hostPodIndex(k));
    fake.put('pods', podManifest(p) as never);
  }
  return fake;
}

async function converge(operator: Operator): Promise<void> {
  for (let quiet = 0; quiet < 3;) {
    await operator.idle();
    await sleep(50);
    const q = operator.manager.queue;
    quiet = q.length === 0 && q.inFlight === 0 ? quiet + 1 : 0;
  }
}

/** Starts the operator on `fake`, converges, reads the heap with it, and stops it. */
async function runOperator(fake: FakeKubeApi): Promise<{ heapWith: number; cached: number; ms: number }> {
  const started = performance.now();
  const operator = new Operator({
    client: new JsonApi(fake),
    policy: DEFAULT_POLICY,
    logger: silentLogger(),
    identity: 'cache-memory',
    maxConcurrentReconciles: 16,
  });
  await operator.start();
  await converge(operator);
  const ms = performance.now() - started;
  const cached = operator.caches.pods.size;
  const heapWith = heap();
  await operator.stop();
  return { heapWith, cached, ms };
}

/** Heap the converged operator retains over `count` cached pods, and how many it caches. */
async function operatorRetains(count: number): Promise<{ bytes: number; cached: number; ms: number }> {
  const fake = fakeCluster(count);
  const { heapWith, cached, ms } = await runOperator(fake);
  // The operator is garbage now; the fake cluster (and its history of our writes) stays. Settled:
  // the last requests' turns of the event loop and the aborted watches let go of it.
  await sleep(200);
  return { bytes: heapWith - heap(), cached, ms };
}

if (modes.has('operator')) {
  // Coverage needs a pod of each covered team in each namespace (the fixture spreads them evenly).
  const small = Math.max(FIXTURE_NAMESPACES * TEAMS, Math.round(entries / 2));
  if (COVERED_TEAMS > TEAMS) throw new Error('fixture: more covered teams than teams');
  await operatorRetains(500); // warm-up
  const a = await operatorRetains(small);
  const b = await operatorRetains(entries);
  console.log(
    `operator: ${a.cached} cached pods retain ${(a.bytes / 2 ** 20).toFixed(2)} MiB (converged in ${(a.ms / 1000).toFixed(1)} s), ` +
      `${b.cached} retain ${(b.bytes / 2 ** 20).toFixed(2)} MiB (${(b.ms / 1000).toFixed(1)} s): ` +
      `${fmt((b.bytes - a.bytes) / (b.cached - a.cached))} per entry, marginal`,
  );
}
