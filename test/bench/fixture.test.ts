import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AuditLog, countByVerbResource, deltaByKey, requestTotalsByVerb } from '../../bench/audit.ts';
import {
  expectationFor,
  fixturePod,
  FIXTURE_NAMESPACES,
  fixtureExceptionNames,
  rfc3339Seconds,
} from '../../bench/fixture.ts';
import { marginalHeapPerEntry, memoryFigures } from '../../bench/report.ts';

describe('bench fixture', () => {
  it('5 % of pods use a host namespace, half of those are covered, spread over every namespace', () => {
    const exp = expectationFor(20_000);
    expect(exp.offenders.size + exp.covered.size).toBe(1000);
    expect(Math.abs(exp.covered.size - 500)).toBeLessThanOrEqual(2);
    const namespaces = new Set([...exp.offenders, ...exp.covered.keys()].map((k) => k.split('/')[0]));
    expect(namespaces.size).toBe(FIXTURE_NAMESPACES);
    expect([...exp.coveredPods.values()].reduce((s, v) => s + v, 0)).toBe(exp.covered.size);
    expect(exp.coveredPods.size).toBe(fixtureExceptionNames().length);
  });

  it('a larger size is a superset of a smaller one (pods are a function of their index)', () => {
    expect(fixturePod(123)).toEqual(fixturePod(123));
    const small = expectationFor(2000);
    const large = expectationFor(5000);
    for (const k of small.offenders) expect(large.offenders.has(k)).toBe(true);
  });

  it('uses all three host flags', () => {
    const flags = new Set(Array.from({ length: 20_000 }, (_, i) => fixturePod(i).host).filter(Boolean));
    expect(flags).toEqual(new Set(['hostNetwork', 'hostPID', 'hostIPC']));
  });

  it('writes expiresAt with whole seconds', () => {
    expect(rfc3339Seconds(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05Z');
  });
});

describe('bench audit counting', () => {
  it('keeps one record per request (its last stage) and counts by verb and resource', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'audit.log');
    writeFileSync(path, '');
    const log = new AuditLog(path);
    const line = (id: string, stage: string, verb: string, resource?: string, sub?: string) =>
      `${JSON.stringify({ auditID: id, stage, verb, user: { username: 'op' }, objectRef: resource ? { resource, subresource: sub } : undefined, requestURI: '/version' })}\n`;
    appendFileSync(path, line('a', 'ResponseComplete', 'patch', 'pods'));
    appendFileSync(path, line('b', 'ResponseStarted', 'watch', 'pods'));
    appendFileSync(path, line('b', 'ResponseComplete', 'watch', 'pods'));
    appendFileSync(path, line('c', 'ResponseComplete', 'update', 'hostnamespaceexceptions', 'status'));
    appendFileSync(path, line('d', 'ResponseComplete', 'get'));
    appendFileSync(path, '{"auditID":"partial"');
    const records = log.readNew();
    expect(countByVerbResource(records)).toEqual({
      'patch pods': 1,
      'watch pods': 1,
      'update hostnamespaceexceptions/status': 1,
      'get /version': 1,
    });
    expect(log.readNew()).toEqual([]);
    log.skipToEnd();
    appendFileSync(path, line('e', 'ResponseComplete', 'create', 'events'));
    expect(log.readNew().map((r) => r.verb)).toEqual(['create']);
  });

  it('sums apiserver_request_total by verb and takes deltas', () => {
    const text = [
      '# HELP apiserver_request_total x',
      'apiserver_request_total{code="200",verb="PATCH",resource="pods"} 10',
      'apiserver_request_total{code="201",verb="POST",resource="events"} 4',
      'apiserver_request_total{code="200",verb="PATCH",resource="leases"} 2',
      'apiserver_request_duration_seconds_count{verb="PATCH"} 99',
    ].join('\n');
    const a = requestTotalsByVerb(text);
    expect(a).toEqual({ PATCH: 12, POST: 4 });
    expect(deltaByKey(a, { PATCH: 15, POST: 4, PUT: 1 })).toEqual({ PATCH: 3, PUT: 1 });
  });
});

describe('bench memory figures', () => {
  const heap = (heapUsed: number, cachedPods: number) => ({
    heap: { heapUsed, heapTotal: 0, rss: 0, external: 0, cachedPods, gcForced: true },
    peakRss: 200 * 2 ** 20,
    rss: 150 * 2 ** 20,
  });
  const peer = (heapUsed: number, cachedPods: number) => ({
    heapUsed,
    heapTotal: 0,
    rss: 0,
    external: 0,
    cachedPods,
    syncMs: 0,
  });

  it('heap per cached entry = growth over the N = 0 baseline / entries, per trial', () => {
    const f = memoryFigures([
      { size: 0, podsInCluster: 0, operator: [heap(40_000_000, 0)], peer: peer(30_000_000, 0) },
      {
        size: 20_000,
        podsInCluster: 20_000,
        operator: [heap(41_000_000, 1000), heap(41_200_000, 1000), heap(40_900_000, 1000)],
        peer: peer(230_000_000, 20_000),
      },
    ]);
    expect(f[1]).toMatchObject({ entries: 1000, peerPerPod: 10_000, opPerPod: 50 });
    expect(f[1]!.heapPerEntry).toEqual([1000, 1200, 900]);
    expect(f[1]!.peakRss).toEqual([200 * 2 ** 20, 200 * 2 ** 20, 200 * 2 ** 20]);
  });

  it('marginal heap per entry between consecutive sizes: medians, no fixed cost', () => {
    const f = memoryFigures([
      { size: 0, podsInCluster: 0, operator: [heap(30_000_000, 0)] },
      { size: 10_000, podsInCluster: 10_000, operator: [heap(40_000_000, 500), heap(40_100_000, 500)] },
      { size: 20_000, podsInCluster: 20_000, operator: [heap(40_550_000, 1000)] },
    ]);
    expect(marginalHeapPerEntry(f)).toEqual([{ from: 10_000, to: 20_000, entries: 500, perEntry: 1000 }]);
    expect(marginalHeapPerEntry(f.slice(0, 2))).toEqual([]);
  });

  it('no per-entry figure without a baseline or without entries', () => {
    const f = memoryFigures([{ size: 20_000, podsInCluster: 20_000, operator: [heap(41_000_000, 1000)] }]);
    expect(f[0]!.heapPerEntry).toEqual([]);
    const g = memoryFigures([
      { size: 0, podsInCluster: 0, operator: [heap(40_000_000, 0)] },
      { size: 20_000, podsInCluster: 20_000, operator: [heap(41_000_000, 0)] },
    ]);
    expect(g[1]!.heapPerEntry).toEqual([]);
  });
});
