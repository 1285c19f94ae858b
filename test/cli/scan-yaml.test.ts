// Scan input robustness, class by class (issue 14): aliases, scalars as the API server reads them,
// values that are not booleans, locations through anchors and of syntax errors, documents streamed,
// and the trust model (a change cannot approve itself). Large inputs are generated here.
import { DateTime } from 'luxon';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { renderSarif, renderScanJson, renderScanText } from '../../src/report/scan-output.ts';
import { scanSources, hasFailures, type ScanSource } from '../../src/report/scan.ts';
import { aliasExpansion, parseDocuments, splitDocuments } from '../../src/report/scan-yaml.ts';

const now = DateTime.fromISO('2026-06-01T00:00:00Z', { zone: 'utc' });
const options = { now, config: DEFAULT_POLICY, defaultNamespace: 'default' };
const scan = (sources: ScanSource[], extra: ScanSource[] = [], more = {}) =>
  scanSources(sources, extra, { ...options, ...more });
const pod = (name: string, spec: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const OFFENDER = { path: 'offender.yaml', text: pod('promiscuous', '  hostNetwork: true\n') };

function laughs(levels: number): string {
  const out = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'data:',
    '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ];
  for (let i = 1; i < levels; i++) {
    const me = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    out.push(`  ${me}: &${me} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  return out.join('\n') + '\n';
}

describe('aliases: the API server budget, per document', () => {
  it('a billion laughs (and smaller bombs) is an error of its file; the other files are still scanned', () => {
    for (const levels of [4, 6, 9]) {
      const r = scan([{ path: 'bomb.yaml', text: laughs(levels) }, OFFENDER]);
      expect(r.errors, `levels ${levels}`).toMatchObject([{ file: 'bomb.yaml', line: 1, column: 1 }]);
      expect(r.errors[0]!.message).toMatch(/excessive aliasing/);
      expect(r.findings).toMatchObject([{ file: 'offender.yaml', name: 'promiscuous', status: 'offender' }]);
    }
  });

  it('a small alias tree within budget is fine (three levels: 1,110 nodes)', () => {
    const r = scan([{ path: 'ok.yaml', text: laughs(3) }]);
    expect(r.errors).toEqual([]);
  });

  it('one scalar alias used 101 or 1000 times is valid YAML and scans', () => {
    for (const uses of [101, 1000]) {
      const labels = Array.from({ length: uses }, (_, i) => `    l${i}: *v`).join('\n');
      const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {a: &v x}\n  labels:\n${labels}\nspec:\n  hostPID: true\n`;
      const r = scan([{ path: 'aliases.yaml', text }]);
      expect(r.errors, `${uses} uses`).toEqual([]);
      expect(r.findings).toMatchObject([{ flag: 'hostPID', line: uses + 8 }]);
    }
  });

  it('an alias to an anchor of another document is an error at that document', () => {
    for (const text of [
      'a: &x 1\n---\nkind: Pod\nb: *x\n',
      'kind: Pod\nspec: *nowhere\n',
      '---\nx: &a 1\n...\n---\nkind: Pod\nspec: {hostPID: *a}\n',
    ]) {
      const r = scan([{ path: 'cross.yaml', text }, OFFENDER]);
      expect(r.errors, text).toHaveLength(1);
      expect(r.errors[0]!.message).toMatch(/alias/i);
      expect(r.findings.map((f) => f.file)).toEqual(['offender.yaml']);
    }
  });

  it('counts expansion linearly (memoised), not by expanding', () => {
    const [p] = parseDocuments({ text: laughs(9), firstLine: 0 });
    expect(aliasExpansion(p!.doc).decoded).toBeGreaterThan(1e8);
  });

  it('every output format carries the error and the other file, SARIF included', () => {
    const r = scan([{ path: 'bomb.yaml', text: laughs(9) }, OFFENDER]);
    expect(renderScanText(r)).toMatch(/bomb\.yaml:1:1: error: document 1: aliases expand/);
    expect(renderScanText(r)).toMatch(/offender\.yaml:6:3: error: Pod default\/promiscuous/);
    expect(JSON.parse(renderScanJson(r))).toMatchObject({
      complete: false,
      errors: [{ file: 'bomb.yaml' }],
      findings: [{ file: 'offender.yaml' }],
    });
    const sarif = JSON.parse(renderSarif(r, 'test'));
    expect(sarif.runs[0].invocations[0]).toMatchObject({
      executionSuccessful: false,
      toolExecutionNotifications: [{ level: 'error' }],
    });
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toEqual(['HOSTNS001', 'HOSTNS005']);
    const ids = sarif.runs[0].tool.driver.rules.map((x: { id: string }) => x.id);
    for (const res of sarif.runs[0].results) expect(ids[res.ruleIndex]).toBe(res.ruleId);
  });
});

describe('scalars as the API server reads them (sigs.k8s.io/yaml, go-yaml v2)', () => {
  const exceptionDoc = (expiresAt: string, acceptedAt: string) => `apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: e, namespace: m}
spec:
  owner: team
  allow: [hostNetwork]
  podSelector: {matchLabels: {app: a}}
  riskAcceptance: {justification: reads host network statistics, acceptedBy: board, acceptedAt: ${acceptedAt}}
  expiresAt: ${expiresAt}
`;
  const ds =
    'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d, namespace: m}\nspec:\n  template:\n    metadata: {labels: {app: a}}\n    spec: {hostNetwork: true}\n';

  it('unquoted timestamps stay the strings written (several forms)', () => {
    for (const [expiresAt, acceptedAt] of [
      ['2026-06-27T15:05:37Z', '2026-05-01T00:00:00Z'],
      ['2026-06-27T15:05:37.5Z', '"2026-05-01T00:00:00Z"'],
      ["'2026-06-27T15:05:37+02:00'", '2026-05-01T00:00:00+00:00'],
    ]) {
      const r = scan(
        [{ path: 'ds.yaml', text: ds }],
        [{ path: 'e.yaml', text: exceptionDoc(expiresAt!, acceptedAt!) }],
      );
      expect(r.exceptions, expiresAt).toMatchObject([{ phase: 'Active', counts: true, problems: [] }]);
      expect(r.findings).toMatchObject([{ status: 'covered' }]);
    }
  });

  it('date-only and spaced timestamps stay strings too; sexagesimal numbers are strings', () => {
    const [p] = parseDocuments({
      text: 'a: 2026-06-27\nb: 2026-06-27 15:05:37\nc: 1:20\nd: 0x1F\ne: 010\n',
      firstLine: 0,
    });
    expect(p!.doc.toJS()).toEqual({ a: '2026-06-27', b: '2026-06-27 15:05:37', c: '1:20', d: 31, e: 8 });
  });

  it('YAML 1.1 booleans are booleans (yes, on, y, True), their negatives false', () => {
    for (const v of ['yes', 'Yes', 'on', 'ON', 'y', 'True', 'true']) {
      expect(scan([{ path: 'p.yaml', text: pod('p', `  hostIPC: ${v}\n`) }]).findings, v).toMatchObject([
        { flag: 'hostIPC', line: 6 },
      ]);
    }
    for (const v of ['no', 'off', 'n', 'False', 'false', '~', 'null', '']) {
      expect(scan([{ path: 'p.yaml', text: pod('p', `  hostIPC: ${v}\n`) }]), v).toMatchObject({
        findings: [],
        errors: [],
      });
    }
  });
});

describe('a host flag that is not a boolean is an error with file:line, never a pass', () => {
  const cases: [string, RegExp][] = [
    ['"true"', /is "true", not a boolean \(the API server refuses it/],
    ["'yes'", /is 'yes', not a boolean/],
    ['1', /is 1, not a boolean/],
    ['{{ .Values.hostNetwork }}', /is \{\{ \.Values\.hostNetwork \}\}, not a boolean \(an unrendered template/],
    ['"{{ .Values.hostNetwork }}"', /unrendered template/],
    ['[true]', /is \[true\], not a boolean/],
    ['2026-01-01T00:00:00Z', /not a boolean/],
  ];
  for (const [value, message] of cases) {
    it(`hostNetwork: ${value}`, () => {
      const r = scan([{ path: 'p.yaml', text: pod('p', `  hostNetwork: ${value}\n`) }]);
      expect(r.findings).toEqual([]);
      expect(r.errors).toMatchObject([{ file: 'p.yaml', line: 6, column: 16 }]);
      expect(r.errors[0]!.message).toMatch(message);
      expect(r.errors[0]!.message).toContain('Pod default/p: spec.hostNetwork');
    });
  }
});

describe('nothing leaks to stderr', () => {
  it('no runtime warning (collection keys, duplicate keys, tags) reaches process warnings or the console', () => {
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (const value of ['{{ .Values.x }}', '{[a]: 1}', '!!binary aGk=', '!custom x', '&a {<<: *a}']) {
        scan([{ path: 'p.yaml', text: pod('p', `  hostNetwork: ${value}\n  x: {? [k]: v}\n`) }]);
      }
      expect(emit).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
    } finally {
      emit.mockRestore();
      warn.mockRestore();
      error.mockRestore();
    }
  });
});

describe('locations a person fixes', () => {
  it('a flag merged from an anchor (<<: *base, <<: [*a, *b]) points at the anchor line', () => {
    const texts = ['x-base: &base\n  hostNetwork: true\n---\n', ''];
    const merged = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      <<: *base\n      containers: []\n`;
    const inOne = `apiVersion: v1\nkind: List\nbase: &base\n  hostNetwork: true\nitems:\n  - ${merged.replace(/\n/g, '\n    ').trimEnd()}\n`;
    const r1 = scan([{ path: 'l.yaml', text: inOne }]);
    expect(r1.errors).toEqual([]);
    expect(r1.findings).toMatchObject([{ flag: 'hostNetwork', line: 4, column: 3 }]);
    const many = `kind: Pod\nmetadata: {name: p}\nx: &a {hostPID: true}\ny: &b {hostIPC: true, hostPID: false}\nspec:\n  <<: [*a, *b]\n`;
    const r2 = scan([{ path: 'm.yaml', text: many }]);
    expect(r2.findings.map((f) => [f.flag, f.line, f.column])).toEqual([
      ['hostPID', 3, 8],
      ['hostIPC', 4, 8],
    ]);
    expect(texts).toBeTruthy();
  });

  it('a pod spec that is an alias points into the anchor', () => {
    const text = `kind: Pod\nmetadata: {name: p}\nx-spec: &s\n  containers: []\n  hostPID: true\nspec: *s\n`;
    expect(scan([{ path: 's.yaml', text }]).findings).toMatchObject([{ line: 5, column: 3 }]);
  });

  it('an unclosed bracket or quote is reported where it was opened, in any document', () => {
    const cases: [string, number, number][] = [
      ['kind: Pod\nmetadata:\n  labels: {app: [oops}\nspec: {}\n', 3, 17],
      ['kind: Pod\nmetadata: {name: "unterminated\nspec: {}\n', 2, 18],
      ['kind: Pod\nspec: {hostPID: true\nother: 1\n', 2, 7],
    ];
    for (const [text, line, column] of cases) {
      const withBefore = `kind: ConfigMap\n---\n${text}`;
      const r = scan([{ path: 'b.yaml', text: withBefore }]);
      expect(r.errors[0], text).toMatchObject({ line: line + 2, column });
    }
  });
});

describe('documents are streamed', () => {
  it('splits at --- and ... whatever the piece boundaries, keeping line numbers', () => {
    const text = '# head\n---\na: 1\n---\nb: 2\n...\n%YAML 1.1\n---\nc: 3\n--- {d: 4}\n';
    const expected = [...splitDocuments([text])];
    expect(expected.map((d) => d.firstLine)).toEqual([0, 3, 6, 9]);
    for (const size of [1, 2, 3, 7]) {
      const pieces = text.match(new RegExp(`[^]{1,${size}}`, 'g'))!;
      expect([...splitDocuments(pieces)]).toEqual(expected);
    }
  });

  it('reports lines in the whole file for findings in late documents, read in small pieces', () => {
    const docs = Array.from({ length: 500 }, (_, i) =>
      pod(`p${i}`, i === 499 ? '  hostIPC: true\n' : '  hostIPC: false\n'),
    );
    const text = docs.join('---\n');
    const pieces = text.match(/[^]{1,4096}/g)!;
    const r = scan([{ path: 'big.yaml', read: () => pieces }]);
    expect(r.objects).toBe(500);
    expect(r.findings).toMatchObject([
      { name: 'p499', line: text.split('\n').indexOf('  hostIPC: true') + 1, column: 3 },
    ]);
  });

  it('a document whose text names no host flag and no exception is counted without a full parse', () => {
    const plain = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "[not closed"}\n';
    const brokenButIrrelevant = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n';
    const r = scan([{ path: 'c.yaml', text: [plain, brokenButIrrelevant].join('---\n') }]);
    expect(r).toMatchObject({ objects: 2, errors: [], findings: [] });
    // any of these sends the document through the full parse
    for (const extra of [
      '  hostPID: x',
      '  x: "\\u0068"',
      '  x: &a 1',
      '  x: *a',
      'kind2: PodList',
      '  x: HostNamespaceException',
    ]) {
      const full = scan([{ path: 'c.yaml', text: `${brokenButIrrelevant}${extra}\n` }]);
      expect(full.errors, extra).toHaveLength(1);
    }
  });

  it('a document over maxDocumentBytes is an error of its file; smaller ones are scanned', () => {
    const big = pod('big', '  hostPID: true\n') + `  x: "${'y'.repeat(5000)}"\n`;
    const r = scan([{ path: 'f.yaml', text: [big, pod('small', '  hostIPC: true\n')].join('---\n') }], [], {
      maxDocumentBytes: 4096,
    });
    expect(r.errors).toMatchObject([{ file: 'f.yaml', line: 1, column: 1 }]);
    expect(r.errors[0]!.message).toMatch(/^document 1 is 0\.0 MB: over the 0\.0 MB this process can parse in its heap/);
    expect(r.findings.map((f) => f.name)).toEqual(['small']);
  });

  it('a syntax error in one document leaves the others of the file scanned', () => {
    const text = [pod('a', '  hostPID: true\n'), 'kind: Pod\nmetadata: {name: [\n', pod('c', '  hostIPC: true\n')].join(
      '---\n',
    );
    const r = scan([{ path: 'f.yaml', text }]);
    expect(r.findings.map((f) => f.name)).toEqual(['a', 'c']);
    expect(r.errors).toHaveLength(1);
  });
});

describe('a scan cannot approve itself', () => {
  const exception = `apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: e, namespace: default}
spec:
  owner: team
  allow: [hostNetwork]
  podSelector: {matchLabels: {}}
  riskAcceptance: {justification: reads host network statistics, acceptedBy: board, acceptedAt: "2026-05-01T00:00:00Z"}
  expiresAt: "2026-06-20T00:00:00Z"
`;
  it('an exception among the inputs does not count and is an exception-in-change finding', () => {
    for (const sources of [
      [{ path: 'x.yaml', text: `${exception}---\n${OFFENDER.text}` }],
      [OFFENDER, { path: 'exception.yaml', text: exception }],
      [
        {
          path: 'list.json',
          text: JSON.stringify({
            kind: 'List',
            items: [{ apiVersion: 'hostns.io/v1alpha1', kind: 'HostNamespaceException', metadata: { name: 'e' } }],
          }),
        },
      ],
    ]) {
      const r = scan(sources);
      expect(r.exceptions).toMatchObject([{ name: 'e', inChange: true, counts: false, source: 'input' }]);
      expect(hasFailures(r)).toBe(true);
      expect(r.findings.every((f) => f.status === 'offender')).toBe(true);
      expect(renderScanText(r)).toMatch(
        /: error: HostNamespaceException default\/e is part of the scanned change and does not count \(exception-in-change\)/,
      );
      expect(
        JSON.parse(renderSarif(r, 't')).runs[0].results.some((x: { ruleId: string }) => x.ruleId === 'HOSTNS004'),
      ).toBe(true);
    }
  });

  /** The exception as the API server returns it (creationTimestamp set). */
  const clusterException = () => ({
    ...(parseDocuments({ text: exception, firstLine: 0 })[0]!.doc.toJS() as object),
    metadata: { name: 'e', namespace: 'default', creationTimestamp: '2026-05-01T00:00:00Z' },
  });

  it('counts from --exceptions, from the cluster, from a trusted file among the inputs, or with the explicit flag', () => {
    const trustedWays = [
      scan([OFFENDER], [{ path: 'exceptions/e.yaml', text: exception }]),
      scan([OFFENDER, { path: 'exceptions/e.yaml', text: exception, trusted: true }]),
      scan([OFFENDER, { path: 'e.yaml', text: exception }], [], { trustInlineExceptions: true }),
      scan([OFFENDER], [], {
        clusterExceptions: [clusterException()],
      }),
    ];
    for (const r of trustedWays) {
      expect(r.findings).toMatchObject([{ status: 'covered', exceptions: ['e'] }]);
      expect(hasFailures(r)).toBe(false);
    }
    // one from the cluster has no line: shown as cluster:NAMESPACE
    const expired = scan([OFFENDER], [], {
      now: DateTime.fromISO('2026-07-01T00:00:00Z', { zone: 'utc' }),
      clusterExceptions: [clusterException()],
    });
    expect(renderScanText(expired)).toContain(
      'cluster:default: note: HostNamespaceException default/e does not count (expired)',
    );
  });
});
