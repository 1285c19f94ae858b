import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { daysUntil, formatDate, renderMarkdownTable, renderTable, wantsColour } from '../../src/report/format.ts';
import { scanSources } from '../../src/report/scan.ts';
import { renderSarif, renderScanText } from '../../src/report/scan-output.ts';

describe('renderTable', () => {
  const cols = [
    { header: 'NAME', cell: (r: { n: string; v: number }) => r.n },
    { header: 'N', cell: (r: { n: string; v: number }) => String(r.v), align: 'right' as const },
    { header: 'NOTE', cell: () => 'a\nb' },
  ];
  it('aligns columns and flattens newlines', () => {
    expect(
      renderTable(cols, [
        { n: 'long-name', v: 1 },
        { n: 'x', v: 100 },
      ]),
    ).toBe('NAME          N   NOTE\nlong-name     1   a b\nx           100   a b\n');
  });
  it('colours without breaking alignment', () => {
    const plain = renderTable(cols, [{ n: 'x', v: 1 }]);
    const coloured = renderTable(cols, [{ n: 'x', v: 1 }], {
      colour: true,
      paint: (_r, h) => (h === 'NAME' ? 'red' : undefined),
      // eslint-disable-next-line no-control-regex -- removing ANSI colours is the point
    }).replace(/\u001b\[\d+m/g, '');
    expect(coloured).toBe(plain);
  });
  it('markdown', () => {
    expect(renderMarkdownTable(cols, [{ n: 'a|b', v: 2 }])).toBe(
      '| NAME | N | NOTE |\n| --- | ---: | --- |\n| a\\|b | 2 | a b |\n',
    );
  });
});

describe('dates', () => {
  it('formats in UTC and counts whole days', () => {
    const now = DateTime.fromISO('2026-06-01T12:00:00Z');
    expect(formatDate(DateTime.fromISO('2026-06-03T01:02:03+02:00'))).toBe('2026-06-02 23:02 UTC');
    expect(daysUntil(DateTime.fromISO('2026-06-03T11:00:00Z'), now)).toBe(1);
    expect(daysUntil(DateTime.fromISO('2026-05-31T13:00:00Z'), now)).toBe(-1);
  });
  it('colour only on a TTY without NO_COLOR', () => {
    expect(wantsColour({ isTTY: true }, {})).toBe(true);
    expect(wantsColour({ isTTY: false }, {})).toBe(false);
    expect(wantsColour({}, {})).toBe(false);
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  });
});

describe('scan output', () => {
  const now = DateTime.fromISO('2026-06-01T00:00:00Z');
  const result = scanSources(
    [
      {
        path: 'dir/a b.yaml',
        text: 'kind: Pod\nmetadata: {name: p, namespace: kube-system}\nspec: {hostPID: true}\n---\nkind: Pod\nmetadata: {name: q}\nspec:\n  hostNetwork: true\n',
      },
      { path: 'bad.yaml', text: 'a: [\n' },
    ],
    [],
    { now, config: DEFAULT_POLICY, defaultNamespace: 'default' },
  );

  it('text: compiler-style lines and a summary', () => {
    const text = renderScanText(result);
    expect(text).toContain(
      'dir/a b.yaml:8:3: error: Pod default/q sets hostNetwork: true and no HostNamespaceException in namespace default allows it',
    );
    expect(text).toContain(
      'dir/a b.yaml:3:8: note: Pod kube-system/p sets hostPID: true, in exempt namespace kube-system',
    );
    expect(text).toMatch(/^bad\.yaml:\d+:\d+: error: YAML syntax error: /m);
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '2 inputs, 2 objects: 1 uncovered, 0 allowed by an exception, 1 exempt; 1 error in 1 file: result incomplete',
    );
  });

  it('SARIF 2.1.0: rules, results with locations, suppressions, failed execution on parse errors', () => {
    const sarif = JSON.parse(renderSarif(result, '0.1.0'));
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual([
      'HOSTNS001',
      'HOSTNS002',
      'HOSTNS003',
      'HOSTNS004',
      'HOSTNS005',
    ]);
    expect(run.results.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual([
      'HOSTNS001',
      'HOSTNS002',
      'HOSTNS005',
    ]);
    const q = run.results.find((r: { ruleId: string }) => r.ruleId === 'HOSTNS001');
    expect(q.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'dir/a%20b.yaml' },
      region: { startLine: 8, startColumn: 3 },
    });
    expect(q.suppressions).toBeUndefined();
    const p = run.results.find((r: { ruleId: string }) => r.ruleId === 'HOSTNS002');
    expect(p.suppressions).toEqual([{ kind: 'external', justification: 'exempt namespace kube-system' }]);
    expect(p.ruleIndex).toBe(1);
    expect(run.invocations[0].executionSuccessful).toBe(false);
    expect(run.invocations[0].toolExecutionNotifications[0].locations[0].physicalLocation.artifactLocation.uri).toBe(
      'bad.yaml',
    );
  });
});
