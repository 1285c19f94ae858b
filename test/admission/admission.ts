// Helpers for the admission tests: install the shipped config/admission (its policy text as is,
// only the binding's scope narrowed to this run's labelled namespaces), write the grants
// singleton directly (no operator), and create objects to see what the API server decides.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiException, AppsV1Api, BatchV1Api, type V1CronJob, type V1Deployment, type V1ObjectMeta, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, GRANTS_KIND, GRANTS_NAME, GRANTS_PLURAL, GROUP, VERSION, type Grant, type HostNamespace } from '../../src/api/v1alpha1.ts';
import { core, createNamespace, customObjects, eventually, kubeConfig, kubectl } from '../harness/kube.ts';

export const POLICY = 'hostns-host-namespaces';
export const GUARD = 'hostns-grants-guard';
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
 * The shipped manifests with the host-namespace binding narrowed to namespaces labelled for this
 * run (other test files create host-namespace pods freely), and `extraExempt` added to the
 * shipped exempt list the way docs/admission.md tells users to.
 */
export function scopedForTest(manifests: Manifest[], extraExempt: string[] = []): Manifest[] {
  return manifests.map((m) => {
    if (m.kind !== 'ValidatingAdmissionPolicyBinding' || m.metadata.name !== POLICY) return m;
    const copy = structuredClone(m) as Manifest & { spec: { matchResources: { namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] } } } };
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

/** Removes the policies and bindings, and the grants object (the guard first, so it may go). */
export function uninstall(manifests: Manifest[]): void {
  const admission = manifests.filter((m) => m.apiVersion.startsWith('admissionregistration.k8s.io/'));
  const r = kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: admission }));
  if (r.code !== 0) throw new Error(`kubectl delete: ${r.stderr}`);
  deleteGrants();
}

/** Deletes the grants singleton the way docs/admission.md says (the guard wants the annotation). */
export function deleteGrants(): void {
  kubectl(['annotate', '--overwrite', GRANTS_PLURAL, GRANTS_NAME, 'hostns.io/allow-delete=true']);
  const r = kubectl(['delete', '--ignore-not-found', GRANTS_PLURAL, GRANTS_NAME]);
  if (r.code !== 0) throw new Error(`kubectl delete ${GRANTS_PLURAL} ${GRANTS_NAME}: ${r.stderr}`);
}

/** A namespace the test binding covers. */
export function scopedNamespace(prefix: string): Promise<string> {
  return createNamespace(prefix, { [SCOPE_LABEL]: RUN_ID });
}

/**
 * Writes the grants singleton (creating it if missing) and waits until the admission policy
 * reads this very version: the write carries a sentinel grant in `sentinelNs`, and a dry-run pod
 * only it admits is retried until admitted.
 */
export async function setGrants(namespaces: Record<string, Grant[]>, sentinelNs: string): Promise<void> {
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
    spec: { namespaces: { ...namespaces, [sentinelNs]: [...(namespaces[sentinelNs] ?? []), sentinel] } },
  };
  const api = customObjects();
  const ids = { group: GROUP, version: VERSION, plural: GRANTS_PLURAL, name: GRANTS_NAME };
  try {
    const current = (await api.getClusterCustomObject(ids)) as { metadata: V1ObjectMeta };
    await api.replaceClusterCustomObject({ ...ids, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } } });
  } catch (err) {
    if (!(err instanceof ApiException) || err.code !== 404) throw err;
    await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: GRANTS_PLURAL, body });
  }
  await eventually(
    async () => ((await tryCreate(podManifest('sentinel', { 'admission-test.example.com/sentinel': token }, ['hostNetwork']), sentinelNs, true)).admitted ? true : undefined),
    30_000,
    'the admission policy to read the new grants',
  );
}

export interface Decision {
  admitted: boolean;
  /** The policy's message (after "denied request: "), or the whole error for other refusals. */
  message: string;
  status?: number;
}

const POLICY_PREFIX = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;

/** Creates a Pod, Deployment, CronJob or other workload with client-node and reports the decision. */
export async function tryCreate(obj: { apiVersion: string; kind: string; metadata: V1ObjectMeta; spec: object }, namespace: string, dryRun = false): Promise<Decision> {
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
    return { admitted: false, status: err.code, message: sortLabels(at >= 0 ? message.slice(at + POLICY_PREFIX.length) : message) };
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
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { metadata: { labels }, spec: podSpec(flags, 'Never') } } } },
  };
}

/**
 * The policy lists the labels in map order, which varies (CEL's sort() would need Kubernetes
 * >= 1.35): sorts them so messages compare exactly.
 */
export function sortLabels(text: string): string {
  return text.replace(/selecting the labels \{([^}]*)\}/g, (_, list: string) => `selecting the labels {${list ? list.split(', ').sort().join(', ') : ''}}`);
}

/** The refusal the policy gives (labels sorted, see sortLabels), as docs/admission.md shows it. */
export function expectedRefusal(kind: string, name: string, namespace: string, uncovered: readonly string[], labels: Record<string, string>, lapsed: string[] = []): string {
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
    (Object.keys(labels).length <= 32 ? `the labels {${shownLabels}}` : `its labels (${Object.keys(labels).length}, too many to list)`) +
    ' (the platform team grants them: kubectl explain hostnamespaceexception.spec).'
  );
}

/** Whether the grants object exists now (to restore the state found before the tests). */
export async function grantsExist(): Promise<boolean> {
  try {
    await customObjects().getClusterCustomObject({ group: GROUP, version: VERSION, plural: GRANTS_PLURAL, name: GRANTS_NAME });
    return true;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return false;
    throw err;
  }
}
