// Reading scan inputs: files, folders (recursive, symlinks followed once), `-` for stdin. Files are
// read in chunks as the scan consumes them, so a large file is never held whole. Unreadable paths
// are reported, never thrown, so the scan goes on with the rest.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, sep } from 'node:path';
import { parse } from 'yaml';
import { StringDecoder } from 'node:string_decoder';
import type { ScanError, ScanSource } from '../report/scan.ts';
import { commandFileKind, isComposeFile } from '../report/scan-commands.ts';

const MANIFEST = /\.(ya?ml|json)$/i;
/** Hidden folders that hold CI workflows: entered while recursing (other hidden folders are not). */
const CI_DIRS = new Set(['.github', '.circleci']);

/** What a file is, by its path: a Kubernetes manifest, a Compose file, or a file of commands. */
export function formatOf(path: string): ScanSource['format'] | undefined {
  const commands = commandFileKind(path);
  if (commands) return commands;
  if (isComposeFile(path)) return 'compose';
  return MANIFEST.test(path) ? 'manifest' : undefined;
}
const CHUNK_BYTES = 1 << 20;

/** Folders never entered while recursing (still read when named explicitly). */
const SKIPPED_DIRS = new Set(['node_modules']);

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** Manifests under `dir`; a symlinked folder is entered unless it leads back to one being walked. */
function walk(dir: string, out: string[], errors: ScanError[], ancestors: Set<string>): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const st = statSync(p);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch (err) {
        errors.push({ file: p, message: `broken symbolic link (${errorCode(err)})` });
        continue;
      }
    }
    if (isDir) {
      if ((e.name.startsWith('.') && !CI_DIRS.has(e.name)) || SKIPPED_DIRS.has(e.name)) continue;
      const real = realpathSync(p);
      if (ancestors.has(real)) {
        errors.push({ file: p, message: `symbolic link loop: leads back to ${real}, not followed` });
        continue;
      }
      ancestors.add(real);
      walk(p, out, errors, ancestors);
      ancestors.delete(real);
    } else if (isFile && formatOf(p) !== undefined) {
      // inside a CI folder only its workflow files: other YAML there is not Kubernetes
      if (p.split(sep).some((part) => CI_DIRS.has(part)) && commandFileKind(p) !== 'ci') continue;
      out.push(p);
    }
  }
}

/** The file's text in pieces of about 1 MiB (UTF-8 sequences split across pieces are kept whole). */
export function* readChunks(fd: number): Generator<string> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  const decoder = new StringDecoder('utf8');
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      // stdin set non-blocking by the parent: wait a little and read on
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    yield decoder.write(buffer.subarray(0, n));
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

function fileSource(path: string, errors: ScanError[], trusted: boolean): ScanSource {
  return {
    path,
    trusted,
    format: formatOf(path) ?? 'manifest',
    *read() {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (err) {
        errors.push({ file: path, message: `cannot read: ${errorCode(err)}` });
        return;
      }
      try {
        yield* readChunks(fd);
      } catch (err) {
        errors.push({ file: path, message: `cannot read: ${errorCode(err)}` });
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Whether `path` lies in one of `roots` (real paths compared, so a symlink cannot pose as one). */
function within(path: string, roots: readonly string[]): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  return roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep));
}

/**
 * The sources named by `paths`. Files under `trustedRoots` (the --exceptions paths) are marked
 * trusted: an exception there counts even when the scan covers that folder too. Errors met while
 * reading (a file vanished, a read failed) are appended to `errors` as the scan reads.
 */
export function readInputs(
  paths: readonly string[],
  readStdin: () => string | Iterable<string>,
  trustedRoots: readonly string[] = [],
): { sources: ScanSource[]; errors: ScanError[] } {
  const sources: ScanSource[] = [];
  const errors: ScanError[] = [];
  const roots = trustedRoots.flatMap((r) => {
    try {
      return [realpathSync(r)];
    } catch {
      return [];
    }
  });
  let stdinRead = false;
  for (const path of paths) {
    if (path === '-') {
      if (stdinRead) continue;
      stdinRead = true;
      sources.push({
        path,
        read: () => {
          const s = readStdin();
          return typeof s === 'string' ? [s] : s;
        },
      });
      continue;
    }
    try {
      const st = statSync(path);
      const files: string[] = [];
      if (st.isDirectory()) walk(path, files, errors, new Set([realpathSync(path)]));
      else files.push(path);
      if (st.isDirectory() && files.length === 0)
        errors.push({
          file: path,
          message:
            'folder holds no file to scan (*.yaml, *.yml, *.json, Compose, Dockerfile, script, Makefile, CI workflow)',
        });
      for (const f of files) sources.push(fileSource(f, errors, within(f, roots)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      errors.push({
        file: path,
        message: code === 'ENOENT' ? 'no such file or folder' : `cannot read: ${code ?? (err as Error).message}`,
      });
    }
  }
  return { sources, errors };
}

/** A chart or kustomization rendered to YAML, or why it could not be. */
export interface Rendered {
  /** Shown as the file of the rendered documents: `helm template CHART`, `kubectl kustomize DIR`. */
  name: string;
  text?: string;
  error?: ScanError;
}

function onPath(tool: string, env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, tool);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * helm on PATH, else the one the project's tools build caches
 * (`$HOSTNS_CACHE_DIR` or `~/.cache/hostns-operator`, then `tools/helm-*`).
 */
export function findHelm(env: Record<string, string | undefined>): string | undefined {
  const found = onPath('helm', env);
  if (found) return found;
  const cache =
    env.HOSTNS_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'), 'hostns-operator');
  const tools = join(cache, 'tools');
  try {
    const dirs = readdirSync(tools)
      .filter((d) => d.startsWith('helm') && !d.endsWith('.partial') && !d.endsWith('.lock'))
      .sort();
    for (const d of dirs.reverse()) if (existsSync(join(tools, d, 'helm'))) return join(tools, d, 'helm');
  } catch {
    // no cache
  }
  return undefined;
}

function renderWith(name: string, file: string, command: string, args: string[]): Rendered {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.error) return { name, error: { file, message: `${name}: cannot run ${command} (${errorCode(r.error)})` } };
  if (r.status !== 0) {
    const why =
      (r.stderr ?? '')
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l !== '') ?? `exit status ${r.status}`;
    return { name, error: { file, message: `${name} failed: ${why}` } };
  }
  return { name, text: r.stdout };
}

export function renderHelm(
  chart: string,
  values: readonly string[],
  env: Record<string, string | undefined>,
): Rendered {
  const name = `helm template ${chart}`;
  const helm = findHelm(env);
  if (!helm)
    return {
      name,
      error: {
        file: chart,
        message: `${name}: helm not found on PATH nor in the tools cache (~/.cache/hostns-operator/tools)`,
      },
    };
  return renderWith(name, chart, helm, ['template', 'hostns-scan', chart, ...values.flatMap((v) => ['--values', v])]);
}

export function renderKustomize(dir: string, env: Record<string, string | undefined>): Rendered {
  const name = `kubectl kustomize ${dir}`;
  const kubectl = onPath('kubectl', env);
  if (kubectl) return renderWith(name, dir, kubectl, ['kustomize', dir]);
  const kustomize = onPath('kustomize', env);
  if (kustomize) return renderWith(`kustomize build ${dir}`, dir, kustomize, ['build', dir]);
  return { name, error: { file: dir, message: `${name}: neither kubectl nor kustomize found on PATH` } };
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** The local files a kustomization is built from: its resources, bases, components and patches, recursively. */
export function kustomizationSources(dir: string, seen = new Set<string>()): string[] {
  const real = (() => {
    try {
      return realpathSync(dir);
    } catch {
      return undefined;
    }
  })();
  if (!real || seen.has(real)) return [];
  seen.add(real);
  const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) return [];
  let k: Record<string, unknown>;
  try {
    k = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch {
    return [];
  }
  const listed = (key: string) => (Array.isArray(k[key]) ? (k[key] as unknown[]) : []);
  const paths = [
    ...listed('resources'),
    ...listed('bases'),
    ...listed('components'),
    ...listed('patchesStrategicMerge'),
    ...listed('patches').map((p) => (p && typeof p === 'object' ? (p as { path?: unknown }).path : undefined)),
  ].filter((p): p is string => typeof p === 'string' && !/^[a-z]+:\/\//i.test(p) && !p.includes('\n'));
  const out: string[] = [];
  for (const p of paths) {
    const full = join(dirname(file), p);
    try {
      if (statSync(full).isDirectory()) out.push(...kustomizationSources(full, seen));
      else out.push(full);
    } catch {
      // a remote or missing resource: kubectl kustomize reports it
    }
  }
  return out;
}
