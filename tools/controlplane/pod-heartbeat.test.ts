// The KWOK stages of the pod status heartbeat and the --pod-heartbeat option of `npm run cluster`.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  HEARTBEAT_DELAY_ANNOTATION,
  HEARTBEAT_JITTER_ANNOTATION,
  parseHeartbeatInterval,
  podHeartbeatStages,
} from './pod-heartbeat.ts';

interface Expression {
  key: string;
  operator: string;
  values?: string[];
}
interface StageShape {
  kind: string;
  metadata: { name: string };
  spec: {
    resourceRef: { kind: string };
    selector: { matchExpressions: Expression[] };
    delay: Record<string, unknown>;
    steps: { patch: { subresource: string; root: string; template: string } }[];
  };
}

const stagesOf = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as StageShape);
const annotationKey = (a: string) => `.metadata.annotations["${a}"]`;

describe('podHeartbeatStages', () => {
  it('without an interval: only pods that ask with the annotation, at the delay it names', () => {
    const [stage, ...rest] = stagesOf(podHeartbeatStages());
    expect(rest).toEqual([]);
    expect(stage!.kind).toBe('Stage');
    expect(stage!.metadata.name).toBe('pod-heartbeat-annotated');
    expect(stage!.spec.resourceRef.kind).toBe('Pod');
    expect(stage!.spec.selector.matchExpressions).toContainEqual({
      key: annotationKey(HEARTBEAT_DELAY_ANNOTATION),
      operator: 'Exists',
    });
    expect(stage!.spec.delay).toEqual({
      durationMilliseconds: 10_000,
      durationFrom: { expressionFrom: annotationKey(HEARTBEAT_DELAY_ANNOTATION) },
      jitterDurationFrom: { expressionFrom: annotationKey(HEARTBEAT_JITTER_ANNOTATION) },
    });
  });

  it('with an interval: every other running pod too, drawn between half and one and a half intervals', () => {
    const stages = stagesOf(podHeartbeatStages(10_000));
    expect(stages.map((s) => s.metadata.name)).toEqual(['pod-heartbeat-annotated', 'pod-heartbeat']);
    const everyPod = stages[1]!.spec;
    expect(everyPod.delay).toEqual({ durationMilliseconds: 5_000, jitterDurationMilliseconds: 15_000 });
    // Never under 1 s: lastProbeTime is stored in whole seconds, and a patch that changes nothing
    // would end the pod's loop.
    expect(stagesOf(podHeartbeatStages(1000))[1]!.spec.delay).toEqual({
      durationMilliseconds: 1000,
      jitterDurationMilliseconds: 1500,
    });
    // Disjoint from the annotated stage: a pod never matches both.
    expect(everyPod.selector.matchExpressions).toContainEqual({
      key: annotationKey(HEARTBEAT_DELAY_ANNOTATION),
      operator: 'DoesNotExist',
    });
  });

  it('selects running, ready pods that are not being deleted and leaves Job pods to pod-complete', () => {
    for (const stage of stagesOf(podHeartbeatStages(5000))) {
      const expressions = stage.spec.selector.matchExpressions;
      expect(expressions).toContainEqual({ key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' });
      expect(expressions).toContainEqual({ key: '.status.phase', operator: 'In', values: ['Running'] });
      expect(expressions).toContainEqual({
        key: '.metadata.ownerReferences.[].kind',
        operator: 'NotIn',
        values: ['Job'],
      });
    }
  });

  it('patches the status: lastProbeTime of Ready and ContainersReady at now, readiness unchanged', () => {
    const [stage] = stagesOf(podHeartbeatStages());
    const [{ patch }] = stage!.spec.steps as [{ patch: StageShape['spec']['steps'][0]['patch'] }];
    expect(patch.subresource).toBe('status');
    expect(patch.root).toBe('status');
    // What KWOK renders, with Now and Quote stubbed: a strategic merge of two conditions.
    const rendered = patch.template
      .replace('{{ $now := Now }}', '')
      .replaceAll('{{ $now | Quote }}', '"2026-11-27T20:00:00Z"');
    expect(parseAllDocuments(rendered)[0]!.toJS()).toEqual({
      conditions: [
        { type: 'Ready', status: 'True', lastProbeTime: '2026-11-27T20:00:00Z' },
        { type: 'ContainersReady', status: 'True', lastProbeTime: '2026-11-27T20:00:00Z' },
      ],
    });
  });

  it('refuses an interval under 1 s or over 24 h', () => {
    for (const bad of [0, 999, 24 * 3600_000 + 1, Number.NaN])
      expect(() => podHeartbeatStages(bad)).toThrow(`podStatusHeartbeat: expected 1000 to 86400000 ms, got ${bad}`);
  });
});

describe('--pod-heartbeat', () => {
  it('reads durations as Go writes them, from 1 s to 24 h', () => {
    expect(parseHeartbeatInterval('10s')).toBe(10_000);
    expect(parseHeartbeatInterval('1500ms')).toBe(1500);
    expect(parseHeartbeatInterval('1.5m')).toBe(90_000);
    expect(parseHeartbeatInterval('24h')).toBe(86_400_000);
    expect(parseHeartbeatInterval('1s')).toBe(1000);
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['', '10', 's', '500ms', '0s', '-5s', '25h', '1d', 'ten seconds', '1e3ms', '10 s'])
      expect(() => parseHeartbeatInterval(bad), bad).toThrow(
        `--pod-heartbeat: expected a duration from 1s to 24h such as 10s, 2m or 1500ms, got "${bad}"`,
      );
  });

  it('npm run cluster stops at once with the message and the usage, exit 2', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['tools/controlplane/cluster.ts', ...args], { encoding: 'utf8', timeout: 30_000 });
    const usage = 'usage: npm run cluster [-- --nodes N [--pod-heartbeat 10s]]\n';
    const bad = run('--nodes', '3', '--pod-heartbeat', 'often');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `npm run cluster: --pod-heartbeat: expected a duration from 1s to 24h such as 10s, 2m or 1500ms, got "often"\n` +
        usage,
    );
    const noNodes = run('--pod-heartbeat', '10s');
    expect(noNodes.status).toBe(2);
    expect(noNodes.stderr).toBe(
      'npm run cluster: --pod-heartbeat: needs --nodes N (pods run on simulated nodes only)\n' + usage,
    );
  }, 60_000);
});
