// Helpers for the admission tests: install the shipped config/admission (its policy text as is,
// only the bindings' scope narrowed to this run's labelled namespaces), write each namespace's
// grants object and the grant index directly (no operator), and create objects to see what the
// API server decides.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  type V1CronJob,
  type V1Deployment,
  type V1ObjectMeta,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  API_VERSION,
  GRANT_INDEX_KIND,
  GRANT_INDEX_NAME,
  GRANT_INDEX_PLURAL,
  GRANTS_KIND,
  GRANTS_NAME,
  GRANTS_PLURAL,
  GROUP,
  VERSION,
  type Grant,
  type HostNamespace,
  type LapsedGrant,
} from '../../src/api/v1alpha1.ts';
import { core, createNamespace, customObjects, eventually, kubeConfig, kubectl } from '../harness/clients.ts';

export const POLICY = 'hostns-host-namespaces';
export const GUARD = 'hostns-grants-guard';
export const REQUIRED = 'hostns-grants-required';
/** Namespaces carrying this label (value: the run id) are the only ones the test binding covers. */
export const SCOPE_LABEL = 'hostns.io/admission-test';
export const RUN_ID = randomBytes(4).toString('hex');
export const FUTURE = '2099-01-01T00:00:00Z';
export const PAST = '2020-01-01T00:00:00Z';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };

const admissionDir = resolve('config/admission');

/** `kubectl kustomize` of config/admission, optionally with rollout-mode components. */
export function buildAdmission(components: string[] = []): Manifest[] {
  let dir = admissionDir;
  let scratch: string | undefined;
  if (components.length) {
    scratch = mkdtempSync(join(tmpdir(), 'hostns-admission-'));
    const rel = (p: string) => relative(scratch!, resolve(p));
    writeFileSync(
      join(scratch, 'kustomization.yaml'),
      JSON.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: [rel(admissionDir)],
        components: components.map(rel),
      }),
    );
    dir = scratch;
  }
  try {
    const r = kubectl(['kustomize', dir]);
    if (r.code !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
    return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Manifest);
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The shipped manifests with the host-namespace bindings narrowed to namespaces labelled for this
 * run (other test files create host-namespace pods freely), and `extraExempt` added to the
 * shipped exempt list the way docs/admission.md tells users to.
 */
export function scopedForTest(manifests: Manifest[], extraExempt: string[] = []): Manifest[] {
  return manifests.map((m) => {
    if (m.kind !== 'ValidatingAdmissionPolicyBinding' || (m.metadata.name !== POLICY && m.metadata.name !== REQUIRED))
      return m;
    const copy = structuredClone(m) as Manifest & {
      spec: {
        matchResources: {
          namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
        };
      };
    };
    const exprs = copy.spec.matchResources.namespaceSelector.matchExpressions;
    const exempt = exprs.find((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
    if (!exempt) throw new Error('shipped binding has no kubernetes.io/metadata.name NotIn exempt list');
    exempt.values.push(...extraExempt);
    exprs.push({ key: SCOPE_LABEL, operator: 'In', values: [RUN_ID] });
    return copy;
  });
}

export function apply(manifests: object[]): void {
  const r = kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
}

/** Removes the policies and bindings, then (the guard gone) every grants object and the index. */
export function uninstall(manifests: Manifest[]): void {
  const admission = manifests.filter((m) => m.apiVersion.startsWith('admissionregistration.k8s.io/'));
  const r = kubectl(
    ['delete', '--ignore-not-found', '--wait=false', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: admission }),
  );
  if (r.code !== 0) throw new Error(`kubectl delete: ${r.stderr}`);
  // The guard may not be gone yet from the API server's view: annotate first, as docs/admission.md says.
  for (const args of [
    [GRANTS_PLURAL, '--all', '-A'],
    [GRANT_INDEX_PLURAL, '--all'],
  ]) {
    kubectl(['annotate', '--overwrite', ...args, 'hostns.io/allow-delete=true']);
    const d = kubectl(['delete', '--ignore-not-found', ...args]);
    if (d.code !== 0) throw new Error(`kubectl delete ${args.join(' ')}: ${d.stderr}`);
  }
}

/** Deletes a namespace's grants object (or the index) the way docs/admission.md says (the guard wants the annotation). */
export function deleteGuarded(resource: string, name: string, namespace?: string): void {
  const where = namespace ? ['-n', namespace] : [];
  kubectl(['annotate', '--overwrite', resource, name, ...where, 'hostns.io/allow-delete=true']);
  const r = kubectl(['delete', '--ignore-not-found', resource, name, ...where]);
  if (r.code !== 0) throw new Error(`kubectl delete ${resource} ${name}: ${r.stderr}`);
}

/** A namespace the test bindings cover. */
export function scopedNamespace(prefix: string): Promise<string> {
  return createNamespace(prefix, { [SCOPE_LABEL]: RUN_ID });
}

const api = () => customObjects();
const grantIds = (namespace: string) => ({ group: GROUP, version: VERSION, plural: GRANTS_PLURAL, namespace });
const indexIds = { group: GROUP, version: VERSION, plural: GRANT_INDEX_PLURAL, name: GRANT_INDEX_NAME };

async function getOrUndefined<T>(read: () => Promise<unknown>): Promise<T | undefined> {
  try {
    return (await read()) as T;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** Writes the grant index (as the operator does) listing exactly `namespaces`, with their resourceVersions. */
export async function setIndex(namespaces: readonly string[]): Promise<void> {
  const versions: Record<string, string> = {};
  for (const name of namespaces) versions[name] = (await core().readNamespace({ name })).metadata!.resourceVersion!;
  const body = {
    apiVersion: API_VERSION,
    kind: GRANT_INDEX_KIND,
    metadata: { name: GRANT_INDEX_NAME },
    spec: { namespaces: versions },
  };
  const current = await getOrUndefined<{ metadata: V1ObjectMeta }>(() => api().getClusterCustomObject(indexIds));
  if (current)
    await api().replaceClusterCustomObject({
      ...indexIds,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
    });
  else await api().createClusterCustomObject({ ...indexIds, body });
}

/** Namespaces the index lists now. */
export async function indexed(): Promise<string[]> {
  const current = await getOrUndefined<{ spec: { namespaces: Record<string, string> } }>(() =>
    api().getClusterCustomObject(indexIds),
  );
  return Object.keys(current?.spec.namespaces ?? {});
}

const isSentinel = (g: Grant) => g.exception.startsWith('sentinel-');

/**
 * Writes each namespace's grants object (as the operator does; skipped when already equal), with
 * `lapsed` entries for the namespaces it names, lists the namespaces in the grant index, and waits
 * until admission reads this very version: each write carries a sentinel grant, and a dry-run pod
 * only it admits is retried until admitted (which also proves the index lists the namespace).
 */
export async function setGrants(
  namespaces: Record<string, Grant[]>,
  lapsed: Record<string, LapsedGrant[]> = {},
): Promise<void> {
  const listed = await indexed();
  const missing = Object.keys(namespaces).filter((n) => !listed.includes(n));
  if (missing.length) await setIndex([...listed, ...missing]);
  const waits: Promise<unknown>[] = [];
  for (const [namespace, grants] of Object.entries(namespaces)) {
    const current = await getOrUndefined<{
      metadata: V1ObjectMeta;
      spec: { grants: Grant[]; lapsed?: LapsedGrant[] };
    }>(() => api().getNamespacedCustomObject({ ...grantIds(namespace), name: GRANTS_NAME }));
    const lapsedHere = lapsed[namespace] ?? [];
    if (
      current &&
      !missing.includes(namespace) &&
      JSON.stringify(current.spec.grants.filter((g) => !isSentinel(g))) === JSON.stringify(grants) &&
      JSON.stringify(current.spec.lapsed ?? []) === JSON.stringify(lapsedHere)
    )
      continue;
    const token = randomBytes(4).toString('hex');
    const sentinel: Grant = {
      exception: `sentinel-${token}`,
      allow: ['hostNetwork'],
      expiresAt: FUTURE,
      selector: { matchLabels: { 'admission-test.example.com/sentinel': token }, matchExpressions: [] },
    };
    const body = {
      apiVersion: API_VERSION,
      kind: GRANTS_KIND,
      metadata: { name: GRANTS_NAME },
      spec: { grants: [...grants, sentinel], ...(lapsedHere.length ? { lapsed: lapsedHere } : {}) },
    };
    if (current) {
      await api().replaceNamespacedCustomObject({
        ...grantIds(namespace),
        name: GRANTS_NAME,
        body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
      });
    } else {
      await api().createNamespacedCustomObject({ ...grantIds(namespace), body });
    }
    waits.push(
      (async () => {
        // First: hostns-host-namespaces has a param here (without one it admits everything,
        // the sentinel pod too). A pod no grant covers is refused, and by it.
        await eventually(
          async () => {
            const d = await tryCreate(
              podManifest('probe', { 'admission-test.example.com/probe': token }, [
                'hostNetwork',
                'hostPID',
                'hostIPC',
              ]),
              namespace,
              true,
            );
            return !d.admitted && !d.message.includes(`'${REQUIRED}'`) ? true : undefined;
          },
          30_000,
          `hostns-host-namespaces to have a param in ${namespace}`,
        );
        // Then: it reads this very version.
        await eventually(
          async () =>
            (
              await tryCreate(
                podManifest('sentinel', { 'admission-test.example.com/sentinel': token }, ['hostNetwork']),
                namespace,
                true,
              )
            ).admitted
              ? true
              : undefined,
          30_000,
          `the admission policy to read the new grants of ${namespace}`,
        );
      })(),
    );
  }
  await Promise.all(waits);
}

export interface Decision {
  admitted: boolean;
  /** The policy's message (after "denied request: "), or the whole error for other refusals. */
  message: string;
  status?: number;
}

const POLICY_PREFIX = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;

/** Creates a Pod, Deployment, CronJob or other workload with client-node and reports the decision. */
export async function tryCreate(
  obj: { apiVersion: string; kind: string; metadata: V1ObjectMeta; spec: object },
  namespace: string,
  dryRun = false,
): Promise<Decision> {
  const kc = kubeConfig();
  const opts = { namespace, dryRun: dryRun ? 'All' : undefined };
  try {
    switch (obj.kind) {
      case 'Pod':
        await core().createNamespacedPod({ ...opts, body: obj as V1Pod });
        break;
      case 'Deployment':
        await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ ...opts, body: obj as V1Deployment });
        break;
      case 'CronJob':
        await kc.makeApiClient(BatchV1Api).createNamespacedCronJob({ ...opts, body: obj as V1CronJob });
        break;
      default:
        throw new Error(`tryCreate: unsupported kind ${obj.kind}`);
    }
    return { admitted: true, message: '' };
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const text = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      /* not JSON: keep the text */
    }
    const at = message.indexOf(POLICY_PREFIX);
    return {
      admitted: false,
      status: err.code,
      message: sortLabels(at >= 0 ? message.slice(at + POLICY_PREFIX.length) : message),
    };
  }
}

export function podSpec(flags: readonly HostNamespace[], restartPolicy?: string): Record<string, unknown> {
  const spec: Record<string, unknown> = { containers: [{ name: 'c', image: 'busybox' }] };
  if (restartPolicy) spec.restartPolicy = restartPolicy;
  for (const f of flags) spec[f] = true;
  return spec;
}

export function podManifest(name: string, labels: Record<string, string>, flags: readonly HostNamespace[]) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: podSpec(flags) };
}

export function deploymentManifest(name: string, labels: Record<string, string>, flags: readonly HostNamespace[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec(flags) } },
  };
}

export function cronJobManifest(name: string, labels: Record<string, string>, flags: readonly HostNamespace[]) {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '0 3 * * *',
      jobTemplate: { spec: { template: { metadata: { labels }, spec: podSpec(flags, 'Never') } } },
    },
  };
}

/**
 * The policy lists the labels in map order, which varies (CEL's sort() would need Kubernetes
 * >= 1.35): sorts them so messages compare exactly.
 */
export function sortLabels(text: string): string {
  return text.replace(
    /selecting the labels \{([^}]*)\}/g,
    (_, list: string) => `selecting the labels {${list ? list.split(', ').sort().join(', ') : ''}}`,
  );
}

/** The refusal the policy gives (labels sorted, see sortLabels), as docs/admission.md shows it. */
export function expectedRefusal(
  kind: string,
  name: string,
  namespace: string,
  uncovered: readonly string[],
  labels: Record<string, string>,
  lapsed: string[] = [],
): string {
  const what = kind === 'Pod' ? `Pod '${name}'` : `${kind} '${name}' pod template`;
  const flags = uncovered.join(', ');
  const shownLabels = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(', ');
  return (
    `${what} uses ${flags}, and no active HostNamespaceException in namespace ${namespace} allows that for its labels` +
    (lapsed.length ? ` (lapsed: ${lapsed.join(', ')})` : '') +
    `. Host namespaces are denied by default: to run it, get a HostNamespaceException in namespace ${namespace}` +
    ` with spec.allow [${flags}] and a spec.podSelector selecting ` +
    (Object.keys(labels).length <= 32
      ? `the labels {${shownLabels}}`
      : `its labels (${Object.keys(labels).length}, too many to list)`) +
    ' (the platform team grants them: kubectl explain hostnamespaceexception.spec).'
  );
}
