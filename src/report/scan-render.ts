// Findings of rendered Helm charts and kustomizations, placed back where a person fixes them: the
// chart template (helm template's `# Source:` comments name it) or the kustomization's resource or
// patch that sets the flag; the rendered document when that is not unambiguous. Pure: the texts
// and a file reader are given.
import { join } from 'node:path';
import type { ScanFinding } from './scan.ts';

export interface SourceLine {
  file: string;
  line: number;
  column: number;
}

/** `# Source: chart/templates/ds.yaml` of the document holding `line` (1-based) of the rendered text. */
export function helmSourceAt(rendered: string, line: number): string | undefined {
  const lines = rendered.split('\n');
  for (let n = Math.min(line, lines.length) - 1; n >= 0; n--) {
    // helm writes `---` then `# Source: ...` above each document: the first met going up is its own
    const m = /^# Source: (.+)$/.exec(lines[n]!.trimEnd());
    if (m) return m[1];
    if (/^---(?:\s|$)/.test(lines[n]!)) return undefined;
  }
  return undefined;
}

/** The single line of `text` that sets `flag` (as a key), if there is exactly one. */
export function singleFlagLine(text: string, flag: string): { line: number; column: number } | undefined {
  const hits: { line: number; column: number }[] = [];
  text.split('\n').forEach((l, i) => {
    const m = new RegExp(`^(\\s*(?:-\\s+)?)${flag}\\s*:`).exec(l) ?? new RegExp(`([{,]\\s*)${flag}\\s*:`).exec(l);
    if (m) hits.push({ line: i + 1, column: m.index + m[1]!.length + 1 });
  });
  return hits.length === 1 ? hits[0] : undefined;
}

/**
 * Moves findings of a `helm template` rendering to the template that produced them, when its
 * `# Source:` file sets the flag on exactly one line; `read` returns a file's text or undefined.
 */
export function placeHelmFindings(
  findings: ScanFinding[],
  renderedName: string,
  rendered: string,
  chartDir: string,
  read: (path: string) => string | undefined,
): void {
  for (const f of findings) {
    if (f.file !== renderedName) continue;
    const source = helmSourceAt(rendered, f.line);
    if (!source) continue;
    // chart/templates/x.yaml; a subchart's is chart/charts/sub/templates/x.yaml
    const inChart = source.split('/').slice(1).join('/');
    const path = join(chartDir, inChart);
    const text = read(path);
    const at = text === undefined ? undefined : singleFlagLine(text, f.flag);
    if (at)
      Object.assign(f, {
        file: path,
        line: at.line,
        column: at.column,
        field: `${f.field} (rendered by helm template)`,
      });
  }
}

/**
 * Moves findings of a kustomization's rendering to the resource or patch that sets the flag,
 * given the findings of those files scanned alone: the one of the same kind and flag whose name
 * the rendered name contains (namePrefix/nameSuffix), when there is exactly one.
 */
export function placeKustomizeFindings(
  findings: ScanFinding[],
  renderedName: string,
  sourceFindings: readonly ScanFinding[],
): void {
  for (const f of findings) {
    if (f.file !== renderedName) continue;
    const candidates = sourceFindings.filter((s) => s.kind === f.kind && s.flag === f.flag && f.name.includes(s.name));
    const files = new Set(candidates.map((c) => `${c.file}:${c.line}:${c.column}`));
    if (files.size !== 1) continue;
    const c = candidates[0]!;
    Object.assign(f, { file: c.file, line: c.line, column: c.column, field: `${f.field} (rendered by kustomize)` });
  }
}
