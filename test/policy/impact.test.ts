// The blast radius of an exception: which workloads depend on it, and the sentences people read.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { PodClass } from '../../src/policy/classify.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import type { Enforcement } from '../../src/policy/grants.ts';
import { dependedOn, impactSentence, workloadImpact, type WorkloadImpact } from '../../src/policy/impact.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { EVENT_NOTE_MAX_BYTES, utf8Bytes } from '../../src/policy/limits.ts';
import { planException, statusWorkloads } from '../../src/policy/status.ts';
import type { Workload } from '../../src/policy/workloads.ts';
import { exception } from './fixtures.ts';

const ds = (name: string, namespace = 'monitoring'): Workload => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  namespace,
  name,
  uid: `uid-${name}`,
});
const deploy = (name: string): Workload => ({ ...ds(name), kind: 'Deployment' });
const covered = (...exceptions: string[]): PodClass => ({ kind: 'covered', used: ['hostNetwork'], exceptions });
const lapsedOffender = (...names: string[]): PodClass => ({
  kind: 'offender',
  used: ['hostNetwork'],
  uncovered: ['hostNetwork'],
  exceptions: [],
  lapsed: names.map((name) => ({ name, owner: 'team' })),
  broken: [],
});

describe('dependedOn', () => {
  it('the sole covering exception; none when two cover; the lapsed ones of an offender; nothing else', () => {
    expect(dependedOn(covered('a'))).toEqual(['a']);
    expect(dependedOn(covered('a', 'b'))).toEqual([]);
    expect(dependedOn(lapsedOffender('old', 'older'))).toEqual(['old', 'older']);
    expect(dependedOn({ kind: 'clean' })).toEqual([]);
    expect(dependedOn({ kind: 'exempt', used: ['hostPID'] })).toEqual([]);
    const partlyCovered: PodClass = {
      ...(lapsedOffender() as Extract<PodClass, { kind: 'offender' }>),
      exceptions: ['p'],
    };
    expect(dependedOn(partlyCovered)).toEqual([]);
  });
});

describe('workloadImpact', () => {
  it('counts pods and distinct nodes per workload per exception, most pods first', () => {
    const pods = [
      ...Array.from({ length: 3 }, (_, i) => ({
        namespace: 'monitoring',
        cls: covered('ne'),
        workload: ds('node-exporter'),
        nodeName: `n${i}`,
      })),
      { namespace: 'monitoring', cls: covered('ne'), workload: deploy('web'), nodeName: 'n0' },
      { namespace: 'monitoring', cls: covered('ne'), workload: deploy('web'), nodeName: 'n0' },
      { namespace: 'monitoring', cls: covered('ne'), workload: deploy('web') }, // not scheduled yet
      { namespace: 'monitoring', cls: covered('ne', 'other'), workload: ds('shared') },
      { namespace: 'monitoring', cls: lapsedOffender('gone'), workload: ds('left'), nodeName: 'n1' },
    ];
    const impact = workloadImpact(pods);
    expect(impact.get('monitoring/ne')!.map((i) => [i.workload.kind, i.workload.name, i.pods, i.nodes])).toEqual([
      ['DaemonSet', 'node-exporter', 3, 3],
      ['Deployment', 'web', 3, 1],
    ]);
    expect(impact.get('monitoring/gone')!.map((i) => i.workload.name)).toEqual(['left']);
    expect(impact.has('monitoring/other')).toBe(false);
  });

  it('ties broken by kind, namespace and name: the same pods always give the same list', () => {
    const pods = ['b', 'a', 'c'].map((n) => ({ namespace: 'm', cls: covered('e'), workload: ds(n, 'm') }));
    expect(
      workloadImpact(pods)
        .get('m/e')!
        .map((i) => i.workload.name),
    ).toEqual(['a', 'b', 'c']);
    expect(
      workloadImpact([...pods].reverse())
        .get('m/e')!
        .map((i) => i.workload.name),
    ).toEqual(['a', 'b', 'c']);
  });
});

describe('sentences', () => {
  const ne: WorkloadImpact = { workload: ds('node-exporter'), pods: 120, nodes: 120 };
  it('the issue example', () => {
    expect(impactSentence(ne, '2026-12-01T10:00:00Z', false)).toBe(
      'after 2026-12-01T10:00:00Z DaemonSet monitoring/node-exporter (120 pods on 120 nodes) can no longer create ' +
        'pods: new nodes get no node-exporter, and its pods evicted or deleted are not replaced',
    );
    expect(impactSentence({ ...ne, pods: 1, nodes: 0 }, 'T', true)).toMatch(/^since T DaemonSet .* \(1 pod\) can/);
  });
});

const ENFORCED: Enforcement = { enforced: true, reason: 'InAdmissionGrants', message: 'in the admission grants' };
function plan(now: string, workloads: WorkloadImpact[], status = {}) {
  const ex = exception({ status });
  const facts = readException(ex);
  const t = DateTime.fromISO(now, { zone: 'utc' });
  return planException(ex, facts, evaluateLifecycle(facts, t, DEFAULT_POLICY), 3, ENFORCED, t, workloads);
}

describe('the exception: ExpiringSoon names what breaks; status.workloads is bounded', () => {
  it('the ExpiringSoon note names each dependent workload with its pods and nodes', () => {
    const first = plan('2026-11-02T00:00:00Z', []).status;
    const soon = plan('2026-11-25T00:00:00Z', [{ workload: ds('node-exporter'), pods: 120, nodes: 120 }], first);
    const note = soon.events.find((e) => e.reason === 'ExpiringSoon')!.note;
    expect(note).toMatch(
      /lapse \(owner: team-observability\)\. After 2026-12-01T00:00:00Z DaemonSet monitoring\/node-exporter \(120 pods on 120 nodes\) can no longer create pods: new nodes get no node-exporter/,
    );
    const none = plan('2026-11-25T00:00:00Z', [], first).events.find((e) => e.reason === 'ExpiringSoon')!.note;
    expect(none).toMatch(/No workload depends on it now\.$/);
  });

  it('hundreds of workloads: the note stays within the Event note bytes, whole sentences and (+N more)', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({
      workload: ds(`agent-${i}-${'é'.repeat(40)}`),
      pods: 1,
      nodes: 1,
    }));
    const first = plan('2026-11-02T00:00:00Z', []).status;
    const note = plan('2026-11-25T00:00:00Z', many, first).events.find((e) => e.reason === 'ExpiringSoon')!.note;
    expect(utf8Bytes(note)).toBeLessThanOrEqual(EVENT_NOTE_MAX_BYTES);
    expect(note).toMatch(/\(\+\d+ more\)\.$/);
  });

  it('status.workloads: the first 10 (kind, name, pods; no nodes), workloadCount all; nothing when none', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ workload: ds(`a${i}`), pods: 25 - i, nodes: 3 }));
    const s = statusWorkloads(many);
    expect(s.workloads).toHaveLength(10);
    expect(s.workloads![0]).toEqual({ kind: 'DaemonSet', name: 'a0', pods: 25 });
    expect(s.workloadCount).toBe(25);
    expect(statusWorkloads([])).toEqual({});
    expect(plan('2026-11-02T00:00:00Z', many.slice(0, 1)).status).toMatchObject({
      workloads: [{ kind: 'DaemonSet', name: 'a0', pods: 25 }],
      workloadCount: 1,
    });
  });

  it('a pod rescheduled to another node changes nothing in status (node counts are not in it)', () => {
    const a = plan('2026-11-02T00:00:00Z', [{ workload: ds('x'), pods: 3, nodes: 3 }]).status;
    const b = plan('2026-11-02T00:00:00Z', [{ workload: ds('x'), pods: 3, nodes: 2 }]).status;
    expect(b).toEqual(a);
  });
});
