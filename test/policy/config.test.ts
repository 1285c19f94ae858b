import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/policy/config.ts';

describe('parseDuration', () => {
  it.each([
    ['7d', 7 * 86400],
    ['36h', 36 * 3600],
    ['90m', 5400],
    ['45s', 45],
    ['1d12h', 36 * 3600],
    ['P7D', 7 * 86400],
    ['pt1h', 3600],
  ])('%s = %d s', (text, seconds) => {
    expect(parseDuration(text, '--x').as('seconds')).toBe(seconds);
  });
  it.each(['', '7', 'd7', '7w', '-1d', '0s', 'P', 'soon', '1d garbage'])('%j is refused naming the flag', (text) => {
    expect(() => parseDuration(text, '--expiring-soon')).toThrow(/--expiring-soon: .* is not a positive duration/);
  });
  it('formats back', () => {
    expect(formatDuration(parseDuration('1d12h30m5s', 'x'))).toBe('1d12h30m5s');
    expect(formatDuration(parseDuration('P90D', 'x'))).toBe('90d');
  });
});
