import { describe, expect, it } from 'vitest';
import { checkQuery, parseExposition, promqlUses, templateLabels } from './promql.ts';

describe('promqlUses', () => {
  it('finds metrics in selectors, bare names and inside functions; labels in matchers and grouping', () => {
    const u = promqlUses(
      'histogram_quantile(0.99, sum by (le, controller) ' +
        '(rate(hostns_reconcile_duration_seconds_bucket[$__rate_interval])))',
    );
    expect(u.metrics).toEqual(['hostns_reconcile_duration_seconds_bucket']);
    expect(u.groupingLabels.sort()).toEqual(['controller', 'le']);
  });

  it('reads matchers with every operator, and both sides of a binary expression', () => {
    const u = promqlUses('kube_a{namespace="x", deployment=~"h.*"} < kube_b{job!="y",pod!~"z"} and on (namespace) up');
    expect(u.metrics).toEqual(['kube_a', 'kube_b', 'up']);
    expect(u.selectors.flatMap((s) => s.matchers.map((m) => `${m.label}${m.op}${m.value}`))).toEqual([
      'namespace=x',
      'deployment=~h.*',
      'job!=y',
      'pod!~z',
    ]);
    expect(u.groupingLabels).toEqual(['namespace']);
  });

  it('skips functions, keywords, numbers and durations', () => {
    const u = promqlUses(
      'min by (namespace, exception) (m_ts) - time() < 7 * 86400 > 0 unless absent(up{job="j"} == 1) offset 5m',
    );
    expect(u.metrics).toEqual(['up', 'm_ts']);
  });
});

describe('templateLabels', () => {
  it('reads Grafana legends and Prometheus annotation labels', () => {
    expect(templateLabels('p99 {{controller}} / {{ reason }}')).toEqual(['controller', 'reason']);
    expect(templateLabels('{{ $labels.namespace }}/{{ $labels.exception }} in {{ $value }}')).toEqual([
      'namespace',
      'exception',
    ]);
  });
});

describe('checkQuery', () => {
  const exported = parseExposition(
    [
      '# HELP x',
      'hostns_pods{class="offender"} 1',
      'hostns_pods{class="covered"} 0',
      'hostns_leader 1',
      'hostns_b_bucket{le="0.1",controller="pod"} 3',
    ].join('\n'),
  );
  const target = new Set(['job', 'instance', 'pod']);

  it('accepts exported metrics, labels, values and target labels', () => {
    expect(checkQuery('max by (class) (hostns_pods{class="offender"})', ['{{class}}'], exported, target)).toEqual([]);
    expect(checkQuery('max by (pod) (hostns_leader{job="x"})', ['{{pod}}'], exported, target)).toEqual([]);
  });

  it('reports an unknown metric, label, value, grouping label and legend label (several variants)', () => {
    expect(checkQuery('hostns_podz', [], exported, target)).toEqual(['metric hostns_podz is not exported']);
    expect(checkQuery('hostns_pods{klass="offender"}', [], exported, target)).toEqual([
      'hostns_pods has no label klass',
    ]);
    expect(checkQuery('hostns_pods{class="offenders"}', [], exported, target)[0]).toContain('no such series');
    expect(checkQuery('sum by (namespace) (hostns_pods)', [], exported, target)).toEqual([
      'label namespace is on none of hostns_pods',
    ]);
    expect(checkQuery('sum(hostns_pods)', ['{{namespace}}'], exported, target)).toEqual([
      'label namespace is on none of hostns_pods',
    ]);
    expect(checkQuery('rate(hostns_b_bucket{controller="grants"}[5m])', [], exported, target)[0]).toContain(
      'controller="grants"',
    );
  });
});
