// The shipped alert rules, checked by the real promtool (built from its Go module): `check rules`
// validates the PrometheusRule's groups, `test rules` runs test/prometheus/alerts.promtool.yaml,
// where every alert has series that fire it and series that do not.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readObjects } from '../deploy/manifests.ts';
import { ecosystemTool, run, TOOL_BUILD_TIMEOUT_MS } from '../harness/tools.ts';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
interface RuleGroups {
  groups: { name: string; rules: Rule[] }[];
}

const [rule] = readObjects('config/prometheus/rules.yaml') as unknown as [{ kind: string; spec: RuleGroups }];
const alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert);
let promtool: string;
let dir: string;

beforeAll(() => {
  promtool = ecosystemTool('promtool');
  dir = mkdtempSync(join(tmpdir(), 'hostns-promtool-'));
  // A PrometheusRule's spec is a Prometheus rule file: its groups, as promtool reads them.
  writeFileSync(join(dir, 'rules.yaml'), stringify(rule.spec));
  copyFileSync(join(import.meta.dirname, 'alerts.promtool.yaml'), join(dir, 'alerts.promtool.yaml'));
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config/prometheus/rules.yaml with promtool', () => {
  it('is a PrometheusRule with the alerts the docs list', () => {
    expect(rule.kind).toBe('PrometheusRule');
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'HostnsExceptionExpiringSoon',
        'HostnsExceptionsNotEnforced',
        'HostnsGrantsWriteFailing',
        'HostnsOffenderPods',
        'HostnsOperatorAbsent',
        'HostnsOperatorDown',
        'HostnsOperatorNotReady',
        'HostnsReconcileErrors',
      ].sort(),
    );
    for (const a of alerts) expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
  });

  it('passes `promtool check rules` (syntax, PromQL, templates)', () => {
    const r = run(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
    expect(r.stderr + r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.code, r.stderr).toBe(0);
  });

  it('passes `promtool test rules`: every alert fires on its series and stays quiet on others', () => {
    const r = run(promtool, ['test', 'rules', 'alerts.promtool.yaml'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('has, for every alert, a promtool case where it fires and one where it does not', () => {
    const tests = parse(readFileSync(join(import.meta.dirname, 'alerts.promtool.yaml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${a.alert} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${a.alert} stays quiet somewhere`,
      ).toBe(true);
    }
  });

  it('fails `promtool test rules` when an alert does not behave as a case expects (the check has teeth)', () => {
    const broken = {
      ...rule.spec,
      groups: rule.spec.groups.map((g) => ({
        ...g,
        rules: g.rules.map((r) => (r.alert === 'HostnsOffenderPods' ? { ...r, for: '1h' } : r)),
      })),
    };
    writeFileSync(join(dir, 'rules.yaml'), stringify(broken));
    try {
      const r = run(promtool, ['test', 'rules', 'alerts.promtool.yaml'], { cwd: dir });
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('HostnsOffenderPods');
    } finally {
      writeFileSync(join(dir, 'rules.yaml'), stringify(rule.spec));
    }
  });
});
