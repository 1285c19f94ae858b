// Reading scan inputs: files, folders (recursive), `-` for stdin. Unreadable paths are reported,
// never thrown, so the scan goes on with the rest.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ScanError, ScanSource } from '../report/scan.ts';

const MANIFEST = /\.(ya?ml|json)$/i;

/** Folders never entered while recursing (still read when named explicitly). */
const SKIPPED_DIRS = new Set(['node_modules']);

function walk(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.') && !SKIPPED_DIRS.has(e.name)) walk(p, out);
    } else if ((e.isFile() || e.isSymbolicLink()) && MANIFEST.test(e.name)) {
      out.push(p);
    }
  }
}

export function readInputs(paths: readonly string[], readStdin: () => string): { sources: ScanSource[]; errors: ScanError[] } {
  const sources: ScanSource[] = [];
  const errors: ScanError[] = [];
  let stdinRead = false;
  for (const path of paths) {
    if (path === '-') {
      if (stdinRead) continue;
      stdinRead = true;
      sources.push({ path, text: readStdin() });
      continue;
    }
    try {
      const st = statSync(path);
      const files: string[] = [];
      if (st.isDirectory()) walk(path, files);
      else files.push(path);
      if (st.isDirectory() && files.length === 0) errors.push({ file: path, message: 'folder holds no *.yaml, *.yml or *.json file' });
      for (const f of files) {
        try {
          sources.push({ path: f, text: readFileSync(f, 'utf8') });
        } catch (err) {
          errors.push({ file: f, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        }
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      errors.push({ file: path, message: code === 'ENOENT' ? 'no such file or folder' : `cannot read: ${code ?? (err as Error).message}` });
    }
  }
  return { sources, errors };
}
