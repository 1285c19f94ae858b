// Label selector semantics, identical to apimachinery's metav1.LabelSelector (and to the CEL in
// config/admission, which a test checks against this function), with one exception: a selector
// naming a hostns.io/ key (the operator's own marks on pods) selects nothing.
import type { LabelSelector } from '../api/v1alpha1.ts';
import { OPERATOR_KEY_PREFIX, isOperatorKey } from '../api/validation.ts';

export type Labels = Readonly<Record<string, string>>;

/** The hostns.io/ keys a selector names (matchLabels keys and matchExpressions keys). */
export function operatorKeysIn(selector: LabelSelector): string[] {
  const keys = [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((r) => r.key)];
  return keys.filter((k) => typeof k === 'string' && isOperatorKey(k));
}

/**
 * True when `labels` satisfy every matchLabels entry and every matchExpressions requirement.
 * A selector naming a hostns.io/ key matches nothing: the operator writes those keys itself, so
 * such a selector would flip between matching and not with every mark written (the CRD refuses
 * it; this is the second line of defence, mirrored by the admission policy's CEL).
 */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  return operatorKeysIn(selector).length === 0 && matchesLabelSelector(selector, labels);
}

/**
 * metav1.LabelSelector semantics exactly, without the hostns.io/ exception: for selectors that are
 * no exception's, e.g. a binding's namespaceSelector (the API server evaluates it this way).
 */
export function matchesLabelSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[req.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[req.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false; // an operator the schema should have refused selects nothing
    }
  }
  return true;
}

const OWN_MARK = (key: string) =>
  `must not name ${key}: ${OPERATOR_KEY_PREFIX} keys are the operator's own marks on pods`;

/** Problems with a selector the schema may not have caught (objects that got in without it). */
export function selectorProblems(selector: unknown, field = 'spec.podSelector'): string[] {
  if (selector === null || typeof selector !== 'object' || Array.isArray(selector)) {
    return [`${field} must be a label selector object`];
  }
  const problems: string[] = [];
  const s = selector as Record<string, unknown>;
  if (s.matchLabels !== undefined) {
    if (s.matchLabels === null || typeof s.matchLabels !== 'object' || Array.isArray(s.matchLabels)) {
      problems.push(`${field}.matchLabels must be a map of strings`);
    } else {
      for (const [k, v] of Object.entries(s.matchLabels)) {
        if (typeof v !== 'string') problems.push(`${field}.matchLabels[${k}] must be a string`);
        if (isOperatorKey(k)) problems.push(`${field}.matchLabels ${OWN_MARK(k)}`);
      }
    }
  }
  if (s.matchExpressions !== undefined) {
    if (!Array.isArray(s.matchExpressions)) {
      problems.push(`${field}.matchExpressions must be a list`);
    } else {
      s.matchExpressions.forEach((raw: unknown, i: number) => {
        const at = `${field}.matchExpressions[${i}]`;
        if (raw === null || typeof raw !== 'object') {
          problems.push(`${at} must be an object`);
          return;
        }
        const r = raw as Record<string, unknown>;
        if (typeof r.key !== 'string' || r.key === '') problems.push(`${at}.key is required`);
        else if (isOperatorKey(r.key)) problems.push(`${at}.key ${OWN_MARK(r.key)}`);
        const values = r.values;
        if (values !== undefined && (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))) {
          problems.push(`${at}.values must be a list of strings`);
        }
        const n = Array.isArray(values) ? values.length : 0;
        switch (r.operator) {
          case 'In':
          case 'NotIn':
            if (n === 0) problems.push(`${at}.values must be non-empty for operator ${r.operator}`);
            break;
          case 'Exists':
          case 'DoesNotExist':
            if (n > 0) problems.push(`${at}.values must be empty for operator ${r.operator}`);
            break;
          default:
            problems.push(
              `${at}.operator must be one of In, NotIn, Exists, DoesNotExist (got ${JSON.stringify(r.operator)})`,
            );
        }
      });
    }
  }
  return problems;
}

/** kubectl-style rendering, for messages and tables: `app=x,tier in (a,b),!debug`. `{}` is "(all pods)". */
export function formatSelector(selector: LabelSelector): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const vals = (r.values ?? []).join(',');
    if (r.operator === 'In') parts.push(`${r.key} in (${vals})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${vals})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.length ? parts.join(',') : '(all pods)';
}
