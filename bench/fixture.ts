// The bench's cluster content, as pure functions of an index, so that every size is a prefix of
// the next one (20,000 pods then 50,000 only creates the 30,000 new ones) and the expected
// outcome (which pod is an offender, which is covered, by what) is known without asking anyone.
import type { Api } from './minimal-client.ts';
import { HttpError, mapConcurrent, withRetry } from './minimal-client.ts';

export const FIXTURE_LABEL = 'bench.hostns.io/fixture';
/** 97 namespaces: prime, so "every 20th pod uses a host namespace" spreads over all of them. */
export const FIXTURE_NAMESPACES = 97;
/** One pod in 20 (5 %) uses a host namespace. */
export const HOST_EVERY = 20;
/** Teams t0..t5 among host pods; exceptions exist for t0..t2, so half of them are covered. */
export const TEAMS = 6;
export const COVERED_TEAMS = 3;

export const LABEL_VIOLATION = 'hostns.io/violation';
export const LABEL_EXCEPTION = 'hostns.io/exception';

export type HostFlag = 'hostNetwork' | 'hostPID' | 'hostIPC';

export function fixtureNamespace(n: number): string {
  return `bench-${String(n).padStart(3, '0')}`;
}

export interface FixturePod {
  index: number;
  namespace: string;
  name: string;
  team: string;
  /** The host namespace flag it sets, if any. */
  host?: HostFlag;
  /** The exception expected to cover it (host pods of covered teams). */
  coveredBy?: string;
}

export function fixturePod(i: number): FixturePod {
  const namespace = fixtureNamespace(i % FIXTURE_NAMESPACES);
  const name = `w-${String(i).padStart(6, '0')}`;
  const isHost = i % HOST_EVERY === 7;
  const k = Math.floor(i / HOST_EVERY) % TEAMS;
  const team = isHost ? `t${k}` : 'web';
  if (!isHost) return { index: i, namespace, name, team };
  const variant = Math.floor(i / (HOST_EVERY * TEAMS)) % 10;
  const host: HostFlag = variant < 7 ? 'hostNetwork' : variant < 9 ? 'hostPID' : 'hostIPC';
  return { index: i, namespace, name, team, host, coveredBy: k < COVERED_TEAMS ? `allow-t${k}` : undefined };
}

export interface Expectation {
  offenders: Set<string>;
  /** ns/name -> expected `hostns.io/exception` value. */
  covered: Map<string, string>;
  /** ns/exception -> expected status.coveredPods. */
  coveredPods: Map<string, number>;
}

export function expectationFor(podCount: number): Expectation {
  const offenders = new Set<string>();
  const covered = new Map<string, string>();
  const coveredPods = new Map<string, number>();
  for (const ex of fixtureExceptionNames()) coveredPods.set(ex, 0);
  for (let i = 0; i < podCount; i++) {
    const p = fixturePod(i);
    if (!p.host) continue;
    const key = `${p.namespace}/${p.name}`;
    if (p.coveredBy) {
      covered.set(key, p.coveredBy);
      const ek = `${p.namespace}/${p.coveredBy}`;
      coveredPods.set(ek, (coveredPods.get(ek) ?? 0) + 1);
    } else offenders.add(key);
  }
  return { offenders, covered, coveredPods };
}

export function fixtureExceptionNames(): string[] {
  const out: string[] = [];
  for (let n = 0; n < FIXTURE_NAMESPACES; n++) {
    for (let k = 0; k < COVERED_TEAMS; k++) out.push(`${fixtureNamespace(n)}/allow-t${k}`);
  }
  return out;
}

/**
 * A pod shaped like one of a Deployment's (owner reference, probes, resources, env, a volume), so
 * that "the whole object" in the memory peer is what real informers hold, not a toy.
 */
export function podManifest(p: {
  namespace: string;
  name: string;
  team: string;
  host?: HostFlag;
  labels?: Record<string, string>;
}): object {
  const app = p.host ? `agent-${p.team}` : 'web';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: {
        app,
        team: p.team,
        'pod-template-hash': '5d8f7c9b6d',
        version: 'v1.4.2',
        [FIXTURE_LABEL]: 'true',
        ...p.labels,
      },
      annotations: {
        'bench.hostns.io/owner': `${p.team}@example.com`,
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-5d8f7c9b6d`,
          uid: '6f1c2b0e-8a41-4a7b-9a55-3c1d2e4f5a6b',
          controller: true,
        },
      ],
    },
    spec: {
      ...(p.host ? { [p.host]: true } : {}),
      containers: [
        {
          name: 'app',
          image: `registry.example.com/${p.team}/${app}:1.4.2`,
          args: ['--listen=:8080', '--metrics=:9090', '--log-format=json'],
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
          env: [
            { name: 'APP_ENV', value: 'production' },
            { name: 'APP_REGION', value: 'eu-west-1' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 20, failureThreshold: 3 },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
      terminationGracePeriodSeconds: 30,
    },
  };
}

export function exceptionManifest(e: {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  expiresAt: string;
  labels?: Record<string, string>;
  /** spec.boundTo: the ServiceAccounts and images covered pods must run (admission checks it). */
  boundTo?: { serviceAccountNames?: string[]; images?: string[] };
}): object {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name: e.name, namespace: e.namespace, labels: { [FIXTURE_LABEL]: 'true', ...e.labels } },
    spec: {
      owner: 'platform-team@example.com',
      allow: ['hostNetwork', 'hostPID', 'hostIPC'],
      podSelector: { matchLabels: e.selector },
      riskAcceptance: {
        justification: 'node agent needs the host network stack to collect per-node metrics',
        acceptedBy: 'security-board@example.com',
        ticket: 'SEC-1234',
      },
      expiresAt: e.expiresAt,
      ...(e.boundTo ? { boundTo: e.boundTo } : {}),
    },
  };
}

/**
 * One exception per item, each covering pods labelled app=<item.app>, all lapsing at `expiresAt`
 * (the lapse, enforcement and failover phases); 64 creates in flight.
 */
export async function createLapsingExceptions(
  api: Api,
  items: readonly { namespace: string; name: string; app: string }[],
  expiresAt: string,
  labels: Record<string, string>,
): Promise<void> {
  await mapConcurrent(items, 64, (it) =>
    createIfAbsent(
      api,
      `/apis/hostns.io/v1alpha1/namespaces/${it.namespace}/hostnamespaceexceptions`,
      exceptionManifest({ namespace: it.namespace, name: it.name, selector: { app: it.app }, expiresAt, labels }),
    ),
  );
}

/** Creates, treating 409 AlreadyExists as done (so a kept cluster is topped up, not re-created). */
export async function createIfAbsent(api: Api, path: string, body: object): Promise<'created' | 'existed'> {
  try {
    await withRetry(() => api.json('POST', path, body));
    return 'created';
  } catch (err) {
    if (err instanceof HttpError && err.status === 409) return 'existed';
    throw err;
  }
}

export async function ensureNamespaces(api: Api, names: string[], labels: Record<string, string> = {}): Promise<void> {
  await mapConcurrent(names, 16, (name) =>
    createIfAbsent(api, '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { [FIXTURE_LABEL]: 'true', ...labels } },
    }),
  );
}

/** RFC 3339 with seconds precision (what a person writes in expiresAt). */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface FixtureReport {
  pods: number;
  created: number;
  existed: number;
  seconds: number;
  podsPerSecond: number;
}

/** Grows the fixture to `podCount` pods (indices [from, podCount)), `concurrency` creates in flight. */
export async function growFixture(
  api: Api,
  from: number,
  podCount: number,
  concurrency: number,
  onProgress?: (done: number) => void,
): Promise<FixtureReport> {
  const started = Date.now();
  const nsNames = Array.from({ length: FIXTURE_NAMESPACES }, (_, n) => fixtureNamespace(n));
  await ensureNamespaces(api, nsNames);
  // Exceptions first, valid for 60 days, so covered pods are covered from their creation.
  const expiresAt = rfc3339Seconds(Date.now() + 60 * 86400_000);
  await mapConcurrent(fixtureExceptionNames(), concurrency, (key) => {
    const [namespace, name] = key.split('/') as [string, string];
    return createIfAbsent(
      api,
      `/apis/hostns.io/v1alpha1/namespaces/${namespace}/hostnamespaceexceptions`,
      exceptionManifest({ namespace, name, selector: { team: name.slice('allow-'.length) }, expiresAt }),
    );
  });
  // Pods already there (a kept cluster, or an earlier size) are skipped without a request: one
  // metadata-only LIST is much cheaper than a POST answered 409 per pod.
  const present = await existingFixturePods(api);
  let created = 0;
  let existed = 0;
  const indices: number[] = [];
  for (let i = from; i < podCount; i++) {
    const p = fixturePod(i);
    if (present.has(`${p.namespace}/${p.name}`)) existed++;
    else indices.push(i);
  }
  let done = 0;
  await mapConcurrent(indices, concurrency, async (i) => {
    const p = fixturePod(i);
    const r = await createIfAbsent(api, `/api/v1/namespaces/${p.namespace}/pods`, podManifest(p));
    if (r === 'created') created++;
    else existed++;
    if (++done % 5000 === 0) onProgress?.(done);
  });
  const seconds = (Date.now() - started) / 1000;
  return { pods: podCount, created, existed, seconds, podsPerSecond: indices.length / seconds };
}

/** ns/name of every fixture pod present, from a paged metadata-only LIST. */
export async function existingFixturePods(api: Api): Promise<Set<string>> {
  const out = new Set<string>();
  let cont = '';
  do {
    const page = await api.json<{
      items?: { metadata: { namespace: string; name: string } }[];
      metadata: { continue?: string };
    }>(
      'GET',
      `/api/v1/pods?labelSelector=${encodeURIComponent(`${FIXTURE_LABEL}=true`)}&limit=5000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      undefined,
      undefined,
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    );
    for (const p of page.items ?? []) out.add(`${p.metadata.namespace}/${p.metadata.name}`);
    cont = page.metadata.continue ?? '';
  } while (cont);
  return out;
}

/** On the ConfigMaps the startup floor writes in place of grants objects (removed between runs). */
export const FLOOR_GRANTS_LABEL = 'bench.hostns.io/floor-grants';
