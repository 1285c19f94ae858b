// The one paging helper: a LIST followed through its `continue` tokens, page by page, so a big
// cluster is never asked for everything in one response (the operator's caches and the CLI).
import type { KubeApi, RequestOptions } from './client.ts';

export interface ListPage<T> {
  metadata?: { continue?: string; resourceVersion?: string };
  items?: T[];
}

export interface ListOptions {
  pageSize: number;
  signal?: AbortSignal;
  /** Deadline of each page's request. */
  timeoutMs?: number;
  query?: RequestOptions['query'];
  accept?: RequestOptions['accept'];
}

/** Yields each page of `path` until the list is complete. */
export async function* listPages<T>(client: KubeApi, path: string, opts: ListOptions): AsyncGenerator<ListPage<T>> {
  let cont: string | undefined;
  do {
    const page = await client.request<ListPage<T>>('GET', path, {
      query: { ...opts.query, limit: opts.pageSize, continue: cont },
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
      ...(opts.accept ? { accept: opts.accept } : {}),
    });
    yield page;
    cont = page.metadata?.continue || undefined;
  } while (cont);
}

/** Every item of `path`, read in pages. */
export async function listAll<T>(client: KubeApi, path: string, opts: ListOptions): Promise<T[]> {
  const all: T[] = [];
  for await (const page of listPages<T>(client, path, opts)) all.push(...(page.items ?? []));
  return all;
}
