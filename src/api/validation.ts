// The grammars of the HostNamespaceException API, written once. The same strings are embedded in
// the CRD's CEL rules (crds/), the exception policy (config/exception-policy) and read here by the
// operator and the CLI; test/api/crd-schema.test.ts checks that every copy is this one.
// Each is RE2 (what CEL's matches() runs) and means the same in JavaScript with the `u` flag.

/**
 * The date-time grammar of every time in the spec: RFC 3339 as Go and CEL's timestamp() parse it,
 * narrowed so that every accepted string is one both read the same way: uppercase `T` and `Z`,
 * a real calendar day (leap years included), hours 00-23, seconds 00-59 (no leap second), at most
 * 9 fractional digits, an offset of `Z` or ±00:00..±23:59, and a year from 2000 to 2999 (so no
 * offset can carry it outside CEL's years 1-9999). No backslash, so it embeds verbatim in YAML/CEL.
 */
export const DATE_TIME_PATTERN =
  '^(2[0-9]{3}-(' +
  '(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))' +
  '|(2[0-9](0[48]|[2468][048]|[13579][26])|2[04]00)-02-29)' +
  'T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,9})?' +
  '(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$';

/** What a date outside DATE_TIME_PATTERN is told (after the field name). */
export const DATE_TIME_MESSAGE =
  'must be an RFC 3339 date-time such as 2030-01-31T00:00:00Z or 2030-01-31T01:00:00+01:00 ' +
  '(uppercase T and Z, a real calendar date in the years 2000-2999, offset within ±23:59)';

/**
 * Characters a single line of visible text may not contain: controls (newlines, tabs, escapes),
 * format characters (zero-width space/joiners U+200B-U+200D, word joiner U+2060, BOM U+FEFF, bidi
 * controls, soft hyphen), private use, line and paragraph separators, and the letters that render
 * as blanks (Hangul fillers, halfwidth filler, braille blank).
 */
export const INVISIBLE_OR_CONTROL_PATTERN =
  '[\\p{Cc}\\p{Cf}\\p{Co}\\p{Zl}\\p{Zp}\\x{115F}\\x{1160}\\x{3164}\\x{FFA0}\\x{2800}]';

/** At least one visible character: a letter, number, punctuation or symbol. */
export const VISIBLE_PATTERN = '[\\p{L}\\p{N}\\p{P}\\p{S}]';

export const SINGLE_LINE_MESSAGE =
  'must be single-line visible text: ' +
  'no control characters (newline, tab), zero-width, bidi or other invisible characters';

/** Label keys under this prefix are the operator's own marks on pods; no selector may name them. */
export const OPERATOR_KEY_PREFIX = 'hostns.io/';

/** A JavaScript RegExp of one of the RE2 patterns above (`\x{...}` is `\u{...}` there). */
export function jsPattern(re2: string): RegExp {
  return new RegExp(re2.replaceAll('\\x{', '\\u{'), 'u');
}

const dateTime = jsPattern(DATE_TIME_PATTERN);
const invisible = jsPattern(INVISIBLE_OR_CONTROL_PATTERN);
const visible = jsPattern(VISIBLE_PATTERN);

/** True when `value` is in the API's date-time grammar. */
export function isApiDateTime(value: string): boolean {
  return dateTime.test(value);
}

/** The problem with a one-line text field (owner, acceptedBy, reviewedBy, ticket), or undefined. */
export function textProblem(value: string): 'blank' | 'invisible' | undefined {
  if (invisible.test(value)) return 'invisible';
  if (!visible.test(value)) return 'blank';
  return undefined;
}

/** True when a label key is one of the operator's own (any key under hostns.io/). */
export function isOperatorKey(key: string): boolean {
  return key.startsWith(OPERATOR_KEY_PREFIX);
}
