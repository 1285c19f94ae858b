// The scan reads scalars as the API server does: each value below goes through the real API
// server (kubectl create --dry-run=server: decoded and validated, nothing stored) and through the
// scan, and both must agree. A bool field of a ConfigMap (`immutable`) stands for the host flags
// (same decoding: sigs.k8s.io/yaml to JSON to a Go bool) without involving the admission policy.
import { beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { createNamespace, kubectl } from '../harness/clients.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { scanSources } from '../../src/report/scan.ts';
import { parseDocuments } from '../../src/report/scan-yaml.ts';

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('scan-scalars');
});

const BOOLEAN_SPELLINGS = [
  'yes',
  'Yes',
  'YES',
  'y',
  'Y',
  'on',
  'On',
  'true',
  'True',
  'no',
  'n',
  'N',
  'off',
  'Off',
  'false',
  'FALSE',
  '~',
  'null',
];
const REFUSED_AS_BOOLEAN = ['"true"', "'yes'", '1', '0', '2026-12-27T15:05:37Z', '[true]', 'truthy'];
const STRINGS = ['2026-12-27T15:05:37Z', '2026-12-27', '2026-12-27 15:05:37', '1:20', 'yes'];

function apiServer(yaml: string): { accepted: boolean; json?: Record<string, unknown>; stderr: string } {
  const r = kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-', '-o', 'json'], yaml);
  return r.code === 0
    ? { accepted: true, json: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr }
    : { accepted: false, stderr: r.stderr };
}

function scanFlag(value: string): 'true' | 'false' | 'error' {
  const text = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: ${value}\n`;
  const r = scanSources([{ path: 'p.yaml', text }], [], {
    now: DateTime.utc(),
    config: DEFAULT_POLICY,
    defaultNamespace: 'd',
  });
  return r.errors.length ? 'error' : r.findings.length ? 'true' : 'false';
}

describe('scalars: the scan agrees with the API server', () => {
  it('a bool field: accepted as true, accepted as false/unset, or refused, exactly as the scan reads the flag', () => {
    for (const [i, value] of [...BOOLEAN_SPELLINGS, ...REFUSED_AS_BOOLEAN].entries()) {
      const server = apiServer(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\nimmutable: ${value}\n`);
      const expected = !server.accepted ? 'error' : server.json!.immutable === true ? 'true' : 'false';
      expect(
        scanFlag(value),
        `${value}: API server ${server.accepted ? JSON.stringify(server.json!.immutable) : server.stderr.trim()}`,
      ).toBe(expected);
    }
  });

  it('a string field: the stored string is what the scan reads (timestamps stay as written)', () => {
    for (const [i, value] of STRINGS.entries()) {
      const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s${i}}\ndata:\n  k: ${value}\n`;
      const server = apiServer(yaml);
      const scanned = (parseDocuments({ text: yaml, firstLine: 0 })[0]!.doc.toJS() as { data: { k: unknown } }).data.k;
      if (server.accepted) expect(scanned, value).toBe((server.json!.data as { k: string }).k);
      else
        expect(
          typeof scanned,
          `${value}: refused by the API server (${server.stderr.trim()}), so not a string to the scan either`,
        ).not.toBe('string');
    }
  });
});
