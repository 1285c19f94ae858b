// Reading manifests as the API server will: YAML documents one at a time (memory bounded by the
// largest document, not the file), scalars as sigs.k8s.io/yaml reads them, the API server's
// alias budget, and syntax errors placed where a person fixes them. Pure: text pieces in, documents out.
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Document,
  type Node,
  type Pair,
  type ParseOptions,
  type DocumentOptions,
  type SchemaOptions,
  type YAMLError,
} from 'yaml';

/** One document's text, cut out of a stream at its `---` / `...` markers. */
export interface DocumentText {
  text: string;
  /** 0-based line of the text's first line in the whole input. */
  firstLine: number;
}

/** Whether the line starting at `at` (ending at `nl`) is `---` or `...` followed by a blank or its end. */
function isMarker(buf: string, at: number, nl: number, marker: '---' | '...'): boolean {
  if (!buf.startsWith(marker, at)) return false;
  const next = at + 3;
  return next === nl || buf[next] === ' ' || buf[next] === '\t' || buf[next] === '\r';
}

/** Whether the line holds content: not blank, not a comment, not a directive, not a bare `---`. */
function isContent(buf: string, at: number, nl: number): boolean {
  let i = at;
  if (isMarker(buf, at, nl, '---')) i += 3;
  else if (buf[at] === '%') return false;
  while (i < nl && (buf[i] === ' ' || buf[i] === '\t' || buf[i] === '\r')) i++;
  return i < nl && buf[i] !== '#';
}

/**
 * The pieces as one string of its own. A slice of a piece keeps the whole piece (1 MiB) alive, and
 * so would every name or label the scan keeps from the document: concatenating, then slicing,
 * makes V8 copy the text into a new string the size of the document.
 */
function ownCopy(parts: readonly string[]): string {
  return (parts.join('') + '\n').slice(0, -1);
}

/**
 * Cuts a stream of text pieces (any boundaries) into documents. A `---` or `...` at column 0
 * always is a document marker in YAML (even inside a scalar), so cutting there is exact; a marker
 * preceded only by comments and directives starts the same document. A document is kept as a few
 * large slices of the pieces until it is complete, never as lines.
 */
export function* splitDocuments(pieces: Iterable<string>): Generator<DocumentText> {
  let carry = '';
  let segments: string[] = [];
  let firstLine = 0;
  let lineNo = 0;
  let hasContent = false;
  function* scan(buf: string): Generator<DocumentText> {
    let segStart = 0;
    let pos = 0;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', pos)) {
      const lineStart = pos;
      if (hasContent && isMarker(buf, lineStart, nl, '---')) {
        segments.push(buf.slice(segStart, lineStart));
        yield { text: ownCopy(segments), firstLine };
        segments = [];
        segStart = lineStart;
        firstLine = lineNo;
        hasContent = false;
      }
      if (!hasContent) hasContent = isContent(buf, lineStart, nl);
      lineNo++;
      pos = nl + 1;
      if (isMarker(buf, lineStart, nl, '...')) {
        segments.push(buf.slice(segStart, pos));
        yield { text: ownCopy(segments), firstLine };
        segments = [];
        segStart = pos;
        firstLine = lineNo;
        hasContent = false;
      }
    }
    segments.push(buf.slice(segStart, pos));
    carry = buf.slice(pos);
  }
  for (const piece of pieces) yield* scan(carry + piece);
  if (carry !== '') yield* scan(carry + '\n');
  const last = ownCopy(segments);
  if (last !== '') yield { text: last, firstLine };
}

/**
 * sigs.k8s.io/yaml (go-yaml v2) semantics: YAML 1.1 booleans (yes/no/on/off/y/n), 1.1 integers,
 * merge keys; but a timestamp-looking scalar stays a string (go-yaml hands it to JSON as text) and
 * there are no sexagesimal numbers (`1:20` is a string there).
 */
const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  merge: true,
  prettyErrors: true,
  uniqueKeys: true,
  logLevel: 'silent',
  customTags: (tags) =>
    tags.filter((t) => {
      const tag = typeof t === 'string' ? t : t.tag;
      const format = typeof t === 'string' ? undefined : t.format;
      return tag !== 'tag:yaml.org,2002:timestamp' && format !== 'TIME';
    }),
};

export interface ParsedDocument {
  doc: Document;
  lines: LineCounter;
  firstLine: number;
  /** The text the document's offsets point into. */
  text: string;
}

/** The documents of one piece of text (normally one; more when markers were unusual). */
export function parseDocuments(piece: DocumentText): ParsedDocument[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(piece.text, { ...PARSE_OPTIONS, lineCounter: lines });
  const list: Document[] = Array.isArray(docs) ? docs : [];
  return list.map((doc) => ({ doc, lines, firstLine: piece.firstLine, text: piece.text }));
}

/** 1-based line and column of an offset of the document, in the whole input. */
export function positionIn(p: ParsedDocument, offset: number | undefined): { line: number; column: number } {
  const at = p.lines.linePos(offset ?? 0);
  return { line: at.line + p.firstLine, column: at.col };
}

// The API server's alias budget (go-yaml v2 decode.go, which sigs.k8s.io/yaml uses): once more
// than 100 nodes were decoded through aliases and more than 1000 in all, the aliased share may be
// at most 99% up to 400k decoded nodes, falling to 10% at 4M. A billion-laughs document fails it;
// a scalar alias used hundreds of times does not.
const ALIAS_RATIO_LOW = 400_000;
const ALIAS_RATIO_HIGH = 4_000_000;

function allowedAliasRatio(decoded: number): number {
  if (decoded <= ALIAS_RATIO_LOW) return 0.99;
  if (decoded >= ALIAS_RATIO_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decoded - ALIAS_RATIO_LOW) / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW));
}

/**
 * Nodes the document expands to, and how many of them come through aliases. Memoised and with
 * anchors indexed in one pass: linear in the document, however large the expansion.
 */
export function aliasExpansion(doc: Document): { decoded: number; aliased: number } {
  const anchors = new Map<string, Node>();
  const targets = new Map<Node, Node | undefined>();
  visit(doc, {
    Node(_, node) {
      // an anchor applies to the aliases after it (a redefinition takes over from there on)
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  const sizes = new Map<Node, number>();
  const sizeOf = (node: unknown): number => {
    if (isAlias(node)) {
      const target = targets.get(node);
      return target ? sizeOf(target) : 1;
    }
    if (isPair(node)) return sizeOf(node.key) + sizeOf(node.value);
    if (!isCollection(node) && !isScalar(node)) return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, 1); // an alias inside its own anchor counts once
    let n = 1;
    if (isCollection(node)) for (const item of node.items) n += sizeOf(item);
    sizes.set(node, n);
    return n;
  };
  const decoded = sizeOf(doc.contents);
  let aliased = 0;
  for (const [alias, target] of targets) aliased += target ? sizeOf(target) : sizeOf(alias);
  return { decoded, aliased };
}

export function overAliasBudget(doc: Document): string | undefined {
  const { decoded, aliased } = aliasExpansion(doc);
  if (aliased > 100 && decoded > 1000 && aliased / decoded > allowedAliasRatio(decoded)) {
    const share = Math.round((aliased / decoded) * 100);
    return (
      `aliases expand this document to ${decoded} nodes, ${share}% of them through aliases: ` +
      "over the API server's budget (document contains excessive aliasing)"
    );
  }
  return undefined;
}

/** The node an alias points to (aliases of aliases included). */
export function deref(node: unknown, doc: Document): Node | undefined {
  let at = node;
  for (let i = 0; isAlias(at) && i < 64; i++) at = at.resolve(doc);
  return at === null || at === undefined || isAlias(at) ? undefined : (at as Node);
}

function keyOf(p: Pair): unknown {
  return isScalar(p.key) ? p.key.value : p.key;
}

function isMergePair(p: Pair): boolean {
  return isScalar(p.key) && (p.key.value === '<<' || String(p.key.source) === '<<');
}

/**
 * The pair `key` of a mapping as YAML 1.1 reads it: its own key, else the first merged mapping
 * (`<<: *base`, `<<: [*a, *b]`) that has it. The pair is where the text is: the line to fix.
 */
export function pairIn(node: unknown, key: string, doc: Document, depth = 0): Pair | undefined {
  const map = deref(node, doc);
  if (!isMap(map) || depth > 32) return undefined;
  const own = map.items.find((p) => !isMergePair(p) && keyOf(p) === key);
  if (own) return own;
  for (const p of map.items) {
    if (!isMergePair(p)) continue;
    const merged = deref(p.value, doc);
    for (const source of isSeq(merged) ? merged.items : [merged]) {
      const found = pairIn(source, key, doc, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

export function nodeAt(node: unknown, path: readonly string[], doc: Document): Node | undefined {
  let at: unknown = node;
  for (const k of path) {
    const p = pairIn(at, k, doc);
    if (!p) return undefined;
    at = p.value;
  }
  return deref(at, doc);
}

/**
 * Where a syntax error is fixed. The parser notices an unclosed `[`, `{` or quote where the next
 * line starts; the person fixes it where it was opened.
 */
export function syntaxErrorOffset(doc: Document, error: YAMLError): number {
  const at = error.pos[0];
  if (!/end with a [\]}]|Missing closing/.test(error.message)) return at;
  let opener: number | undefined;
  visit(doc, {
    Node(_, node) {
      const range = node.range;
      if (!range || range[0] >= at || range[1] < at) return;
      const unclosed =
        (isCollection(node) && node.flow) ||
        (isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE'));
      if (unclosed && (opener === undefined || range[0] > opener)) opener = range[0];
    },
  });
  return opener ?? at;
}
