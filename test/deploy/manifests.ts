// Rendering the kustomize config the way a user's `kubectl apply -k` does, and finding objects in it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export const repoRoot = join(import.meta.dirname, '..', '..');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('; '));
      return d.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

export function readObjects(repoPath: string): KubeObject[] {
  return parseObjects(readFileSync(join(repoRoot, repoPath), 'utf8'));
}

/** `kubectl kustomize <dir>` (kubectl's embedded kustomize, as `kubectl apply -k` uses): the YAML text. */
export function kustomize(dir: string): string {
  const r = spawnSync('kubectl', ['kustomize', dir], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

export function render(dir: string): KubeObject[] {
  return parseObjects(kustomize(dir));
}

/** Renders a throwaway overlay, as a user writes one: `resources` and `components` are repo paths. */
export function renderOverlay(overlay: {
  resources?: string[];
  components?: string[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'hostns-overlay-'));
  try {
    const rel = (p: string) => relative(dir, join(repoRoot, p));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: (overlay.resources ?? []).map(rel),
        components: (overlay.components ?? []).map(rel),
        ...(overlay.images ? { images: overlay.images } : {}),
      }),
    );
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export const OPERATOR_NAMESPACE = 'hostns-system';
export const OPERATOR_NAME = 'hostns-operator';
export const OPERATOR_SERVICE_ACCOUNT = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_NAME}`;
