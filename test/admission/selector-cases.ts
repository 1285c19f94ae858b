// One table of (selector, labels) cases, run through src/policy/selector.ts matchesSelector (unit
// test) and through the API server's admission policy (integration test): the two must agree.
import type { LabelSelector } from '../../src/api/v1alpha1.ts';

export interface SelectorCase {
  what: string;
  selector: LabelSelector;
  labels: Record<string, string>;
  /** What metav1.LabelSelector semantics say. */
  matches: boolean;
}

const inAB: LabelSelector = { matchExpressions: [{ key: 'k', operator: 'In', values: ['a', 'b'] }] };
const notInAB: LabelSelector = { matchExpressions: [{ key: 'k', operator: 'NotIn', values: ['a', 'b'] }] };
const exists: LabelSelector = { matchExpressions: [{ key: 'k', operator: 'Exists' }] };
const doesNotExist: LabelSelector = { matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] };
const combined: LabelSelector = {
  matchLabels: { app: 'web' },
  matchExpressions: [
    { key: 'tier', operator: 'In', values: ['fe', 'be'] },
    { key: 'debug', operator: 'DoesNotExist' },
  ],
};

export const SELECTOR_CASES: SelectorCase[] = [
  { what: 'empty selector, no labels', selector: {}, labels: {}, matches: true },
  { what: 'empty selector, some labels', selector: {}, labels: { a: '1' }, matches: true },
  {
    what: 'empty matchLabels and matchExpressions',
    selector: { matchLabels: {}, matchExpressions: [] },
    labels: { a: '1' },
    matches: true,
  },
  { what: 'matchLabels equal', selector: { matchLabels: { app: 'web' } }, labels: { app: 'web' }, matches: true },
  {
    what: 'matchLabels value differs in case',
    selector: { matchLabels: { app: 'web' } },
    labels: { app: 'Web' },
    matches: false,
  },
  { what: 'matchLabels key missing', selector: { matchLabels: { app: 'web' } }, labels: {}, matches: false },
  {
    what: 'matchLabels one of two missing',
    selector: { matchLabels: { app: 'web', tier: 'fe' } },
    labels: { app: 'web' },
    matches: false,
  },
  {
    what: 'matchLabels all present plus extra labels',
    selector: { matchLabels: { app: 'web', tier: 'fe' } },
    labels: { app: 'web', tier: 'fe', x: 'y' },
    matches: true,
  },
  { what: 'matchLabels empty value present', selector: { matchLabels: { k: '' } }, labels: { k: '' }, matches: true },
  { what: 'matchLabels empty value, key absent', selector: { matchLabels: { k: '' } }, labels: {}, matches: false },
  { what: 'In, value listed', selector: inAB, labels: { k: 'a' }, matches: true },
  { what: 'In, second value listed', selector: inAB, labels: { k: 'b' }, matches: true },
  { what: 'In, value not listed', selector: inAB, labels: { k: 'c' }, matches: false },
  { what: 'In, key absent', selector: inAB, labels: {}, matches: false },
  { what: 'NotIn, value listed', selector: notInAB, labels: { k: 'a' }, matches: false },
  { what: 'NotIn, value not listed', selector: notInAB, labels: { k: 'c' }, matches: true },
  { what: 'NotIn, key absent', selector: notInAB, labels: {}, matches: true },
  { what: 'Exists, empty value', selector: exists, labels: { k: '' }, matches: true },
  { what: 'Exists, key absent', selector: exists, labels: { other: 'k' }, matches: false },
  { what: 'DoesNotExist, key present', selector: doesNotExist, labels: { k: '' }, matches: false },
  { what: 'DoesNotExist, key absent', selector: doesNotExist, labels: { other: 'k' }, matches: true },
  {
    what: 'matchLabels and expressions, all hold',
    selector: combined,
    labels: { app: 'web', tier: 'fe' },
    matches: true,
  },
  {
    what: 'matchLabels and expressions, DoesNotExist fails',
    selector: combined,
    labels: { app: 'web', tier: 'fe', debug: 'true' },
    matches: false,
  },
  {
    what: 'matchLabels and expressions, In fails',
    selector: combined,
    labels: { app: 'web', tier: 'db' },
    matches: false,
  },
  {
    what: 'matchLabels and expressions, matchLabels fails',
    selector: combined,
    labels: { app: 'api', tier: 'be' },
    matches: false,
  },
  {
    what: 'prefixed key',
    selector: { matchExpressions: [{ key: 'example.com/role', operator: 'In', values: ['node-agent'] }] },
    labels: { 'example.com/role': 'node-agent' },
    matches: true,
  },
  {
    what: 'two requirements on one key, both hold',
    selector: {
      matchExpressions: [
        { key: 'k', operator: 'In', values: ['a', 'b'] },
        { key: 'k', operator: 'NotIn', values: ['b'] },
      ],
    },
    labels: { k: 'a' },
    matches: true,
  },
  {
    what: 'two requirements on one key, second fails',
    selector: {
      matchExpressions: [
        { key: 'k', operator: 'In', values: ['a', 'b'] },
        { key: 'k', operator: 'NotIn', values: ['b'] },
      ],
    },
    labels: { k: 'b' },
    matches: false,
  },
  // The one departure from metav1.LabelSelector: a selector naming the operator's own marks
  // (hostns.io/ keys) matches nothing, whatever the labels (the CRD refuses it too).
  {
    what: 'hostns.io/ key in matchLabels, label present',
    selector: { matchLabels: { 'hostns.io/violation': 'true' } },
    labels: { 'hostns.io/violation': 'true' },
    matches: false,
  },
  {
    what: 'hostns.io/ key with DoesNotExist, label absent',
    selector: { matchExpressions: [{ key: 'hostns.io/exception', operator: 'DoesNotExist' }] },
    labels: { app: 'web' },
    matches: false,
  },
  {
    what: 'hostns.io/ key with Exists next to a matching label',
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'hostns.io/exception', operator: 'Exists' }] },
    labels: { app: 'web', 'hostns.io/exception': 'x' },
    matches: false,
  },
  {
    what: 'hostns.io/ key with NotIn, label absent',
    selector: { matchExpressions: [{ key: 'hostns.io/anything', operator: 'NotIn', values: ['x'] }] },
    labels: {},
    matches: false,
  },
  {
    what: 'a look-alike prefix is an ordinary key',
    selector: { matchLabels: { 'x.hostns.io/k': 'v' } },
    labels: { 'x.hostns.io/k': 'v' },
    matches: true,
  },
];
