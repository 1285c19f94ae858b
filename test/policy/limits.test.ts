// Byte-accurate limits: the API counts UTF-8 bytes (Go's len), not JavaScript string length.
import { describe, expect, it } from 'vitest';
import {
  derivedName,
  dnsSafePart,
  isDnsSubdomain,
  joinWithinBytes,
  truncateUtf8,
  utf8Bytes,
} from '../../src/policy/limits.ts';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** No lone surrogate anywhere: the string round-trips through UTF-8 unchanged. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

describe('utf8Bytes', () => {
  it('counts as Go len() does', () => {
    for (const s of ['', 'abc', 'é', 'e\u0301', '日本語', '😀', '👩‍👩‍👧', '🇫🇷', 'a😀é日'])
      expect(utf8Bytes(s)).toBe(bytes(s));
  });
});

describe('truncateUtf8', () => {
  // Each alphabet: 1, 2, 3, 4-byte code points, and multi-code-point graphemes.
  const alphabets: [string, string][] = [
    ['ASCII', 'a'],
    ['é (2 bytes)', 'é'],
    ['CJK (3 bytes)', '日'],
    ['emoji (4 bytes, a surrogate pair)', '😀'],
    ['e + combining acute (1+2 bytes)', 'e\u0301'],
    ['family ZWJ sequence (18 bytes)', '👩‍👩‍👧'],
    ['flag (two regional indicators, 8 bytes)', '🇫🇷'],
  ];
  for (const [what, unit] of alphabets) {
    it(`${what}: every length around every limit stays within the limit, whole graphemes only`, () => {
      for (const count of [1, 2, 100, 253, 400]) {
        const s = unit.repeat(count);
        for (const max of [0, 1, 2, 3, 4, 5, 17, 18, 19, 127, 128, 1021, 1022, 1023, 1024, 1025, 32768]) {
          const out = truncateUtf8(s, max);
          expect(bytes(out)).toBeLessThanOrEqual(max);
          expect(wellFormed(out)).toBe(true);
          if (bytes(s) <= max) {
            expect(out).toBe(s);
          } else {
            const body = out.endsWith('…') ? out.slice(0, -1) : out;
            // Whole units only, and as many as fit.
            expect(body.length % unit.length).toBe(0);
            expect(body).toBe(unit.repeat(body.length / unit.length));
            if (max >= 3) expect(out.endsWith('…')).toBe(true);
            expect(bytes(body) + bytes(unit) + (max >= 3 ? 3 : 0)).toBeGreaterThan(max);
          }
        }
      }
    });
  }
  it('the exact boundary: 1,024 bytes fit unchanged, 1,025 are cut to at most 1,024', () => {
    const exact = 'a'.repeat(1020) + '😀'; // 1,024 bytes, 1,022 UTF-16 units
    expect(truncateUtf8(exact, 1024)).toBe(exact);
    const over = 'a'.repeat(1021) + '😀'; // 1,025 bytes
    expect(truncateUtf8(over, 1024)).toBe('a'.repeat(1021) + '…');
    // The old cut by string length let this through: 253 emoji are 506 units but 1,012 bytes.
    const owner = '😀'.repeat(253);
    const note = `Exception lapsed (owner: ${owner}).`;
    expect(note.length).toBeLessThan(1024);
    expect(bytes(truncateUtf8(note, 1024))).toBeLessThanOrEqual(1024);
  });
  it('mixed text: cut at a grapheme boundary, never inside é, 日, 😀 or a ZWJ sequence', () => {
    const s = 'aé日😀👩‍👩‍👧e\u0301'.repeat(50);
    for (let max = 0; max <= bytes(s) + 1; max++) {
      const out = truncateUtf8(s, max);
      expect(bytes(out)).toBeLessThanOrEqual(max);
      expect(wellFormed(out)).toBe(true);
      const body = out.endsWith('…') && out !== s ? out.slice(0, -1) : out;
      expect(s.startsWith(body)).toBe(true);
      // The next character after the cut starts a new grapheme: no ZWJ, combining mark or low surrogate.
      const next = s.slice(body.length, body.length + 1);
      // eslint-disable-next-line no-misleading-character-class -- lone joiners and marks are what is tested
      expect(next).not.toMatch(/[\u200d\u0301\udc00-\udfff]/);
    }
  });
  it('a custom marker, an empty one, and a marker longer than the limit', () => {
    expect(truncateUtf8('abcdef', 5, '...')).toBe('ab...');
    expect(truncateUtf8('abcdef', 5, '')).toBe('abcde');
    expect(truncateUtf8('abcdef', 2, '...')).toBe('ab');
    expect(() => truncateUtf8('x', -1)).toThrow(/maxBytes/);
  });
});

describe('joinWithinBytes', () => {
  it('keeps whole names and says how many were left out', () => {
    const names = Array.from({ length: 100 }, (_, i) => `exception-${String(i).padStart(3, '0')}`);
    expect(joinWithinBytes(names.slice(0, 3), ',', 4096)).toBe('exception-000,exception-001,exception-002');
    const out = joinWithinBytes(names, ',', 100);
    expect(bytes(out)).toBeLessThanOrEqual(100);
    expect(out).toMatch(/^exception-000(,exception-\d{3})* \(\+\d+ more\)$/);
    const kept = out.split(' (+')[0]!.split(',');
    expect(kept.length + Number(/\+(\d+) more/.exec(out)![1])).toBe(100);
  });
  it('64 names of 63 characters (the CRD maximum) fit a 4 KiB annotation value', () => {
    const names = Array.from({ length: 80 }, (_, i) => `${'n'.repeat(60)}${String(i).padStart(3, '0')}`);
    for (const max of [63, 64, 100, 4096]) {
      const out = joinWithinBytes(names, ',', max);
      expect(bytes(out)).toBeLessThanOrEqual(max);
    }
  });
  it('a list that fits is unchanged, an empty list is empty', () => {
    expect(joinWithinBytes([], ',', 10)).toBe('');
    expect(joinWithinBytes(['a', 'b'], ',', 3)).toBe('a,b');
  });
});

describe('derived names are DNS subdomains for every valid input', () => {
  const hash = '0123456789abcdef';
  it('isDnsSubdomain agrees with the API server rules', () => {
    for (const ok of ['a', 'a.b', 'a-b.c', '0', 'x'.repeat(253), 'a.b-c.d']) expect(isDnsSubdomain(ok)).toBe(true);
    for (const bad of ['', 'A', 'a..b', 'a.-b', 'a-.b', '-a', 'a-', '.a', 'a.', 'a_b', 'x'.repeat(254), 'é']) {
      expect(isDnsSubdomain(bad)).toBe(false);
    }
  });
  it('dnsSafePart: lowercase, no edge punctuation, within max', () => {
    expect(dnsSafePart('HostNamespaceViolation', 63)).toBe('hostnamespaceviolation');
    expect(dnsSafePart('a..b', 63)).toBe('a.b');
    expect(dnsSafePart('-a-.-b-', 63)).toBe('a.b');
    expect(dnsSafePart('ab-cd', 3)).toBe('ab');
    expect(dnsSafePart('ab.cd', 3)).toBe('ab');
    expect(dnsSafePart('---', 63)).toBe('');
    expect(dnsSafePart('ünïcode name', 63)).toBe('n-code-name');
  });
  it('a 253-character name whose cut lands on "-" or "." (every position, every separator)', () => {
    for (const reason of [
      'HostNamespaceViolation',
      'Expired',
      'Activated',
      'ExpiringSoon',
      'ReviewOverdue',
      'Invalid',
    ]) {
      for (const sep of ['-', '.', '--', '.-.', '-.-']) {
        for (let at = 180; at <= 253 - sep.length - 1; at++) {
          const name = ('a'.repeat(at) + sep + 'b'.repeat(253)).slice(0, 253);
          if (!isDnsSubdomain(name)) continue; // only valid pod names are inputs
          const out = derivedName([name, reason], hash);
          expect(isDnsSubdomain(out), `${reason} ${JSON.stringify(sep)} at ${at}: ${out}`).toBe(true);
          expect(out.endsWith(`.${reason.toLowerCase()}.${hash}`)).toBe(true);
        }
      }
    }
  });
  it('names that fitted before keep their exact old form (Events of an older version are found again)', () => {
    const old = (name: string, reason: string) =>
      `${name.slice(0, 253 - 16 - reason.length - 2)}.${reason.toLowerCase()}.${hash}`;
    for (const name of ['p', 'web-0', 'a.b.c', 'x'.repeat(200), 'x'.repeat(253), 'a-b'.repeat(84)]) {
      const before = old(name, 'Expired');
      if (isDnsSubdomain(before)) expect(derivedName([name, 'Expired'], hash)).toBe(before);
    }
  });
  it('lengths at the limit: 1, 62, 63, 64, 212, 213, 252, 253 characters', () => {
    for (const len of [1, 62, 63, 64, 212, 213, 252, 253]) {
      for (const fill of ['x', 'x-', 'x.', '9']) {
        const name =
          fill
            .repeat(len)
            .slice(0, len)
            .replace(/[-.]+$/, '') || 'x';
        const out = derivedName([name, 'HostNamespaceViolation'], hash);
        expect(isDnsSubdomain(out)).toBe(true);
        expect(out.length).toBeLessThanOrEqual(253);
      }
    }
  });
  it('refuses a suffix that is not itself valid (a programming error, not an input)', () => {
    expect(() => derivedName(['p'], 'Bad_Hash')).toThrow(/suffix/);
  });
});
