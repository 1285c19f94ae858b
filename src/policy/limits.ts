// The API server's limits on what the operator writes, and pure helpers that keep every value
// inside them. Several limits are in UTF-8 bytes (Go's len()), not in JavaScript string length
// (UTF-16 code units): 253 emoji are 253 characters but 1,012 bytes.

/** events.k8s.io/v1 Event `note`: bytes. */
export const EVENT_NOTE_MAX_BYTES = 1024;
/** Event `reportingInstance`: bytes. */
export const EVENT_REPORTING_INSTANCE_MAX_BYTES = 128;
/** A status condition's `message` (metav1.Condition, and our CRD's maxLength). */
export const CONDITION_MESSAGE_MAX_BYTES = 32768;
/** All annotations of one object together, keys and values: bytes. */
export const ANNOTATIONS_TOTAL_MAX_BYTES = 256 * 1024;
/**
 * Our own annotation values are informative (the label carries the decision): each is kept to a
 * small share of the shared 256 KiB budget, so they never crowd out anyone else's annotations.
 */
export const OUR_ANNOTATION_MAX_BYTES = 4096;
/** A DNS subdomain (object names, e.g. Events): characters, all ASCII. */
export const DNS_SUBDOMAIN_MAX = 253;

const encoder = new TextEncoder();

export function utf8Bytes(s: string): number {
  // Fast path without allocating: ASCII-only strings are as long in bytes as in code units.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? s.length : encoder.encode(s).length;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `s` cut to at most `maxBytes` UTF-8 bytes, marker included, at a grapheme boundary: never a
 * split code point, surrogate pair, combining sequence or ZWJ emoji. Unchanged when it fits.
 * The marker (default "…", 3 bytes) says the text was cut; it is dropped when even it does not fit.
 */
export function truncateUtf8(s: string, maxBytes: number, marker = '…'): string {
  if (!(maxBytes >= 0)) throw new RangeError(`truncateUtf8: maxBytes must be >= 0, got ${maxBytes}`);
  if (utf8Bytes(s) <= maxBytes) return s;
  const markerBytes = utf8Bytes(marker);
  const budget = markerBytes <= maxBytes ? maxBytes - markerBytes : maxBytes;
  let used = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(s)) {
    const bytes = utf8Bytes(segment);
    if (used + bytes > budget) break;
    used += bytes;
    end = index + segment.length;
  }
  return s.slice(0, end) + (markerBytes <= maxBytes ? marker : '');
}

/**
 * `items` joined by `sep` within `maxBytes`: whole items only (a cut name would name something
 * else), then ` (+N more)` for those left out.
 */
export function joinWithinBytes(items: readonly string[], sep: string, maxBytes: number): string {
  const all = items.join(sep);
  if (utf8Bytes(all) <= maxBytes) return all;
  const sepBytes = utf8Bytes(sep);
  const kept: string[] = [];
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    const more = ` (+${items.length - i - 1} more)`;
    const add = (kept.length ? sepBytes : 0) + utf8Bytes(items[i]!);
    // Room for this item and for the "more" suffix that must follow it (unless it is the last).
    const tail = i === items.length - 1 ? 0 : utf8Bytes(more);
    if (used + add + tail > maxBytes) break;
    kept.push(items[i]!);
    used += add;
  }
  const suffix = ` (+${items.length - kept.length} more)`;
  return truncateUtf8(kept.join(sep) + suffix, maxBytes);
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What the API server accepts as a DNS-1123 subdomain (most object names, Events included). */
export function isDnsSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= DNS_SUBDOMAIN_MAX && DNS_SUBDOMAIN.test(s);
}

/**
 * One label of a derived name from arbitrary text: lowercase, runs of anything outside
 * [a-z0-9.-] become '-', no empty or edge-punctuated dot-separated parts, at most `max` chars.
 * May return '' (nothing usable); callers add a non-empty hash part.
 */
export function dnsSafePart(text: string, max: number): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .split('.')
    .map((p) => p.replace(/^-+|-+$/g, ''))
    .filter(Boolean)
    .join('.');
  return trimEdges(cleaned.slice(0, Math.max(0, max)));
}

/** Strips '-' and '.' from both ends (a cut can leave 'name-' or 'name.'). */
function trimEdges(s: string): string {
  return s.replace(/^[-.]+|[-.]+$/g, '');
}

/**
 * `<part>.<part>...<suffix>`: a valid DNS subdomain for any input, as long as `suffix` is itself
 * a non-empty valid one (e.g. a hex hash). Parts are cut from the first one, which is the long
 * user-chosen name, so the suffix (the identity of the name) always survives whole.
 */
export function derivedName(parts: readonly string[], suffix: string): string {
  if (!isDnsSubdomain(suffix)) throw new Error(`derivedName: suffix ${JSON.stringify(suffix)} is not a DNS subdomain`);
  const tailParts = parts
    .slice(1)
    .map((p) => dnsSafePart(p, 63))
    .filter(Boolean);
  const tail = [...tailParts, suffix].join('.');
  const room = DNS_SUBDOMAIN_MAX - tail.length - 1;
  const head = parts.length ? dnsSafePart(parts[0]!, room) : '';
  const name = head ? `${head}.${tail}` : tail;
  return name.length <= DNS_SUBDOMAIN_MAX ? name : suffix;
}
