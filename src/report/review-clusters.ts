// The review across clusters: every cluster's rows under a CLUSTER column, one fleet-wide order of
// urgency, and a cluster that could not be read shown as a row with its error, never dropped.
import type { DateTime } from 'luxon';
import { rfc3339 } from '../policy/grants.ts';
import { formatDate, renderMarkdownTable, renderTable, type Column, type Paint } from './format.ts';
import {
  compareUrgency,
  paintReview,
  REVIEW_COLUMNS,
  REVIEW_MARKDOWN_COLUMNS,
  reviewSummary,
  type ReviewRow,
} from './review.ts';

/** One cluster's review (`rows`), or why it has none (`error`, one line). */
export interface ClusterReview {
  /** The kubeconfig context, as the user names the cluster. */
  cluster: string;
  server: string;
  rows?: readonly ReviewRow[];
  error?: string;
}

/** A table line: an exception of a cluster, or a cluster not reviewed. */
type Line = { cluster: string; row: ReviewRow } | { cluster: string; error: string };

/** Clusters not reviewed first (the review is incomplete), then every exception by urgency. */
function lines(reviews: readonly ClusterReview[]): Line[] {
  const failed: Line[] = reviews
    .filter((r) => r.error !== undefined)
    .map((r) => ({ cluster: r.cluster, error: r.error! }));
  const rows = reviews.flatMap((r) => (r.rows ?? []).map((row) => ({ cluster: r.cluster, row })));
  rows.sort((a, b) => compareUrgency(a.row, b.row) || a.cluster.localeCompare(b.cluster));
  return [...failed, ...rows];
}

const notReviewed = (error: string) => `cluster not reviewed: ${error}`;

/** CLUSTER, then the single-cluster columns; a cluster not reviewed has its error under FINDINGS. */
function withCluster(columns: readonly Column<ReviewRow>[]): Column<Line>[] {
  return [
    { header: 'CLUSTER', cell: (l) => l.cluster },
    ...columns.map((c) => ({
      ...c,
      cell: (l: Line) => ('row' in l ? c.cell(l.row) : c.header === 'FINDINGS' ? notReviewed(l.error) : ''),
    })),
  ];
}

function paintLine(l: Line, header: string): Paint {
  if ('row' in l) return paintReview(l.row, header);
  return header === 'FINDINGS' || header === 'CLUSTER' ? 'red' : undefined;
}

/** The single-cluster summary over all rows, then which clusters were (not) reviewed. */
export function clustersSummary(reviews: readonly ClusterReview[]): string {
  const rows = reviews.flatMap((r) => r.rows ?? []);
  const reviewed = reviews.filter((r) => r.error === undefined).map((r) => r.cluster);
  const failed = reviews.filter((r) => r.error !== undefined).map((r) => r.cluster);
  const clusters = (n: number) => `cluster${n === 1 ? '' : 's'}`;
  const count = failed.length
    ? `${reviewed.length} of ${reviews.length} ${clusters(reviews.length)}`
    : `${reviewed.length} ${clusters(reviewed.length)}`;
  const which = reviewed.length ? ` (${reviewed.join(', ')})` : '';
  const missing = failed.length ? `; NOT reviewed: ${failed.join(', ')}` : '';
  return `${reviewSummary(rows)}; ${count} reviewed${which}${missing}`;
}

function nothingFound(reviews: readonly ClusterReview[]): boolean {
  return reviews.every((r) => r.error === undefined && (r.rows ?? []).length === 0);
}

const noneIn = (reviews: readonly ClusterReview[]) =>
  `No HostNamespaceException found in ${reviews.length === 1 ? 'cluster' : 'clusters'} ${names(reviews)}.\n`;
const names = (reviews: readonly ClusterReview[]) => reviews.map((r) => r.cluster).join(', ');

export function renderClustersTable(reviews: readonly ClusterReview[], colour = false): string {
  if (nothingFound(reviews)) return noneIn(reviews);
  const table = renderTable(withCluster(REVIEW_COLUMNS), lines(reviews), { colour, paint: paintLine });
  return `${table}\n${clustersSummary(reviews)}\n`;
}

export function renderClustersMarkdown(reviews: readonly ClusterReview[], now: DateTime): string {
  const head = `### Host namespace exceptions: review of ${formatDate(now)}, clusters ${names(reviews)}\n\n`;
  if (nothingFound(reviews)) return head + noneIn(reviews);
  const table = renderMarkdownTable(withCluster(REVIEW_MARKDOWN_COLUMNS), lines(reviews));
  return `${head}${table}\n${clustersSummary(reviews)}\n`;
}

/**
 * `clusters`: one entry per cluster asked, `reviewed` or with its `error`; `exceptions`: the
 * single-cluster rows, each with its `cluster` first, in the table's order.
 */
export function renderClustersJson(reviews: readonly ClusterReview[], now: DateTime): string {
  const clusters = reviews.map((r) =>
    r.error === undefined
      ? { cluster: r.cluster, server: r.server, reviewed: true, exceptions: (r.rows ?? []).length }
      : { cluster: r.cluster, server: r.server, reviewed: false, error: r.error },
  );
  const exceptions = lines(reviews).flatMap((l) => ('row' in l ? [{ cluster: l.cluster, ...l.row }] : []));
  return (
    JSON.stringify({ generatedAt: rfc3339(now), summary: clustersSummary(reviews), clusters, exceptions }, null, 2) +
    '\n'
  );
}
