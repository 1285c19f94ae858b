// A small reader for the Dockerfile, enough to check it without a container engine: instructions
// with line continuations joined, grouped into stages, build args resolved from their defaults.

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  /** The resolved base image reference (`FROM <image>`). */
  from: string;
  name?: string;
  instructions: Instruction[];
}

export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending && line.trimStart().startsWith('#')) return; // comments inside a continuation
    if (!pending) startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full);
    if (m) out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: startLine });
  });
  if (pending) throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

/** Splits into stages; `ARG` before the first `FROM` provides defaults for `${NAME}` in FROM lines. */
export function parseStages(text: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      const from = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
        const name = (a ?? b)!;
        const value = globalArgs.get(name);
        if (value === undefined) throw new Error(`line ${ins.line}: FROM uses \${${name}} without a default`);
        return value;
      });
      stages.push({ from, instructions: [], ...(m[2] ? { name: m[2] } : {}) });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: only ARG may precede the first FROM`);
      const m = /^(\w+)=(\S+)$/.exec(ins.args);
      if (m) globalArgs.set(m[1]!, m[2]!);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

/** The JSON (exec) form of ENTRYPOINT/CMD, or an error: the shell form would run node under sh as PID 1. */
export function execForm(ins: Instruction): string[] {
  const parsed: unknown = JSON.parse(ins.args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`line ${ins.line}: ${ins.keyword} is not in exec form`);
  }
  return parsed;
}
