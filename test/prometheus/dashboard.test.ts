// The Grafana dashboard's structure, without Grafana: what an import needs and what keeps it
// usable. Its queries are checked against a real operator's /metrics in queries.it.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../deploy/manifests.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'config/grafana/hostns-operator.json'), 'utf8')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');

describe('config/grafana/hostns-operator.json', () => {
  it('has a fixed uid and title, and a Prometheus data source variable every query uses', () => {
    expect(dashboard.uid).toBe('hostns-operator');
    expect(dashboard.title).toBe('hostns-operator');
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${datasource}');
    }
  });

  it('gives every panel a unique id, a description and queries with unique refIds', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.description, p.title).toBeTruthy();
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(refs.length, p.title).toBeGreaterThan(0);
      expect(new Set(refs).size, p.title).toBe(refs.length);
    }
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect(cells.has(cell), `${p.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });

  it('uses $__rate_interval for rates, so that they follow the scrape interval and the zoom', () => {
    for (const t of panels.flatMap((p) => p.targets ?? [])) {
      for (const m of t.expr.matchAll(/\b(rate|increase)\([^[]*\[([^\]]+)\]/g))
        expect(m[2], t.expr).toBe('$__rate_interval');
    }
  });
});
