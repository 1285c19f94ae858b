// The bench's own eyes on the cluster: LIST then WATCH from the list's resourceVersion, so that
// nothing between the two is missed, with the local arrival time of every event.
import type { Api, HttpError } from './minimal-client.ts';
import { type WatchEvent, type WatchHandle } from './minimal-client.ts';

export interface Watched<_T> {
  handle: WatchHandle;
  stop(): void;
}

/**
 * Lists `path` (with `query`, e.g. labelSelector=...), hands every listed item to `onEvent` as
 * ADDED (arrival = list time), then watches from the list's resourceVersion. A watch the server
 * closes is reopened from the last resourceVersion seen.
 */
export async function listAndWatch<T extends { metadata?: { resourceVersion?: string } }>(
  api: Api,
  path: string,
  query: string,
  onEvent: (ev: WatchEvent<T>, arrivedAt: number) => void,
): Promise<Watched<T>> {
  const q = query ? `?${query}` : '';
  let rv = await api.listPaged<T>(`${path}${q}`, (items) => {
    const now = Date.now();
    for (const item of items) onEvent({ type: 'ADDED', object: item }, now);
  });
  let stopped = false;
  let handle!: WatchHandle;
  const open = async () => {
    handle = api.watch<T>(`${path}${q}`, rv, (ev, at) => {
      if (ev.type === 'ERROR') return;
      const v = (ev.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
      if (v) rv = v;
      if (ev.type !== 'BOOKMARK') onEvent(ev, at);
    });
    await handle.started;
    void handle.done.then(() => {
      if (!stopped)
        void open().catch((err) => process.stderr.write(`bench watch ${path}: ${(err as HttpError).message}\n`));
    });
  };
  await open();
  return {
    get handle() {
      return handle;
    },
    stop() {
      stopped = true;
      handle.stop();
    },
  };
}

export interface PodObj {
  metadata: {
    namespace: string;
    name: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
  };
  spec?: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean };
}

export interface ExceptionObj {
  metadata: { namespace: string; name: string; generation?: number; resourceVersion?: string };
  status?: { phase?: string; observedGeneration?: number; coveredPods?: number };
}

/** Resolves `done` the first time `check()` is true, with the time that happened. */
export class Milestone {
  at?: number;
  private resolveFn!: (t: number) => void;
  readonly done: Promise<number>;
  private readonly check: () => boolean;

  constructor(check: () => boolean) {
    this.check = check;
    this.done = new Promise((r) => (this.resolveFn = r));
  }

  poke(now: number): void {
    if (this.at === undefined && this.check()) {
      this.at = now;
      this.resolveFn(now);
    }
  }
}

/** `p`, or undefined after `ms`; the timer is cleared either way (it must not keep the process alive). */
export async function timeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
