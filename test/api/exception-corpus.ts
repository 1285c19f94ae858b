// The corpus of invalid HostNamespaceExceptions: each variant breaks exactly one rule of the CRD
// schema (crds/hostnamespaceexceptions.yaml). test/api/crd-validation.it.test.ts asserts the API
// server refuses each with a message naming the field; test/api/crd-schema.test.ts asserts the
// controller's backstop (readException + evaluateLifecycle) also refuses those marked `backstop`.

import { DATE_TIME_MESSAGE, SINGLE_LINE_MESSAGE } from '../../src/api/validation.ts';

export type Json = Record<string, unknown>;

const DATE = DATE_TIME_MESSAGE;
const NS_WIDE = 'spec.namespaceWide: Required value: must be true to acknowledge a namespace-wide exception';

/** The date-time grammar, case by case: `valid` is what src/api/validation.ts says. */
export const DATE_VARIANTS: ReadonlyArray<{ what: string; value: string; valid: boolean }> = [
  { what: 'UTC', value: '2030-01-31T00:00:00Z', valid: true },
  { what: 'offset', value: '2030-01-31T01:00:00+01:00', valid: true },
  { what: 'largest offsets', value: '2030-01-31T01:00:00-23:59', valid: true },
  { what: 'nine fractional digits', value: '2030-01-31T00:00:00.123456789Z', valid: true },
  { what: 'leap day of a leap year', value: '2028-02-29T00:00:00Z', valid: true },
  { what: 'leap day of 2000 (divisible by 400)', value: '2000-02-29T12:00:00Z', valid: true },
  { what: 'last second of a day', value: '2030-12-31T23:59:59Z', valid: true },
  ...[
    ['lowercase t and z', '2026-12-17t10:00:00z'],
    ['lowercase z', '2026-12-17T10:00:00z'],
    ['offset +24:00', '2030-01-31T00:00:00+24:00'],
    ['offset minutes 60', '2030-01-31T00:00:00+01:60'],
    ['offset without colon', '2030-01-31T00:00:00+0100'],
    ['hour 24', '2030-01-31T24:00:00Z'],
    ['leap second', '2030-12-31T23:59:60Z'],
    ['February 30', '2030-02-30T00:00:00Z'],
    ['leap day of a common year', '2030-02-29T00:00:00Z'],
    ['leap day of 2100 (not a leap year)', '2100-02-29T00:00:00Z'],
    ['April 31', '2030-04-31T00:00:00Z'],
    ['ten fractional digits', '2030-01-31T00:00:00.1234567890Z'],
    ['a space for T', '2030-01-31 00:00:00Z'],
    ['year before 2000', '1999-12-31T00:00:00Z'],
    ['year 10000', '10000-01-01T00:00:00Z'],
    ['no seconds', '2030-01-31T00:00Z'],
    ['trailing blank', '2030-01-31T00:00:00Z '],
    ['basic format', '20300131T000000Z'],
  ].map(([what, value]) => ({ what: what!, value: value!, valid: false })),
];
const INVALID_DATES = DATE_VARIANTS.filter(
  (d) =>
    !d.valid &&
    [
      'lowercase t and z',
      'offset +24:00',
      'February 30',
      'leap day of a common year',
      'hour 24',
      'a space for T',
    ].includes(d.what),
);

/** One-line text, case by case: `problem` is what src/api/validation.ts textProblem says. */
export const TEXT_VARIANTS: ReadonlyArray<{ what: string; value: string; problem?: 'blank' | 'invisible' }> = [
  { what: 'plain', value: 'team-observability' },
  { what: 'accented and emoji', value: 'équipe 🙂 réseau' },
  { what: 'an e-mail address', value: 'jane.doe@example.com' },
  { what: 'with a newline', value: 'team\nother', problem: 'invisible' },
  { what: 'with a tab', value: 'team\tother', problem: 'invisible' },
  { what: 'only a zero-width space', value: '\u200b', problem: 'invisible' },
  { what: 'with a zero-width joiner inside', value: 'te\u200dam', problem: 'invisible' },
  { what: 'with a word joiner', value: 'team\u2060', problem: 'invisible' },
  { what: 'with a byte-order mark', value: '\ufeffteam', problem: 'invisible' },
  { what: 'with a bidi override', value: 'team\u202emaerts', problem: 'invisible' },
  { what: 'with a line separator', value: 'team\u2028x', problem: 'invisible' },
  { what: 'only a Hangul filler', value: '\u3164', problem: 'invisible' },
  { what: 'only no-break spaces', value: '\u00a0\u00a0', problem: 'blank' },
  { what: 'only an ideographic space', value: '\u3000', problem: 'blank' },
];

type Setter = (o: Json, value: string) => void;
const DATE_FIELDS: ReadonlyArray<[string, Setter]> = [
  ['spec.expiresAt', (o, v) => ((o.spec as Obj).expiresAt = v)],
  ['spec.riskAcceptance.acceptedAt', (o, v) => (((o.spec as Obj).riskAcceptance as Obj).acceptedAt = v)],
  ['spec.review.lastReviewedAt', (o, v) => (((o.spec as Obj).review as Obj).lastReviewedAt = v)],
];
const TEXT_FIELDS: ReadonlyArray<[string, Setter]> = [
  ['spec.owner', (o, v) => ((o.spec as Obj).owner = v)],
  ['spec.riskAcceptance.acceptedBy', (o, v) => (((o.spec as Obj).riskAcceptance as Obj).acceptedBy = v)],
  ['spec.riskAcceptance.ticket', (o, v) => (((o.spec as Obj).riskAcceptance as Obj).ticket = v)],
  ['spec.review.reviewedBy', (o, v) => (((o.spec as Obj).review as Obj).reviewedBy = v)],
];

/** A valid exception (no namespace, no clock rules involved: the CRD has no clock). */
export function validException(name = 'valid', expiresAt = '2030-01-31T00:00:00Z'): Json {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name },
    spec: {
      owner: 'team-observability',
      allow: ['hostNetwork', 'hostPID'],
      podSelector: {
        matchLabels: { 'app.kubernetes.io/name': 'node-exporter' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['infra'] }],
      },
      riskAcceptance: {
        justification: 'node-exporter reads host metrics from /proc and binds the node IP',
        acceptedBy: 'security-board',
        acceptedAt: '2030-01-01T00:00:00Z',
        ticket: 'SEC-1042',
        compensatingControls: ['runs as non-root', 'all capabilities dropped'],
      },
      expiresAt,
      review: { lastReviewedAt: '2030-01-05T00:00:00Z', reviewedBy: 'jane.doe@example.com' },
    },
  };
}

export interface InvalidVariant {
  /** What is wrong, as a test name. */
  name: string;
  /** Breaks a valid exception (see validException) in place. */
  mutate: (obj: Json) => void;
  /** Substrings the API server's message must contain: the first one names the field. */
  says: string[];
  /**
   * A substring of one of the problems readException/evaluateLifecycle report, when the controller's
   * backstop catches this too (objects that got in without the CRD's validation).
   */
  backstop?: string;
}

type Obj = Record<string, any>;
const spec = (o: Json): Obj => o.spec as Obj;
const ra = (o: Json): Obj => spec(o).riskAcceptance as Obj;
const sel = (o: Json): Obj => spec(o).podSelector as Obj;
const expr0 = (o: Json): Obj => (sel(o).matchExpressions as Obj[])[0]!;

export const INVALID_VARIANTS: readonly InvalidVariant[] = [
  // owner
  {
    name: 'owner missing',
    mutate: (o) => delete spec(o).owner,
    says: ['spec.owner: Required value'],
    backstop: 'spec.owner is required',
  },
  {
    name: 'owner empty',
    mutate: (o) => (spec(o).owner = ''),
    says: ['spec.owner', 'at least 1 chars long'],
    backstop: 'spec.owner is required',
  },
  {
    name: 'owner blank',
    mutate: (o) => (spec(o).owner = '   '),
    says: ['spec.owner', 'must not be blank'],
    backstop: 'spec.owner must not be blank',
  },
  {
    name: 'owner not a string',
    mutate: (o) => (spec(o).owner = 42),
    says: ['spec.owner', 'must be of type string'],
    backstop: 'spec.owner is required',
  },
  { name: 'owner too long', mutate: (o) => (spec(o).owner = 'o'.repeat(254)), says: ['spec.owner: Too long', '253'] },

  // allow
  {
    name: 'allow missing',
    mutate: (o) => delete spec(o).allow,
    says: ['spec.allow: Required value'],
    backstop: 'spec.allow must list at least one',
  },
  {
    name: 'allow empty',
    mutate: (o) => (spec(o).allow = []),
    says: ['spec.allow', 'should have at least 1 items'],
    backstop: 'spec.allow must list at least one',
  },
  {
    name: 'allow unknown entry',
    mutate: (o) => (spec(o).allow = ['hostUsers']),
    says: ['spec.allow[0]: Unsupported value: "hostUsers"', 'supported values: "hostNetwork", "hostPID", "hostIPC"'],
    backstop: 'unknown host namespace "hostUsers"',
  },
  {
    name: 'allow wrong case',
    mutate: (o) => (spec(o).allow = ['hostNetwork', 'hostpid']),
    says: ['spec.allow[1]: Unsupported value: "hostpid"'],
    backstop: 'unknown host namespace "hostpid"',
  },
  {
    name: 'allow empty string entry',
    mutate: (o) => (spec(o).allow = ['']),
    says: ['spec.allow[0]: Unsupported value: ""'],
    backstop: 'unknown host namespace ""',
  },
  {
    name: 'allow duplicated',
    mutate: (o) => (spec(o).allow = ['hostPID', 'hostPID']),
    says: ['spec.allow[1]: Duplicate value: "hostPID"'],
    backstop: 'spec.allow has duplicate entries',
  },
  {
    name: 'allow more than three',
    mutate: (o) => (spec(o).allow = ['hostNetwork', 'hostPID', 'hostIPC', 'hostNetwork']),
    says: ['spec.allow', 'must have at most 3 items'],
    backstop: 'spec.allow has duplicate entries',
  },
  {
    name: 'allow not a list',
    mutate: (o) => (spec(o).allow = 'hostNetwork'),
    says: ['spec.allow', 'must be of type array'],
    backstop: 'spec.allow must list at least one',
  },

  // podSelector
  {
    name: 'podSelector missing',
    mutate: (o) => delete spec(o).podSelector,
    says: ['spec.podSelector: Required value'],
    backstop: 'spec.podSelector is required',
  },
  {
    name: 'podSelector a string',
    mutate: (o) => (spec(o).podSelector = 'app=node-exporter'),
    says: ['spec.podSelector', 'must be of type object'],
    backstop: 'spec.podSelector must be a label selector object',
  },
  {
    name: 'podSelector unknown operator',
    mutate: (o) => (expr0(o).operator = 'Equals'),
    says: [
      'spec.podSelector.matchExpressions[0].operator: Unsupported value: "Equals"',
      '"In", "NotIn", "Exists", "DoesNotExist"',
    ],
    backstop: 'spec.podSelector.matchExpressions[0].operator must be one of',
  },
  {
    name: 'podSelector operator wrong case',
    mutate: (o) => (expr0(o).operator = 'in'),
    says: ['spec.podSelector.matchExpressions[0].operator: Unsupported value: "in"'],
    backstop: 'spec.podSelector.matchExpressions[0].operator must be one of',
  },
  {
    name: 'podSelector operator missing',
    mutate: (o) => delete expr0(o).operator,
    says: ['spec.podSelector.matchExpressions[0].operator: Required value'],
    backstop: 'spec.podSelector.matchExpressions[0].operator must be one of',
  },
  {
    name: 'podSelector key missing',
    mutate: (o) => delete expr0(o).key,
    says: ['spec.podSelector.matchExpressions[0].key: Required value'],
    backstop: 'spec.podSelector.matchExpressions[0].key is required',
  },
  {
    name: 'podSelector key empty',
    mutate: (o) => (expr0(o).key = ''),
    says: ['spec.podSelector.matchExpressions[0].key', 'at least 1 chars long'],
    backstop: 'spec.podSelector.matchExpressions[0].key is required',
  },
  {
    name: 'podSelector key not a label key',
    mutate: (o) => (expr0(o).key = 'not a key'),
    says: ['spec.podSelector.matchExpressions[0].key', 'should match'],
  },
  {
    name: 'podSelector In without values',
    mutate: (o) => delete expr0(o).values,
    says: [
      'spec.podSelector.matchExpressions[0].values: Required value',
      'must be non-empty for operators In and NotIn',
    ],
    backstop: 'values must be non-empty for operator In',
  },
  {
    name: 'podSelector NotIn with empty values',
    mutate: (o) => (sel(o).matchExpressions = [{ key: 'tier', operator: 'NotIn', values: [] }]),
    says: [
      'spec.podSelector.matchExpressions[0].values: Required value',
      'must be non-empty for operators In and NotIn',
    ],
    backstop: 'values must be non-empty for operator NotIn',
  },
  {
    name: 'podSelector Exists with values',
    mutate: (o) => (expr0(o).operator = 'Exists'),
    says: [
      'spec.podSelector.matchExpressions[0].values: Forbidden',
      'must be empty for operators Exists and DoesNotExist',
    ],
    backstop: 'values must be empty for operator Exists',
  },
  {
    name: 'podSelector DoesNotExist with values',
    mutate: (o) => (expr0(o).operator = 'DoesNotExist'),
    says: [
      'spec.podSelector.matchExpressions[0].values: Forbidden',
      'must be empty for operators Exists and DoesNotExist',
    ],
    backstop: 'values must be empty for operator DoesNotExist',
  },
  {
    name: 'podSelector value not a string',
    mutate: (o) => (expr0(o).values = [7]),
    says: ['spec.podSelector.matchExpressions[0].values[0]', 'must be of type string'],
    backstop: 'values must be a list of strings',
  },
  {
    name: 'podSelector value not a label value',
    mutate: (o) => (expr0(o).values = ['not ok!']),
    says: ['spec.podSelector.matchExpressions[0].values[0]', 'should match'],
  },
  {
    name: 'podSelector matchExpressions not a list',
    mutate: (o) => (sel(o).matchExpressions = 'tier in (infra)'),
    says: ['spec.podSelector.matchExpressions', 'must be of type array'],
    backstop: 'spec.podSelector.matchExpressions must be a list',
  },
  {
    name: 'podSelector matchLabels value not a label value',
    mutate: (o) => (sel(o).matchLabels = { app: 'node exporter' }),
    says: ['spec.podSelector.matchLabels.app', 'should match'],
  },
  {
    name: 'podSelector matchLabels value too long',
    mutate: (o) => (sel(o).matchLabels = { app: 'v'.repeat(64) }),
    says: ['spec.podSelector.matchLabels.app: Too long', '63'],
  },
  {
    name: 'podSelector matchLabels value not a string',
    mutate: (o) => (sel(o).matchLabels = { app: true }),
    says: ['spec.podSelector.matchLabels.app', 'must be of type string'],
    backstop: 'spec.podSelector.matchLabels[app] must be a string',
  },
  {
    name: 'podSelector matchLabels key not a label key',
    mutate: (o) => (sel(o).matchLabels = { 'bad key!': 'x' }),
    says: ['spec.podSelector.matchLabels', 'keys must be label keys'],
  },
  {
    name: 'podSelector unknown field',
    mutate: (o) => (sel(o).matchFields = [{ key: 'metadata.name', operator: 'In', values: ['x'] }]),
    says: ['unknown field "spec.podSelector.matchFields"'],
  },

  // riskAcceptance
  {
    name: 'riskAcceptance missing',
    mutate: (o) => delete spec(o).riskAcceptance,
    says: ['spec.riskAcceptance: Required value'],
    backstop: 'spec.riskAcceptance.justification is required',
  },
  {
    name: 'justification missing',
    mutate: (o) => delete ra(o).justification,
    says: ['spec.riskAcceptance.justification: Required value'],
    backstop: 'spec.riskAcceptance.justification is required',
  },
  {
    name: 'justification empty',
    mutate: (o) => (ra(o).justification = ''),
    says: ['spec.riskAcceptance.justification', 'should be at least 20 chars long'],
    backstop: 'spec.riskAcceptance.justification is required',
  },
  {
    name: 'justification too short',
    mutate: (o) => (ra(o).justification = 'needed for metrics'),
    says: ['spec.riskAcceptance.justification', 'should be at least 20 chars long'],
    backstop: 'must be at least 20 characters',
  },
  {
    name: 'justification padded with blanks',
    mutate: (o) => (ra(o).justification = '      needed for metrics      '),
    says: ['spec.riskAcceptance.justification', 'must be at least 20 characters, not counting surrounding blanks'],
    backstop: 'must be at least 20 characters',
  },
  {
    name: 'acceptedBy missing',
    mutate: (o) => delete ra(o).acceptedBy,
    says: ['spec.riskAcceptance.acceptedBy: Required value'],
    backstop: 'spec.riskAcceptance.acceptedBy is required',
  },
  {
    name: 'acceptedBy empty',
    mutate: (o) => (ra(o).acceptedBy = ''),
    says: ['spec.riskAcceptance.acceptedBy', 'at least 1 chars long'],
    backstop: 'spec.riskAcceptance.acceptedBy is required',
  },
  {
    name: 'acceptedBy blank',
    mutate: (o) => (ra(o).acceptedBy = '  '),
    says: ['spec.riskAcceptance.acceptedBy', 'must not be blank'],
    backstop: 'spec.riskAcceptance.acceptedBy must not be blank',
  },
  {
    name: 'acceptedAt malformed',
    mutate: (o) => (ra(o).acceptedAt = 'last tuesday'),
    says: ['spec.riskAcceptance.acceptedAt', DATE],
    backstop: 'spec.riskAcceptance.acceptedAt "last tuesday" is not an RFC 3339 date-time',
  },
  {
    name: 'acceptedAt after expiresAt',
    mutate: (o) => (ra(o).acceptedAt = '2030-02-01T00:00:00Z'),
    says: ['spec.expiresAt', 'must be after spec.riskAcceptance.acceptedAt'],
    backstop: 'spec.expiresAt must be after spec.riskAcceptance.acceptedAt',
  },
  {
    name: 'ticket empty',
    mutate: (o) => (ra(o).ticket = ''),
    says: ['spec.riskAcceptance.ticket', 'at least 1 chars long'],
  },
  {
    name: 'compensatingControls not a list',
    mutate: (o) => (ra(o).compensatingControls = 'runs as non-root'),
    says: ['spec.riskAcceptance.compensatingControls', 'must be of type array'],
  },
  {
    name: 'compensatingControls empty entry',
    mutate: (o) => (ra(o).compensatingControls = ['']),
    says: ['spec.riskAcceptance.compensatingControls[0]', 'at least 1 chars long'],
  },
  {
    name: 'riskAcceptance unknown field (typo)',
    mutate: (o) => (ra(o).approvedBy = 'someone'),
    says: ['unknown field "spec.riskAcceptance.approvedBy"'],
  },

  // expiresAt
  {
    name: 'expiresAt missing',
    mutate: (o) => delete spec(o).expiresAt,
    says: ['spec.expiresAt: Required value'],
    backstop: 'spec.expiresAt is required',
  },
  {
    name: 'expiresAt words',
    mutate: (o) => (spec(o).expiresAt = 'next month'),
    says: ['spec.expiresAt: Invalid value: "next month": ' + DATE],
    backstop: 'spec.expiresAt "next month" is not an RFC 3339 date-time',
  },
  {
    name: 'expiresAt month 13',
    mutate: (o) => (spec(o).expiresAt = '2030-13-01T00:00:00Z'),
    says: ['spec.expiresAt', DATE],
    backstop: 'is not an RFC 3339 date-time',
  },
  {
    name: 'expiresAt date without time',
    mutate: (o) => (spec(o).expiresAt = '2030-01-31'),
    says: ['spec.expiresAt', DATE],
    backstop: 'is not an RFC 3339 date-time',
  },
  {
    name: 'expiresAt without zone',
    mutate: (o) => (spec(o).expiresAt = '2030-01-31T00:00:00'),
    says: ['spec.expiresAt', DATE],
    backstop: 'is not an RFC 3339 date-time',
  },
  {
    name: 'expiresAt a number',
    mutate: (o) => (spec(o).expiresAt = 1893456000),
    says: ['spec.expiresAt', 'must be of type string'],
    backstop: 'spec.expiresAt must be an RFC 3339 date-time string',
  },

  // review
  {
    name: 'review.lastReviewedAt malformed',
    mutate: (o) => ((spec(o).review as Obj).lastReviewedAt = '15/01/2030'),
    says: ['spec.review.lastReviewedAt', DATE],
    backstop: 'spec.review.lastReviewedAt "15/01/2030" is not an RFC 3339 date-time',
  },
  {
    name: 'review.reviewedBy empty',
    mutate: (o) => ((spec(o).review as Obj).reviewedBy = ''),
    says: ['spec.review.reviewedBy', 'at least 1 chars long'],
  },

  // dates outside the one grammar (each time field; DATE_VARIANTS has the whole grammar table)
  ...DATE_FIELDS.flatMap(([field, set]) =>
    INVALID_DATES.map((d) => ({
      name: `${field} ${d.what} (${d.value})`,
      mutate: (o: Json) => set(o, d.value),
      says: [`${field}: Invalid value: ${JSON.stringify(d.value)}: ${DATE}`],
      backstop: `${field} ${JSON.stringify(d.value)} is not an RFC 3339 date-time`,
    })),
  ),

  // one-line visible text
  ...TEXT_FIELDS.flatMap(([field, set]) =>
    TEXT_VARIANTS.filter((t) => t.problem).map((t) => ({
      name: `${field} ${t.what}`,
      mutate: (o: Json) => set(o, t.value),
      says: [`${field}: Invalid value: `, `: ${t.problem === 'blank' ? 'must not be blank' : SINGLE_LINE_MESSAGE}`],
      ...(field === 'spec.owner' || field === 'spec.riskAcceptance.acceptedBy'
        ? { backstop: `${field} ${t.problem === 'blank' ? 'must not be blank' : SINGLE_LINE_MESSAGE}` }
        : {}),
    })),
  ),

  // the operator's own marks in a selector
  {
    name: 'podSelector matchLabels names hostns.io/violation',
    mutate: (o) => (sel(o).matchLabels = { 'hostns.io/violation': 'true' }),
    says: ['spec.podSelector.matchLabels: Invalid value: must not name hostns.io/ keys'],
    backstop: 'spec.podSelector.matchLabels must not name hostns.io/violation',
  },
  {
    name: 'podSelector matchLabels names hostns.io/exception next to another key',
    mutate: (o) => (sel(o).matchLabels = { app: 'x', 'hostns.io/exception': 'e' }),
    says: ['spec.podSelector.matchLabels: Invalid value: must not name hostns.io/ keys'],
    backstop: 'must not name hostns.io/exception',
  },
  {
    name: 'podSelector DoesNotExist on hostns.io/exception',
    mutate: (o) => (sel(o).matchExpressions = [{ key: 'hostns.io/exception', operator: 'DoesNotExist' }]),
    says: ['spec.podSelector.matchExpressions[0].key: Invalid value: "hostns.io/', 'must not be a hostns.io/ key'],
    backstop: 'spec.podSelector.matchExpressions[0].key must not name hostns.io/exception',
  },
  {
    name: 'podSelector In on hostns.io/violation, second requirement',
    mutate: (o) =>
      (sel(o).matchExpressions = [
        { key: 'tier', operator: 'In', values: ['infra'] },
        { key: 'hostns.io/violation', operator: 'In', values: ['true'] },
      ]),
    says: ['spec.podSelector.matchExpressions[1].key: Invalid value: "hostns.io/', 'must not be a hostns.io/ key'],
    backstop: 'matchExpressions[1].key must not name hostns.io/violation',
  },
  {
    name: 'podSelector NotIn on a new hostns.io/ key',
    mutate: (o) => (sel(o).matchExpressions = [{ key: 'hostns.io/future-mark', operator: 'NotIn', values: ['x'] }]),
    says: ['spec.podSelector.matchExpressions[0].key: Invalid value: "hostns.io/', 'must not be a hostns.io/ key'],
  },

  // a namespace-wide selector needs the acknowledgement
  { name: 'podSelector {} without namespaceWide', mutate: (o) => (spec(o).podSelector = {}), says: [NS_WIDE] },
  {
    name: 'podSelector with empty matchLabels and matchExpressions',
    mutate: (o) => (spec(o).podSelector = { matchLabels: {}, matchExpressions: [] }),
    says: [NS_WIDE],
  },
  {
    name: 'podSelector only DoesNotExist',
    mutate: (o) => (spec(o).podSelector = { matchExpressions: [{ key: 'nobody-has-this', operator: 'DoesNotExist' }] }),
    says: [NS_WIDE],
  },
  {
    name: 'podSelector only NotIn',
    mutate: (o) => (spec(o).podSelector = { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }),
    says: [NS_WIDE],
  },
  {
    name: 'podSelector {} with namespaceWide false',
    mutate: (o) => {
      spec(o).podSelector = {};
      spec(o).namespaceWide = false;
    },
    says: [NS_WIDE],
  },
  {
    name: 'namespaceWide not a boolean',
    mutate: (o) => {
      spec(o).podSelector = {};
      spec(o).namespaceWide = 'yes';
    },
    says: ['spec.namespaceWide', 'must be of type boolean'],
  },

  // structure
  {
    name: 'name longer than a label value',
    mutate: (o) => ((o.metadata as Obj).name = 'n'.repeat(64)),
    says: ['metadata.name must be at most 63 characters'],
  },
  {
    name: 'spec missing',
    mutate: (o) => delete o.spec,
    says: ['spec: Required value'],
    backstop: 'spec.owner is required',
  },
  {
    name: 'spec unknown field',
    mutate: (o) => (spec(o).namespaces = ['kube-system']),
    says: ['unknown field "spec.namespaces"'],
  },
  { name: 'unknown top-level field', mutate: (o) => (o.specs = {}), says: ['unknown field "specs"'] },
];

/** A variant applied to a fresh valid exception. */
export function invalidException(v: InvalidVariant, name: string): Json {
  const obj = validException(name);
  v.mutate(obj);
  return obj;
}
