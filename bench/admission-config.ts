// The shipped admission configuration (config/admission) on the bench's cluster, and the probe the
// admission phases share. The bench cluster runs without it (the other phases' resets delete grants
// objects, which hostns-grants-guard refuses), so a phase that needs it installs it and removes it.
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { HttpError, type Api } from './minimal-client.ts';

const ADMISSION_API = '/apis/admissionregistration.k8s.io/v1';

interface Manifest {
  kind: string;
  metadata: { name: string; resourceVersion?: string };
  spec?: { matchResources?: { namespaceSelector?: { matchExpressions?: { key: string; values?: string[] }[] } } };
}

/**
 * The policies and bindings of `kubectl kustomize config/admission`, each binding's exempt list
 * (the NotIn of kubernetes.io/metadata.name) extended by `exempt`, as an installation keeps it in
 * step with the operator's --exempt-namespaces. The grant index is left out: the operator writes it.
 */
export function shippedAdmission(exempt: readonly string[]): Manifest[] {
  const text = execFileSync('kubectl', ['kustomize', 'config/admission'], { encoding: 'utf8' });
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Manifest);
  const out = docs.filter(
    (d) => d.kind === 'ValidatingAdmissionPolicy' || d.kind === 'ValidatingAdmissionPolicyBinding',
  );
  for (const d of out) {
    for (const e of d.spec?.matchResources?.namespaceSelector?.matchExpressions ?? []) {
      if (e.key === 'kubernetes.io/metadata.name' && e.values) e.values = [...new Set([...e.values, ...exempt])].sort();
    }
  }
  return out;
}

const pathOf = (m: Manifest) =>
  `${ADMISSION_API}/${m.kind === 'ValidatingAdmissionPolicy' ? 'validatingadmissionpolicies' : 'validatingadmissionpolicybindings'}`;

/** Creates or replaces each manifest (policies before bindings, as listed). */
export async function applyManifests(api: Api, manifests: readonly Manifest[]): Promise<void> {
  const ordered = [...manifests].sort(
    (a, b) => Number(a.kind.endsWith('Binding')) - Number(b.kind.endsWith('Binding')),
  );
  for (const m of ordered) {
    try {
      await api.json('POST', pathOf(m), m);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 409)) throw err;
      const live = await api.get<Manifest>(`${pathOf(m)}/${m.metadata.name}`);
      const body = { ...m, metadata: { ...m.metadata, resourceVersion: live.metadata.resourceVersion } };
      await api.json('PUT', `${pathOf(m)}/${m.metadata.name}`, body);
    }
  }
}

/** Deletes each manifest (bindings first); absent ones are fine. */
export async function deleteManifests(api: Api, manifests: readonly Manifest[]): Promise<void> {
  const ordered = [...manifests].sort(
    (a, b) => Number(b.kind.endsWith('Binding')) - Number(a.kind.endsWith('Binding')),
  );
  for (const m of ordered) {
    const r = await api.raw('DELETE', `${pathOf(m)}/${m.metadata.name}`);
    if (r.status >= 300 && r.status !== 404) throw new HttpError('DELETE', pathOf(m), r.status, r.text);
  }
}

export const bindingsOf = (manifests: readonly Manifest[]) =>
  manifests.filter((m) => m.kind === 'ValidatingAdmissionPolicyBinding');

/** A pod create's outcome: admitted, refused by hostns-host-namespaces, or another failure. */
export type CreateOutcome = 'admitted' | 'refused' | 'error';

/** The refusal of the host namespace policy names it (the API server's message), unlike others. */
export function outcomeOf(err: unknown): CreateOutcome {
  if (
    err instanceof HttpError &&
    (err.status === 403 || err.status === 422) &&
    err.body.includes('hostns-host-namespaces')
  )
    return 'refused';
  return 'error';
}

/** POSTs a pod (dry run: validated and admitted, never stored); its outcome and round trip. */
export async function createPod(
  api: Api,
  namespace: string,
  manifest: object,
  dryRun: boolean,
): Promise<{ outcome: CreateOutcome; sentAt: number; answeredAt: number; detail?: string }> {
  const sentAt = Date.now();
  try {
    await api.json('POST', `/api/v1/namespaces/${namespace}/pods${dryRun ? '?dryRun=All' : ''}`, manifest);
    return { outcome: 'admitted', sentAt, answeredAt: Date.now() };
  } catch (err) {
    return { outcome: outcomeOf(err), sentAt, answeredAt: Date.now(), detail: (err as Error).message.slice(0, 300) };
  }
}

/**
 * Waits until a dry-run create of `manifest` has `want` as its outcome (a policy or binding change
 * reaches admission through the API server's informers, moments later); throws after `timeoutMs`.
 */
export async function waitForOutcome(
  api: Api,
  namespace: string,
  manifest: object,
  want: CreateOutcome,
  timeoutMs = 60_000,
): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    const r = await createPod(api, namespace, manifest, true);
    if (r.outcome === want) return Date.now() - started;
    last = r.detail ?? r.outcome;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`a dry-run pod create in ${namespace} was not ${want} within ${timeoutMs} ms (last: ${last})`);
}

export const GRANTS_PATH = (ns: string) => `/apis/hostns.io/v1alpha1/namespaces/${ns}/hostnamespacegrantsets/grants`;

/** Until each namespace's grants object exists with at least `count` grants (the operator wrote them). */
export async function waitForGrants(api: Api, namespaces: readonly string[], count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (const ns of namespaces) {
    for (;;) {
      const r = await api.raw('GET', GRANTS_PATH(ns));
      const listed = r.status === 200 ? ((JSON.parse(r.text) as GrantSet).spec?.grants?.length ?? 0) : 0;
      if (r.status === 200 && listed >= count) break;
      if (Date.now() > deadline) throw new Error(`grants of ${ns}: ${listed} of ${count} grants after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }
}

export interface GrantSet {
  metadata?: { namespace?: string; resourceVersion?: string };
  spec?: { grants?: { exception: string }[] };
}

/** Until the grant index lists every namespace of `namespaces` (hostns-grants-required admits there). */
export async function waitForIndex(api: Api, namespaces: readonly string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api.raw('GET', '/apis/hostns.io/v1alpha1/hostnamespacegrantindexes/cluster');
    const listed = r.status === 200 ? (JSON.parse(r.text) as { spec?: { namespaces?: object } }).spec?.namespaces : {};
    if (namespaces.every((ns) => ns in (listed ?? {}))) return;
    if (Date.now() > deadline) throw new Error(`the grant index lists not all of ${namespaces.join(', ')}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
