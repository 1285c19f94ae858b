// Pure text rendering shared by the reports: aligned tables, Markdown tables, dates people read.
import type { DateTime } from 'luxon';

export type Align = 'left' | 'right';

export interface Column<Row> {
  header: string;
  cell: (row: Row) => string;
  align?: Align;
}

/** ANSI colour for a whole cell, applied after padding so alignment never counts escape codes. */
export type Paint = 'red' | 'yellow' | 'green' | 'dim' | undefined;

const ANSI: Record<Exclude<Paint, undefined>, string> = { red: '31', yellow: '33', green: '32', dim: '2' };

export interface TableOptions<Row> {
  /** Colour per cell; only called when colour is wanted (a TTY without NO_COLOR). */
  paint?: (row: Row, header: string) => Paint;
  colour?: boolean;
}

/** Cells never contain newlines or tabs: they would break the alignment. */
function flat(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}

/** kubectl-style: upper-case headers, columns separated by three spaces, no trailing blanks. */
export function renderTable<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  options: TableOptions<Row> = {},
): string {
  const cells = rows.map((r) => columns.map((c) => flat(c.cell(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[], paints?: Paint[]) =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        const padded = columns[i]!.align === 'right' ? v.padStart(widths[i]!) : last ? v : v.padEnd(widths[i]!);
        const p = paints?.[i];
        if (!p || v === '') return padded;
        // colour only the text, not the padding after it
        const start = padded.indexOf(v);
        return `${padded.slice(0, start)}\u001b[${ANSI[p]}m${v}\u001b[0m${padded.slice(start + v.length)}`;
      })
      .join('   ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header))];
  rows.forEach((r, i) => {
    const paints = options.colour && options.paint ? columns.map((c) => options.paint!(r, c.header)) : undefined;
    out.push(line(cells[i]!, paints));
  });
  return out.join('\n') + '\n';
}

/** GitHub-flavoured Markdown table (pipes escaped, so it pastes into a ticket intact). */
export function renderMarkdownTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const esc = (s: string) => flat(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
  const out = [
    `| ${columns.map((c) => esc(c.header)).join(' | ')} |`,
    `| ${columns.map((c) => (c.align === 'right' ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const r of rows) out.push(`| ${columns.map((c) => esc(c.cell(r)) || ' ').join(' | ')} |`);
  return out.join('\n') + '\n';
}

/** `2026-12-01 14:00 UTC`: unambiguous, sortable, readable. */
export function formatDate(t: DateTime | undefined): string {
  return t ? t.toUTC().toFormat("yyyy-MM-dd HH:mm 'UTC'") : '';
}

/** Whole days from `now` to `t`, rounded towards the past (an exception with 6.5 days left has 6). */
export function daysUntil(t: DateTime, now: DateTime): number {
  return Math.floor(t.diff(now, 'days').days);
}

/** True when stdout should carry ANSI colour: a terminal, and NO_COLOR unset (https://no-color.org). */
export function wantsColour(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}
