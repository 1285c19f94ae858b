// What a PromQL expression reads: metric names, label matchers and the labels it groups or joins
// by. A small scanner for the queries this project ships (dashboard, alerts), not a full parser:
// its unit tests pin down the constructs those queries use.

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  metric?: string;
  matchers: Matcher[];
}

export interface PromqlUses {
  metrics: string[];
  selectors: Selector[];
  /** Labels named in by / without / on / ignoring / group_left / group_right. */
  groupingLabels: string[];
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

export function promqlUses(expr: string): PromqlUses {
  const selectors: Selector[] = [];
  const grouping = new Set<string>();
  let rest = expr.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_, metric: string | undefined, body: string) => {
    const matchers: Matcher[] = [];
    for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      matchers.push({ label: m[1]!, op: m[2] as Matcher['op'], value: m[3]! });
    }
    selectors.push({ metric, matchers });
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' '); // range and subquery durations, $__rate_interval
  const groupings = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
  rest = rest.replace(groupings, (_, _kw: string, labels: string) => {
    for (const l of labels
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      grouping.add(l);
    return ' ';
  });
  for (const m of rest.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[1]!.toLowerCase())) selectors.push({ metric: m[1]!, matchers: [] });
  }
  const metrics = [...new Set(selectors.map((s) => s.metric).filter((m): m is string => !!m))];
  return { metrics, selectors, groupingLabels: [...grouping] };
}

/** Labels a template reads: Grafana legends `{{label}}`, Prometheus annotations `$labels.label`. */
export function templateLabels(template: string): string[] {
  const out = new Set<string>();
  for (const m of template.matchAll(/\{\{\s*([a-zA-Z_]\w*)\s*\}\}/g)) out.add(m[1]!);
  for (const m of template.matchAll(/\$labels\.([a-zA-Z_]\w*)/g)) out.add(m[1]!);
  return [...out];
}

/** Series of a Prometheus text exposition: metric name -> label name -> values seen. */
export type Exposition = Map<string, Map<string, Set<string>>>;

export function parseExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+\S+$/.exec(line);
    if (!m) continue;
    const labels = out.get(m[1]!) ?? new Map<string, Set<string>>();
    out.set(m[1]!, labels);
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      const values = labels.get(l[1]!) ?? new Set<string>();
      labels.set(l[1]!, values);
      values.add(l[2]!);
    }
  }
  return out;
}

/**
 * Problems of one query against what is exported: unknown metrics, labels a metric does not have,
 * `=` matchers on values no series has, grouping or template labels none of its metrics has.
 * `targetLabels` are added by the scrape (job, instance, pod...): allowed everywhere, values unchecked.
 */
export function checkQuery(
  expr: string,
  templates: string[],
  exported: Exposition,
  targetLabels: ReadonlySet<string>,
): string[] {
  const uses = promqlUses(expr);
  const problems: string[] = [];
  for (const s of uses.selectors) {
    const labels = s.metric ? exported.get(s.metric) : undefined;
    if (!s.metric) {
      problems.push(`a selector without a metric name: ${expr}`);
      continue;
    }
    if (!labels) {
      problems.push(`metric ${s.metric} is not exported`);
      continue;
    }
    for (const m of s.matchers) {
      if (targetLabels.has(m.label)) continue;
      const values = labels.get(m.label);
      if (!values) problems.push(`${s.metric} has no label ${m.label}`);
      else if (m.op === '=' && !values.has(m.value)) {
        problems.push(`${s.metric}{${m.label}="${m.value}"}: no such series (values: ${[...values].join(', ')})`);
      }
    }
  }
  const available = new Set<string>(targetLabels);
  for (const metric of uses.metrics) for (const l of exported.get(metric)?.keys() ?? []) available.add(l);
  for (const l of [...uses.groupingLabels, ...templates.flatMap(templateLabels)]) {
    if (!available.has(l)) problems.push(`label ${l} is on none of ${uses.metrics.join(', ')}`);
  }
  return problems;
}
