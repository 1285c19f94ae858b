// The nodes-mode cluster's tuning: checked values, and the flags and files it becomes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  apiserverTuningArgs,
  controllerManagerTuningArgs,
  kwokConfigYaml,
  LARGE_CLUSTER_TUNING,
  NODES_TUNING,
  podStartStages,
  resolveTuning,
  schedulerConfigYaml,
} from './tuning.ts';

const here = import.meta.dirname;

describe('resolveTuning', () => {
  it('keeps the nodes defaults for what is not given', () => {
    expect(resolveTuning()).toEqual(NODES_TUNING);
    expect(resolveTuning({ concurrentDaemonSetSyncs: 8 })).toEqual({ ...NODES_TUNING, concurrentDaemonSetSyncs: 8 });
    expect(resolveTuning({ podStart: 'general' }, LARGE_CLUSTER_TUNING).kwokPodWorkers).toBe(64);
  });

  it('refuses numbers that are not whole or out of range, naming the field', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ controllerManagerQps: 0 }, 'tuning.controllerManagerQps: expected a whole number from 1 to 100000, got 0'],
      [{ schedulerBurst: 2.5 }, 'tuning.schedulerBurst: expected a whole number from 1 to 100000, got 2.5'],
      [{ concurrentReplicaSetSyncs: -1 }, 'tuning.concurrentReplicaSetSyncs: expected a whole number from 1 to 1000'],
      [{ kwokPodWorkers: Number.NaN }, 'tuning.kwokPodWorkers: expected a whole number from 1 to 1000, got NaN'],
      [{ maxRequestsInflight: '400' }, 'tuning.maxRequestsInflight: expected a whole number from 1 to 100000, got 400'],
      [{ schedulerPercentageOfNodesToScore: 101 }, 'tuning.schedulerPercentageOfNodesToScore: expected a whole number'],
    ];
    for (const [overrides, message] of bad) expect(() => resolveTuning(overrides), message).toThrow(message);
  });

  it('refuses a consistency switch that is no boolean', () => {
    for (const staleControllerConsistency of ['false', 0, null])
      expect(() => resolveTuning({ staleControllerConsistency } as never)).toThrow(
        'tuning.staleControllerConsistency: expected true or false, got',
      );
  });

  it('refuses an unknown pod start', () => {
    for (const podStart of ['quick', '', undefined, null])
      expect(() => resolveTuning({ podStart } as never)).toThrow('tuning.podStart: expected "general" or "fast"');
  });
});

describe('flags and files', () => {
  it('gives kube-controller-manager its client rates and sync workers', () => {
    expect(controllerManagerTuningArgs(LARGE_CLUSTER_TUNING)).toEqual([
      '--kube-api-qps=1000',
      '--kube-api-burst=2000',
      '--concurrent-replicaset-syncs=20',
      '--concurrent-daemonset-syncs=10',
      '--concurrent-deployment-syncs=20',
      '--feature-gates=StaleControllerConsistencyReplicaSet=false,StaleControllerConsistencyDaemonSet=false',
    ]);
    expect(controllerManagerTuningArgs(NODES_TUNING).filter((a) => a.startsWith('--feature-gates'))).toEqual([]);
    expect(apiserverTuningArgs(NODES_TUNING)).toEqual([
      '--max-requests-inflight=400',
      '--max-mutating-requests-inflight=200',
    ]);
  });

  it('writes kube-scheduler a configuration with its kubeconfig and client rates', () => {
    const config = parse(schedulerConfigYaml(LARGE_CLUSTER_TUNING, '/tmp/kc')) as Record<string, unknown>;
    expect(config).toEqual({
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      clientConnection: { kubeconfig: '/tmp/kc', qps: 1000, burst: 2000 },
      leaderElection: { leaderElect: false },
      percentageOfNodesToScore: 10,
    });
    // 0 leaves the scheduler's adaptive default.
    expect(parse(schedulerConfigYaml(NODES_TUNING, '/tmp/kc'))).not.toHaveProperty('percentageOfNodesToScore');
  });

  it("writes KWOK's worker counts", () => {
    const [doc] = parseAllDocuments(kwokConfigYaml(NODES_TUNING)).map((d) => d.toJS() as Record<string, unknown>);
    expect(doc).toEqual({
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokConfiguration',
      options: { nodeLeaseParallelism: 32, nodePlayStageParallelism: 16, podPlayStageParallelism: 32 },
    });
  });
});

describe('podStartStages', () => {
  const stage = (name: string) => `---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: ${name}\n`;
  const shipped = ['node-initialize', 'pod-create', 'pod-init-container-running', 'pod-ready', 'pod-delete']
    .map(stage)
    .join('');
  const names = (text: string) =>
    parseAllDocuments(text).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);

  it('keeps the shipped stages for the general pod start', () => {
    expect(podStartStages(shipped, 'general', 'unused')).toBe(shipped);
  });

  it("replaces the shipped pod start stages by KWOK's fast pod-ready", () => {
    const fast = readFileSync(join(here, 'kwok-pod-fast.yaml'), 'utf8');
    const out = podStartStages(shipped, 'fast', fast);
    expect(names(out)).toEqual(['node-initialize', 'pod-delete', 'pod-ready']);
    const ready = parseAllDocuments(out).at(-1)!.toJS() as { spec: { next: { statusTemplate: string } } };
    expect(ready.spec.next.statusTemplate).toContain('phase: Running');
  });
});
