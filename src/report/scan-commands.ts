// Host namespaces outside Kubernetes manifests: `docker|podman|nerdctl run|create` command lines
// with --network/--net/--pid/--ipc host in Dockerfile RUN instructions, shell scripts, Makefile
// recipes and CI workflow files, and Compose services with network_mode/pid/ipc: host. Pure: text
// in, findings out. A command is recognised by its words, so a comment, an `echo "docker run
// --net=host"` or a step's name never matches.
import { isMap, isScalar, isSeq, visit, type Document, type Pair, type Scalar } from 'yaml';
import type { HostNamespace } from '../api/v1alpha1.ts';
import { pairIn, parseDocuments, positionIn, splitDocuments, type ParsedDocument } from './scan-yaml.ts';

/** The kinds of file beyond Kubernetes manifests, recognised by name (docs/cli.md lists them). */
export type CommandFileKind = 'dockerfile' | 'shell' | 'makefile' | 'ci';

export function commandFileKind(path: string): CommandFileKind | undefined {
  const name = path.split(/[\\/]/).pop() ?? '';
  const normalized = path.replace(/\\/g, '/');
  if (/^(?:Dockerfile|Containerfile)(?:\..+)?$/.test(name) || /\.(?:dockerfile|containerfile)$/i.test(name))
    return 'dockerfile';
  if (/\.(?:sh|bash)$/.test(name)) return 'shell';
  if (/^(?:GNUmakefile|makefile|Makefile)$/.test(name) || /\.mk$/.test(name)) return 'makefile';
  if (
    /(?:^|\/)\.github\/workflows\/[^/]+\.ya?ml$/.test(normalized) ||
    name === '.gitlab-ci.yml' ||
    /(?:^|\/)\.circleci\/config\.ya?ml$/.test(normalized)
  )
    return 'ci';
  return undefined;
}

const COMPOSE_NAME = /^(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml$/;

export function isComposeFile(path: string): boolean {
  return COMPOSE_NAME.test(path.split(/[\\/]/).pop() ?? '');
}

/** One host namespace requested outside a manifest. */
export interface CommandFinding {
  line: number;
  column: number;
  flag: HostNamespace;
  /** What sets it, as written: `docker run --network=host`, `services.web.network_mode: host`. */
  what: string;
  /** `docker run`, `podman create`, `compose service web`. */
  subject: string;
}

export interface CommandError {
  line?: number;
  column?: number;
  message: string;
}

const ENGINES = new Set(['docker', 'podman', 'nerdctl']);
const RUNNERS = new Set(['run', 'create']);
const OPTION_FLAG: Record<string, HostNamespace> = {
  '--network': 'hostNetwork',
  '--net': 'hostNetwork',
  '--pid': 'hostPID',
  '--ipc': 'hostIPC',
};
/** Options of `run`/`create` that take a value as the next word (so it is not taken for the image). */
const VALUE_OPTION_NAMES = [
  'env',
  'label',
  'name',
  'publish',
  'user',
  'volume',
  'workdir',
  'mount',
  'entrypoint',
  'network',
  'net',
  'pid',
  'ipc',
  'platform',
  'memory',
  'cpus',
  'add-host',
  'device',
  'cap-add',
  'cap-drop',
  'security-opt',
  'ulimit',
  'tmpfs',
  'hostname',
  'restart',
  'log-driver',
  'log-opt',
  'dns',
  'env-file',
  'label-file',
  'runtime',
  'gpus',
  'pull',
  'userns',
  'uts',
  'cgroupns',
  'shm-size',
  'stop-signal',
  'health-cmd',
  'network-alias',
  'ip',
  'mac-address',
];
const VALUE_OPTIONS = new RegExp(`^(?:-[ehlpuvw]|--(?:${VALUE_OPTION_NAMES.join('|')}))$`);

interface Word {
  text: string;
  /** 0-based offset of the word in its line. */
  at: number;
  quoted: boolean;
}

/** Shell words and the operators between commands; quotes kept out of the words' text. */
function shellWords(line: string): (Word | 'sep')[] {
  const out: (Word | 'sep')[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break; // a comment to the end of the line
    if (c === ';' || c === '|' || c === '&' || c === '(' || c === ')' || c === '`') {
      out.push('sep');
      i++;
      continue;
    }
    const start = i;
    let text = '';
    let quoted = false;
    while (i < line.length && !' \t;|&()`'.includes(line[i]!)) {
      const ch = line[i]!;
      if (ch === '"' || ch === "'") {
        quoted = true;
        const end = line.indexOf(ch, i + 1);
        const stop = end < 0 ? line.length : end;
        text += line.slice(i + 1, stop);
        i = stop + 1;
      } else if (ch === '\\' && i + 1 < line.length) {
        text += line[i + 1];
        i += 2;
      } else {
        text += ch;
        i++;
      }
    }
    out.push({ text, at: start, quoted });
  }
  return out;
}

const PREFIX_COMMANDS = new Set(['sudo', 'exec', 'command', 'time', 'nohup', 'env']);

/** Host-namespace options of every container-engine `run`/`create` command on one logical line. */
function commandsInLine(line: string): { at: number; flag: HostNamespace; what: string; subject: string }[] {
  const found: { at: number; flag: HostNamespace; what: string; subject: string }[] = [];
  const words = shellWords(line);
  let start = true;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'sep') {
      start = true;
      continue;
    }
    if (!start) continue;
    // skip variable assignments and wrappers at the start of a command (FOO=1 sudo docker run ...)
    if (!w.quoted && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.text) || PREFIX_COMMANDS.has(w.text))) continue;
    start = false;
    const engine = w.text.split('/').pop()!;
    if (w.quoted || !ENGINES.has(engine)) continue;
    let j = i + 1;
    const next = words[j];
    if (next !== undefined && next !== 'sep' && next.text === 'container') j++;
    const sub = words[j];
    if (sub === undefined || sub === 'sep' || !RUNNERS.has(sub.text)) continue;
    for (let k = j + 1; k < words.length; k++) {
      const arg = words[k]!;
      if (arg === 'sep' || !arg.text.startsWith('-')) break; // the image: the container's own arguments follow
      const [name, inline] = arg.text.includes('=')
        ? [arg.text.slice(0, arg.text.indexOf('=')), arg.text.slice(arg.text.indexOf('=') + 1)]
        : [arg.text, undefined];
      const valueWord = inline === undefined ? words[k + 1] : undefined;
      const value = inline ?? (valueWord && valueWord !== 'sep' ? valueWord.text : undefined);
      const flag = OPTION_FLAG[name];
      if (flag && value === 'host')
        found.push({
          at: arg.at,
          flag,
          what: `${engine} ${sub.text} ${name}${inline === undefined ? ' ' : '='}host`,
          subject: `${engine} ${sub.text}`,
        });
      if (inline === undefined && VALUE_OPTIONS.test(name)) k++;
    }
  }
  return found;
}

/** Physical lines joined at trailing backslashes, each logical line with where its pieces start. */
function logicalLines(
  lines: readonly string[],
  first: number,
  last: number,
): { text: string; starts: { line: number; offset: number }[] }[] {
  const out: { text: string; starts: { line: number; offset: number }[] }[] = [];
  let text = '';
  let starts: { line: number; offset: number }[] = [];
  for (let n = first; n < last; n++) {
    const raw = lines[n]!.replace(/\r$/, '');
    const continued = /(?:^|[^\\])\\$/.test(raw);
    starts.push({ line: n, offset: text.length });
    text += continued ? raw.slice(0, -1) + ' ' : raw;
    if (!continued) {
      out.push({ text, starts });
      text = '';
      starts = [];
    }
  }
  if (starts.length) out.push({ text, starts });
  return out;
}

function locate(l: { starts: { line: number; offset: number }[] }, at: number): { line: number; column: number } {
  let best = l.starts[0]!;
  for (const s of l.starts) if (s.offset <= at) best = s;
  return { line: best.line + 1, column: at - best.offset + 1 };
}

/** The shell text of a line (first of a logical line) of a file of `kind`; undefined: not shell. */
function shellOf(
  kind: 'dockerfile' | 'shell' | 'makefile',
  line: string,
): { shell: string; offset: number } | undefined {
  if (kind === 'shell') return { shell: line, offset: 0 };
  if (kind === 'makefile') {
    // recipe lines start with a tab; @ - + prefixes are make's, not the shell's
    const m = /^\t[@+-]*/.exec(line);
    return m ? { shell: line.slice(m[0].length), offset: m[0].length } : undefined;
  }
  const m = /^\s*RUN\s+(?:--\S+\s+)*/i.exec(line);
  return m ? { shell: line.slice(m[0].length), offset: m[0].length } : undefined;
}

/** Commands in physical lines [first, last) of `lines`, continuation lines joined. */
function scanLines(
  lines: readonly string[],
  first: number,
  last: number,
  kind: 'dockerfile' | 'shell' | 'makefile',
  out: CommandFinding[],
): void {
  for (const logical of logicalLines(lines, first, last)) {
    const firstEnd = logical.starts.length > 1 ? logical.starts[1]!.offset : logical.text.length;
    const head = shellOf(kind, logical.text.slice(0, firstEnd));
    if (!head) continue;
    const shellText = ' '.repeat(head.offset) + logical.text.slice(head.offset);
    const trimmed = shellText.trim();
    const exec = kind === 'dockerfile' && trimmed.startsWith('[') ? execForm(trimmed) : undefined;
    for (const f of commandsInLine(exec ?? shellText)) {
      const at =
        exec === undefined ? locate(logical, f.at) : { line: logical.starts[0]!.line + 1, column: head.offset + 1 };
      out.push({ ...at, flag: f.flag, what: f.what, subject: f.subject });
    }
  }
}

const RUN_KEYS = new Set(['run', 'script', 'before_script', 'after_script', 'command', 'cmd', 'entrypoint']);

/** CI workflow files: the shell of `run:` / `script:` (and list items of them), located in the file. */
function scanWorkflow(text: string, out: CommandFinding[], errors: CommandError[]): void {
  const lines = text.split('\n');
  for (const piece of splitDocuments([text])) {
    for (const p of parseDocuments(piece)) {
      if (p.doc.errors.length) {
        const e = p.doc.errors[0]!;
        errors.push({
          ...positionIn(p, e.pos[0]),
          message: `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        });
        continue;
      }
      visit(p.doc, {
        Pair(_, pair) {
          if (!isScalar(pair.key) || !RUN_KEYS.has(String(pair.key.value))) return;
          const scalars = isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const sc of scalars)
            if (isScalar(sc) && typeof sc.value === 'string' && sc.range) shellScalar(p, sc, lines, out);
        },
      });
    }
  }
}

function shellScalar(p: ParsedDocument, sc: Scalar, lines: readonly string[], out: CommandFinding[]): void {
  const start = positionIn(p, sc.range![0]);
  const end = positionIn(p, sc.range![1]);
  if (sc.type === 'BLOCK_LITERAL' || sc.type === 'BLOCK_FOLDED') {
    // the block's lines are shell as they stand in the file (columns included)
    scanLines(lines, start.line, end.line, 'shell', out);
    return;
  }
  if (sc.type === 'PLAIN' && start.line === end.line) {
    const line = lines[start.line - 1]!;
    const masked = ' '.repeat(start.column - 1) + line.slice(start.column - 1, end.column - 1);
    const local: CommandFinding[] = [];
    scanLines([masked], 0, 1, 'shell', local);
    for (const f of local) out.push({ ...f, line: start.line });
    return;
  }
  // quoted or multi-line plain: the value's words, reported at the value
  for (const f of commandsInLine(String(sc.value).replace(/\n/g, ' ')))
    out.push({ ...start, flag: f.flag, what: f.what, subject: f.subject });
}

/** Container-engine commands with a host namespace, in a Dockerfile, script, Makefile or CI file. */
export function scanCommands(
  text: string,
  kind: CommandFileKind,
): { findings: CommandFinding[]; errors: CommandError[] } {
  const findings: CommandFinding[] = [];
  const errors: CommandError[] = [];
  if (kind === 'ci') scanWorkflow(text, findings, errors);
  else {
    const lines = text.split('\n');
    scanLines(lines, 0, lines.length, kind, findings);
  }
  return { findings, errors };
}

/** `RUN ["docker", "run", "--net=host", "x"]` as a command line. */
function execForm(text: string): string | undefined {
  try {
    const parts = JSON.parse(text) as unknown;
    return Array.isArray(parts) && parts.every((p) => typeof p === 'string')
      ? parts
          .map((p) => `'${p.replace(/'/g, '')}'`)
          .join(' ')
          .replace(/^'([^']*)'/, '$1')
      : undefined;
  } catch {
    return undefined;
  }
}

const COMPOSE_KEYS: [string, HostNamespace][] = [
  ['network_mode', 'hostNetwork'],
  ['pid', 'hostPID'],
  ['ipc', 'hostIPC'],
];

/**
 * Compose services with `network_mode|pid|ipc: host`, and those sharing (`service:NAME`,
 * `container:NAME`) with a service that uses the host's: both are in the host namespace.
 */
export function scanCompose(text: string): { findings: CommandFinding[]; errors: CommandError[] } {
  const findings: CommandFinding[] = [];
  const errors: CommandError[] = [];
  for (const piece of splitDocuments([text])) {
    for (const p of parseDocuments(piece)) {
      if (p.doc.errors.length) {
        const e = p.doc.errors[0]!;
        errors.push({
          ...positionIn(p, e.pos[0]),
          message: `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        });
        continue;
      }
      const services = pairIn(p.doc.contents, 'services', p.doc)?.value;
      if (!isMap(services)) continue;
      composeServices(p, p.doc, services.items, findings);
    }
  }
  return { findings, errors };
}

function composeServices(p: ParsedDocument, doc: Document, services: Pair[], out: CommandFinding[]): void {
  const value = (service: unknown, key: string) => {
    const pair = pairIn(service, key, doc);
    return pair && isScalar(pair.value) && typeof pair.value.value === 'string'
      ? { pair, text: pair.value.value }
      : undefined;
  };
  const byName = new Map(services.map((s) => [String(isScalar(s.key) ? s.key.value : s.key), s.value]));
  for (const s of services) {
    const name = String(isScalar(s.key) ? s.key.value : s.key);
    for (const [key, flag] of COMPOSE_KEYS) {
      const v = value(s.value, key);
      if (!v) continue;
      let host = v.text === 'host';
      let via = '';
      // follow service: sharing to the service whose namespace is shared (bounded: no cycles)
      let target = /^service:(.+)$/.exec(v.text)?.[1];
      for (let hops = 0; target !== undefined && hops < 16 && !host; hops++) {
        const t = value(byName.get(target), key);
        via = ` (through service ${target})`;
        host = t?.text === 'host';
        target = t ? /^service:(.+)$/.exec(t.text)?.[1] : undefined;
      }
      if (!host) continue;
      const at = positionIn(p, (v.pair.key as { range?: [number, number, number] }).range?.[0]);
      out.push({ ...at, flag, what: `services.${name}.${key}: ${v.text}${via}`, subject: `Compose service ${name}` });
    }
  }
}
