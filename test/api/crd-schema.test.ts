// Keeps crds/hostnamespaceexceptions.yaml and src/api/ in step, checks what `kubectl explain` and
// the register depend on, and checks the controller's backstop against the invalid corpus.
import { readFileSync, readdirSync } from 'node:fs';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONDITION_STATUSES, EXCEPTION_PHASES, EXCEPTION_SCHEMA_LEVELS } from '../../src/api/fields.ts';
import {
  DATE_TIME_MESSAGE,
  DATE_TIME_PATTERN,
  INVISIBLE_OR_CONTROL_PATTERN,
  SINGLE_LINE_MESSAGE,
  VISIBLE_PATTERN,
} from '../../src/api/validation.ts';
import { NETWORK_RESTRICTED_HOST_NETWORK } from '../../src/policy/contract.ts';
import {
  ENFORCEABLE_CONTROLS,
  EXCEPTION_KIND,
  EXCEPTION_PLURAL,
  GROUP,
  HOST_NAMESPACES,
  SELECTOR_OPERATORS,
  VERSION,
} from '../../src/api/v1alpha1.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { MIN_JUSTIFICATION_LENGTH, readException } from '../../src/policy/exception.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { INVALID_VARIANTS, invalidException, validException } from './exception-corpus.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
  required?: string[];
  enum?: unknown[];
  minLength?: number;
  format?: string;
}

const crd = parse(readFileSync('crds/hostnamespaceexceptions.yaml', 'utf8'));
const version = crd.spec.versions.find((v: { name: string }) => v.name === VERSION);
const root: Schema = version.schema.openAPIV3Schema;

function rulesOf(s: Schema): Array<{ rule: string; message?: string }> {
  return (
    (s as { 'x-kubernetes-validations'?: Array<{ rule: string; message?: string }> })['x-kubernetes-validations'] ?? []
  ).map((r) => ({ rule: r.rule, message: r.message }));
}

/** The schema at a path like `spec.podSelector.matchExpressions[]` ('' is the root). */
function at(path: string): Schema {
  let s = root;
  for (const part of path.split('.').filter(Boolean)) {
    const isList = part.endsWith('[]');
    const name = isList ? part.slice(0, -2) : part;
    s = s.properties?.[name] as Schema;
    if (!s) throw new Error(`no schema at ${path}`);
    if (isList) s = s.items as Schema;
  }
  return s;
}

/** Every property in the schema with its dotted path (list items as `[]`, map values as `{}`). */
function walk(s: Schema, path: string, out: Array<[string, Schema]>): void {
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    const p = path ? `${path}.${name}` : name;
    out.push([p, child]);
    walk(child, p, out);
    if (child.items) walk(child.items, `${p}[]`, out);
  }
}

describe('CRD names', () => {
  it('are the ones the product and its users depend on', () => {
    expect(crd.metadata.name).toBe(`${EXCEPTION_PLURAL}.${GROUP}`);
    expect(crd.metadata.labels['app.kubernetes.io/part-of']).toBe('hostns-operator');
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: EXCEPTION_KIND,
      plural: EXCEPTION_PLURAL,
      singular: 'hostnamespaceexception',
      shortNames: ['hnse'],
      categories: ['hostns'],
    });
    expect(crd.spec.versions.map((v: { name: string }) => v.name)).toEqual([VERSION]);
    expect(version.served && version.storage).toBe(true);
    expect(version.subresources).toEqual({ status: {} });
  });
});

describe('CRD schema and src/api/v1alpha1.ts', () => {
  it.each(EXCEPTION_SCHEMA_LEVELS.map((l) => [l.path || '(root)', l] as const))(
    '%s has the same fields, required alike',
    (_, level) => {
      const s = at(level.path);
      const names = Object.keys(s.properties ?? {}).filter(
        (n) => level.path !== '' || !['apiVersion', 'kind', 'metadata'].includes(n),
      );
      expect(names.sort()).toEqual(Object.keys(level.fields).sort());
      const required = Object.entries(level.fields)
        .filter(([, p]) => p === 'required')
        .map(([n]) => n);
      expect([...(s.required ?? [])].sort()).toEqual(required.sort());
    },
  );

  it('walks every object level the TypeScript shapes describe (no level forgotten)', () => {
    const all: Array<[string, Schema]> = [];
    walk(root, '', all);
    const objectLevels = all
      .filter(([, s]) => s.type === 'object' && s.properties)
      .map(([p]) => p)
      .concat(all.filter(([, s]) => s.type === 'array' && s.items?.type === 'object').map(([p]) => `${p}[]`));
    const listed = EXCEPTION_SCHEMA_LEVELS.map((l) => l.path).filter(Boolean);
    expect(objectLevels.sort()).toEqual([...listed].sort());
  });

  it('enums match the TypeScript constants', () => {
    expect(at('spec').properties!.allow!.items!.enum).toEqual([...HOST_NAMESPACES]);
    expect(at('spec.podSelector.matchExpressions[]').properties!.operator!.enum).toEqual([...SELECTOR_OPERATORS]);
    expect(at('status').properties!.phase!.enum).toEqual([...EXCEPTION_PHASES]);
    expect(at('status.conditions[]').properties!.status!.enum).toEqual([...CONDITION_STATUSES]);
  });

  it('the justification minimum is the backstop validator one', () => {
    const justification = at('spec.riskAcceptance').properties!.justification!;
    expect(justification.minLength).toBe(MIN_JUSTIFICATION_LENGTH);
    const rules = (justification as { 'x-kubernetes-validations': Array<{ rule: string }> })[
      'x-kubernetes-validations'
    ];
    expect(rules.map((r) => r.rule)).toContain(`self.trim().size() >= ${MIN_JUSTIFICATION_LENGTH}`);
  });

  it('every time of the spec has the one date-time grammar as a CEL rule (no format: CEL would convert it); status times are date-time', () => {
    const all: Array<[string, Schema]> = [];
    walk(root, '', all);
    const times = all.filter(([p]) => /At$|Time$/.test(p));
    expect(times.length).toBeGreaterThanOrEqual(6);
    for (const [p, s] of times) {
      if (p.startsWith('spec.')) {
        expect(s.format, p).toBeUndefined();
        expect(rulesOf(s), p).toEqual([{ rule: `self.matches('${DATE_TIME_PATTERN}')`, message: DATE_TIME_MESSAGE }]);
      } else {
        expect(s.format, p).toBe('date-time');
      }
    }
  });

  it('every other copy of the grammars is the one in src/api/validation.ts', () => {
    const spec = at('spec') as Schema & { 'x-kubernetes-validations': Array<{ rule: string }> };
    const dateRules = spec['x-kubernetes-validations'].filter((r) => r.rule.includes('.matches('));
    expect(dateRules).toHaveLength(5); // expiry after acceptance, renewal, and the three contract renewal rules
    for (const r of dateRules) {
      const patterns = [...r.rule.matchAll(/matches\('([^']*)'\)/g)].map((m) => m[1]);
      expect(patterns.length).toBeGreaterThanOrEqual(2);
      for (const p of patterns) expect(p).toBe(DATE_TIME_PATTERN);
    }
    const policy = parse(readFileSync('config/exception-policy/policy.yaml', 'utf8'));
    expect(policy.spec.variables[1]).toEqual({ name: 'dateGrammar', expression: `'${DATE_TIME_PATTERN}'` });
  });

  it('every one-line text field refuses invisible and control characters with the shared pattern', () => {
    const text = [
      ['spec', 'owner'],
      ['spec.riskAcceptance', 'acceptedBy'],
      ['spec.riskAcceptance', 'ticket'],
      ['spec.review', 'reviewedBy'],
    ] as const;
    for (const [level, field] of text) {
      expect(rulesOf(at(level).properties![field]!), field).toEqual([
        { rule: `!self.matches(r'${INVISIBLE_OR_CONTROL_PATTERN}')`, message: SINGLE_LINE_MESSAGE },
        {
          rule: `self.matches(r'${VISIBLE_PATTERN}')`,
          message: 'must not be blank (it needs at least one visible character)',
        },
      ]);
    }
  });

  it('every field has a description, so kubectl explain describes it', () => {
    const all: Array<[string, Schema]> = [];
    walk(root, '', all);
    const undescribed = all.filter(([p, s]) => p !== 'metadata' && !s.description?.trim()).map(([p]) => p);
    expect(undescribed).toEqual([]);
  });
});

describe('the register (printer columns)', () => {
  const columns: Array<{ name: string; type: string; jsonPath: string; priority?: number }> =
    version.additionalPrinterColumns;

  it('shows owner to age, workloads after pods; -o wide adds ticket, review, selector', () => {
    expect(columns.filter((c) => !c.priority).map((c) => [c.name, c.jsonPath])).toEqual([
      ['Owner', '.spec.owner'],
      ['Allows', '.status.allows'],
      ['Phase', '.status.phase'],
      ['Expires', '.spec.expiresAt'],
      ['Pods', '.status.coveredPods'],
      ['Workloads', '.status.workloadCount'],
      ['Enforced', '.status.conditions[?(@.type=="Enforced")].status'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
    expect(columns.filter((c) => c.priority === 1).map((c) => [c.name, c.jsonPath])).toEqual([
      ['Ticket', '.spec.riskAcceptance.ticket'],
      ['Next Review', '.status.nextReviewAt'],
      ['Selector', '.status.selector'],
    ]);
  });

  it('prints future times as strings (a future date column reads <invalid>)', () => {
    expect(columns.filter((c) => c.type === 'date').map((c) => c.name)).toEqual(['Age']);
  });
});

const now = DateTime.fromISO('2030-01-10T00:00:00Z');
const created = DateTime.fromISO('2030-01-01T00:00:00Z');

describe('the controller backstop and the invalid corpus', () => {
  it('the corpus has at least 40 variants, with distinct names', () => {
    expect(INVALID_VARIANTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(INVALID_VARIANTS.map((v) => v.name)).size).toBe(INVALID_VARIANTS.length);
  });

  it('the corpus base exception is valid for the backstop too', () => {
    const lc = evaluateLifecycle(readException(validException(), created), now, DEFAULT_POLICY);
    expect(lc.problems).toEqual([]);
    expect(lc.phase).toBe('Active');
  });

  it.each(INVALID_VARIANTS.filter((v) => v.backstop).map((v) => [v.name, v] as const))('backstop: %s', (_, v) => {
    const lc = evaluateLifecycle(readException(invalidException(v, 'x'), created), now, DEFAULT_POLICY);
    expect(lc.phase).toBe('Invalid');
    expect(lc.problems.join('\n')).toContain(v.backstop);
  });
});

describe('config/samples', () => {
  const dir = 'config/samples';
  const samples = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'expiry.yaml' && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(`${dir}/${f}`, 'utf8')).map((d) => [f, d.toJSON()] as const));
  const kustomization = parse(readFileSync(`${dir}/kustomization.yaml`, 'utf8'));

  it('lists every sample and the expiry, which it copies into each', () => {
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect([...kustomization.resources].sort()).toEqual(['expiry.yaml', ...samples.map(([f]) => f)].sort());
    expect(kustomization.replacements[0].source).toMatchObject({
      kind: 'ConfigMap',
      name: 'sample-expiry',
      fieldPath: 'data.expiresAt',
    });
    expect(kustomization.replacements[0].targets[0].fieldPaths).toEqual(['spec.expiresAt']);
  });

  it.each(samples.map(([f, doc]) => [f, doc] as const))(
    '%s is valid for the backstop once its expiry is set',
    (_, doc) => {
      const obj = structuredClone(doc);
      obj.spec.expiresAt = created.plus({ days: 30 }).toISO();
      expect(obj.kind).toBe(EXCEPTION_KIND);
      expect(obj.metadata.namespace).toBeUndefined();
      const lc = evaluateLifecycle(readException(obj, created), now, DEFAULT_POLICY);
      expect(lc.problems).toEqual([]);
    },
  );
});

describe('config/exception-policy', () => {
  const policy = parse(readFileSync('config/exception-policy/policy.yaml', 'utf8'));
  const binding = parse(readFileSync('config/exception-policy/binding.yaml', 'utf8'));
  const kustomization = parse(readFileSync('config/exception-policy/kustomization.yaml', 'utf8'));

  it('defaults the maximum lifetime to the policy core default, as its first variable (overlays patch /spec/variables/0)', () => {
    expect(policy.spec.variables[0]).toEqual({
      name: 'maxLifetime',
      expression: `duration('${DEFAULT_POLICY.maxLifetime.as('hours')}h')`,
    });
  });

  it('checks the exceptions (not their status) on CREATE and UPDATE, denying', () => {
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [GROUP], apiVersions: [VERSION], operations: ['CREATE', 'UPDATE'], resources: [EXCEPTION_PLURAL] },
    ]);
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    expect(kustomization.resources).toEqual(['policy.yaml', 'binding.yaml']);
    for (const o of [policy, binding]) expect(o.metadata.labels['app.kubernetes.io/part-of']).toBe('hostns-operator');
  });
});

describe('enforced controls', () => {
  it('the CRD enum is exactly the controls the policy core checks', () => {
    const crd = parse(readFileSync('crds/hostnamespaceexceptions.yaml', 'utf8'));
    const items =
      crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.riskAcceptance.properties.enforcedControls
        .items;
    expect(items.enum).toEqual([...ENFORCEABLE_CONTROLS]);
  });
  it('refuses networkRestricted with allow hostNetwork, in the words of the policy core', () => {
    const crd = parse(readFileSync('crds/hostnamespaceexceptions.yaml', 'utf8'));
    const rules = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'] as {
      rule: string;
      message?: string;
    }[];
    const rule = rules.find((r) => r.rule.includes("'networkRestricted' in"))!;
    expect(rule.message?.trim()).toBe(NETWORK_RESTRICTED_HOST_NETWORK);
  });
});
