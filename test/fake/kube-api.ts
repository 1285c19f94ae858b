// An in-memory fake of the API the operator uses (src/kube/client.ts KubeApi): LIST (paged),
// GET, watch from a resourceVersion (410 Expired once history is compacted), field selectors on
// Events and metadata-only reads (PartialObjectMetadata) for LIST and watch, POST (409
// AlreadyExists), PUT (409 Conflict on a stale resourceVersion; the status subresource),
// JSON merge PATCH (metadata.uid as precondition), DELETE, 404s, and API discovery for the CRD
// check. Faults can be injected per request. It keeps one resourceVersion counter, like etcd.
import { ApiError, type KubeApi, type RequestOptions, type WatchEventHandler } from '../../src/kube/client.ts';

type Obj = {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

interface Route {
  /** `pods`, `hostnamespaceexceptions`, ... */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

interface WatchEvent {
  rv: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  resource: string;
  namespace?: string;
  /** One event to this watch, when its field selector selects the object (as metadata when asked). */
  deliver: (type: WatchEvent['type'], object: Obj) => void;
  close: () => void;
  /** Ends the watch with a network error. */
  fail: (err: Error) => void;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
}

/** Resources with a status subresource: a PUT of the object ignores status, /status writes only status. */
const WITH_STATUS = new Set(['hostnamespaceexceptions']);

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The fields the API server selects Events on (pkg/registry/core/event ToSelectableFields), either shape. */
function eventFields(o: Obj): Record<string, string> {
  const e = o as Obj & {
    involvedObject?: Record<string, string>;
    regarding?: Record<string, string>;
    reason?: string;
    type?: string;
    reportingComponent?: string;
    reportingController?: string;
    source?: { component?: string };
    deprecatedSource?: { component?: string };
  };
  // events.k8s.io/v1 Events are stored as core ones: regarding is involvedObject.
  const about = e.involvedObject ?? e.regarding ?? {};
  const reporting = e.reportingComponent ?? e.reportingController ?? '';
  const fields: Record<string, string> = {
    reason: e.reason ?? '',
    type: e.type ?? '',
    reportingComponent: reporting,
    source: (e.source ?? e.deprecatedSource)?.component || reporting,
  };
  for (const f of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'])
    fields[`involvedObject.${f}`] = about[f] ?? '';
  return fields;
}

/**
 * A field selector (`a=b`, `a==b`, `a!=b`, comma-separated and ANDed) as a predicate; metadata.name
 * and metadata.namespace everywhere, Events' own fields on `events`; any other field is refused, as
 * the API server does (400).
 */
function fieldSelector(resource: string, selector: string | undefined): ((o: Obj) => boolean) | undefined {
  if (!selector) return undefined;
  const requirements = selector.split(',').map((term) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term);
    if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector: ${term}`, undefined);
    return { field: m[1]!, equal: m[2] !== '!=', value: m[3]! };
  });
  const fieldsOf = (o: Obj): Record<string, string> => ({
    ...(resource === 'events' ? eventFields(o) : {}),
    'metadata.name': o.metadata.name,
    'metadata.namespace': o.metadata.namespace ?? '',
  });
  const known = fieldsOf({ metadata: { name: '' } });
  for (const r of requirements)
    if (!(r.field in known)) throw new ApiError(400, 'BadRequest', `field label not supported: ${r.field}`, undefined);
  return (o) => {
    const fields = fieldsOf(o);
    return requirements.every((r) => (fields[r.field] === r.value) === r.equal);
  };
}

/** What a metadata-only read (PartialObjectMetadata) returns of an object. */
function asRequested(o: Obj, accept: string | undefined): Obj {
  return accept?.includes('as=PartialObjectMetadata')
    ? { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: o.metadata }
    : o;
}

function parse(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    return { namespace: rest[1], resource: rest[2]!, name: rest[3], subresource: rest[4] };
  }
  return { resource: rest[0]!, name: rest[1], subresource: rest[2] };
}

export class FakeKubeApi implements KubeApi {
  readonly server = 'https://fake.invalid';
  /** Every request, in order, with the status it answered. */
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly history: WatchEvent[] = [];
  /** Watches from a resourceVersion before this one answer 410 Expired. */
  private compactedBefore = 0;
  private rv = 100;
  private uids = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly faults: { match: (method: string, path: string) => boolean; status: number; times: number }[] = [];
  /**
   * Watch events of a write arrive on a later turn of the event loop than its response, as they
   * mostly do from a real API server (default: the event first).
   */
  watchLagsResponses = false;
  /** Discovery answers with these plurals for the hostns.io group. */
  crdPlurals = ['hostnamespaceexceptions', 'hostnamespacegrantsets', 'hostnamespacegrantindexes'];

  /** The next `times` requests matching `method` and a path containing `pathPart` fail with `status`. */
  failNext(method: string, pathPart: string, status: number, times = 1): void {
    this.faults.push({ match: (m, p) => m === method && p.includes(pathPart), status, times });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Writes (POST, PUT, PATCH, DELETE) sent so far, optionally only those whose path contains `pathPart`. */
  writes(pathPart = ''): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && r.method !== 'WATCH' && r.path.includes(pathPart));
  }

  /** Forgets the watch history: watches resuming from an older resourceVersion get 410. */
  compact(): void {
    this.compactedBefore = this.rv;
  }

  /** Ends every open watch, as a server-side timeout does. */
  closeWatches(): void {
    for (const w of [...this.watchers]) w.close();
  }

  /**
   * An outage (true): every open watch breaks with a network error and every request or watch
   * fails like one, until set back to false.
   */
  set offline(down: boolean) {
    this.down = down;
    if (down) for (const w of [...this.watchers]) w.fail(new TypeError('fetch failed'));
  }
  private down = false;

  get openWatches(): number {
    return this.watchers.size;
  }

  // ---- direct access for tests (as another client would do it) -------------------------

  /** Creates or replaces an object as a user would (kubectl apply), notifying watchers. */
  put(resource: string, obj: Obj): Obj {
    const existing = this.collection(resource).get(this.storeKey(obj.metadata.namespace, obj.metadata.name));
    if (!existing) return this.create(resource, clone(obj));
    const next = clone(obj);
    next.metadata = { ...existing.metadata, ...next.metadata, resourceVersion: existing.metadata.resourceVersion };
    if (WITH_STATUS.has(resource)) next.status = existing.status;
    return this.update(resource, existing, next, true);
  }

  get(resource: string, namespace: string | undefined, name: string): Obj | undefined {
    const o = this.collection(resource).get(this.storeKey(namespace, name));
    return o && clone(o);
  }

  list(resource: string, namespace?: string): Obj[] {
    return [...this.collection(resource).values()]
      .filter((o) => !namespace || o.metadata.namespace === namespace)
      .map(clone);
  }

  remove(resource: string, namespace: string | undefined, name: string): void {
    const key = this.storeKey(namespace, name);
    const existing = this.collection(resource).get(key);
    if (!existing) return;
    this.collection(resource).delete(key);
    this.emit(resource, 'DELETED', {
      ...existing,
      metadata: { ...existing.metadata, resourceVersion: String(++this.rv) },
    });
  }

  // ---- KubeApi -------------------------------------------------------------------------------

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    // Answer on a later turn of the event loop, like a network (not within the caller's microtasks).
    await new Promise((r) => setImmediate(r));
    let status = 200;
    try {
      if (this.down) throw new TypeError('fetch failed');
      // As fetch does: an aborted signal (a leader's term that ended) stops the request unsent.
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException('aborted', 'AbortError');
      const fault = this.faults.find((f) => f.times > 0 && f.match(method, path));
      if (fault) {
        fault.times--;
        throw this.error(fault.status, fault.status === 409 ? 'Conflict' : 'InternalError', `injected ${fault.status}`);
      }
      const out = this.handle(method, path, opts);
      if (method === 'POST') status = 201;
      return clone(out) as T;
    } catch (err) {
      status = err instanceof ApiError ? err.status : 0;
      throw err;
    } finally {
      this.requests.push({ method, path, status });
    }
  }

  watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: WatchEventHandler,
    signal: AbortSignal,
    _idleMs?: number,
    onOpen?: () => void,
    accept?: string,
  ): Promise<void> {
    const route = parse(path);
    const from = Number(query?.resourceVersion ?? 0);
    this.requests.push({ method: 'WATCH', path, status: this.down ? 0 : 200 });
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      if (this.down) return reject(new TypeError('fetch failed'));
      let selected: ((o: Obj) => boolean) | undefined;
      try {
        selected = fieldSelector(route.resource, query?.fieldSelector as string | undefined);
      } catch (err) {
        return reject(err as Error);
      }
      const deliver = (type: WatchEvent['type'], object: Obj) => {
        if (!selected || selected(object)) onEvent({ type, object: asRequested(clone(object), accept) });
      };
      if (from < this.compactedBefore) {
        queueMicrotask(() => {
          onEvent({
            type: 'ERROR',
            object: { kind: 'Status', code: 410, reason: 'Expired', message: `too old resource version: ${from}` },
          });
          resolve();
        });
        return;
      }
      const watcher: Watcher = {
        resource: route.resource,
        namespace: route.namespace,
        deliver,
        close: () => {
          this.watchers.delete(watcher);
          resolve();
        },
        fail: (err) => {
          this.watchers.delete(watcher);
          reject(err);
        },
      };
      signal.addEventListener('abort', () => watcher.close(), { once: true });
      // Replay what happened after `from`, then stream live events.
      const backlog = this.history.filter((e) => e.rv > from && e.resource === route.resource);
      this.watchers.add(watcher);
      onOpen?.();
      queueMicrotask(() => {
        for (const e of backlog) if (this.watchers.has(watcher)) deliver(e.type, e.object);
      });
    });
  }

  // ---- internals -------------------------------------------------------------------------

  private handle(method: string, path: string, opts: RequestOptions): unknown {
    if (path === '/apis/hostns.io/v1alpha1') return { resources: this.crdPlurals.map((name) => ({ name })) };
    const route = parse(path);
    const coll = this.collection(route.resource);
    const body = opts.body as Obj | undefined;
    switch (method) {
      case 'GET': {
        if (route.name) return this.mustGet(route);
        const selected = fieldSelector(route.resource, opts.query?.fieldSelector as string | undefined);
        const all = [...coll.values()].filter(
          (o) => (!route.namespace || o.metadata.namespace === route.namespace) && (!selected || selected(o)),
        );
        all.sort((a, b) =>
          this.storeKey(a.metadata.namespace, a.metadata.name).localeCompare(
            this.storeKey(b.metadata.namespace, b.metadata.name),
          ),
        );
        const start = Number(opts.query?.continue ?? 0);
        const limit = Number(opts.query?.limit ?? all.length) || all.length;
        const page = all.slice(start, start + limit);
        const next = start + limit < all.length ? String(start + limit) : undefined;
        return {
          metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
          items: page.map((o) => asRequested(o, opts.accept)),
        };
      }
      case 'POST': {
        if (!body?.metadata?.name) throw this.error(422, 'Invalid', 'metadata.name: Required value');
        const obj = clone(body);
        if (route.namespace) obj.metadata.namespace = route.namespace;
        if (coll.has(this.storeKey(obj.metadata.namespace, obj.metadata.name))) {
          throw this.error(409, 'AlreadyExists', `${route.resource} "${obj.metadata.name}" already exists`);
        }
        return this.create(route.resource, obj);
      }
      case 'PUT': {
        const existing = this.mustGet(route);
        if (body?.metadata?.resourceVersion !== existing.metadata.resourceVersion) {
          throw this.error(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${route.resource} "${route.name}": the object has been modified`,
          );
        }
        const next = clone(body!);
        if (WITH_STATUS.has(route.resource)) {
          // The status subresource writes only status; the main resource everything but status.
          if (route.subresource === 'status')
            return this.update(route.resource, existing, { ...clone(existing), status: next.status }, false);
          next.status = existing.status;
        }
        next.metadata = { ...next.metadata, uid: existing.metadata.uid, namespace: existing.metadata.namespace };
        return this.update(route.resource, existing, next, true);
      }
      case 'PATCH': {
        const existing = this.mustGet(route);
        const patchUid = (body as { metadata?: { uid?: string } } | undefined)?.metadata?.uid;
        if (patchUid !== undefined && patchUid !== existing.metadata.uid) {
          throw this.error(
            409,
            'Conflict',
            `Precondition failed: UID in precondition: ${patchUid}, UID in object meta: ${existing.metadata.uid}`,
          );
        }
        const next = mergePatch(existing, body) as Obj;
        return this.update(route.resource, existing, next, false);
      }
      case 'DELETE': {
        const existing = this.mustGet(route);
        this.remove(route.resource, existing.metadata.namespace, existing.metadata.name);
        return { kind: 'Status', status: 'Success' };
      }
      default:
        throw this.error(405, 'MethodNotAllowed', `${method} not supported`);
    }
  }

  private create(resource: string, obj: Obj): Obj {
    obj.metadata.uid = `uid-${++this.uids}`;
    obj.metadata.resourceVersion = String(++this.rv);
    obj.metadata.generation = 1;
    obj.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    this.collection(resource).set(this.storeKey(obj.metadata.namespace, obj.metadata.name), obj);
    this.emit(resource, 'ADDED', obj);
    return obj;
  }

  private update(resource: string, existing: Obj, next: Obj, specMayChange: boolean): Obj {
    const specChanged = specMayChange && JSON.stringify(next.spec) !== JSON.stringify(existing.spec);
    next.metadata.resourceVersion = String(++this.rv);
    next.metadata.generation = (existing.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    this.collection(resource).set(this.storeKey(next.metadata.namespace, next.metadata.name), next);
    this.emit(resource, 'MODIFIED', next);
    return next;
  }

  private emit(resource: string, type: WatchEvent['type'], obj: Obj): void {
    const event: WatchEvent = { rv: Number(obj.metadata.resourceVersion), resource, type, object: clone(obj) };
    this.history.push(event);
    for (const w of this.watchers) {
      if (w.resource !== resource || (w.namespace && w.namespace !== obj.metadata.namespace)) continue;
      const deliver = () => {
        if (this.watchers.has(w)) w.deliver(type, event.object);
      };
      if (this.watchLagsResponses) setImmediate(deliver);
      else queueMicrotask(deliver);
    }
  }

  private mustGet(route: Route): Obj {
    const o = this.collection(route.resource).get(this.storeKey(route.namespace, route.name!));
    if (!o) throw this.error(404, 'NotFound', `${route.resource} "${route.name}" not found`);
    return o;
  }

  private collection(resource: string): Map<string, Obj> {
    let c = this.objects.get(resource);
    if (!c) this.objects.set(resource, (c = new Map()));
    return c;
  }

  private storeKey(namespace: string | undefined, name: string): string {
    return namespace ? `${namespace}/${name}` : name;
  }

  private error(status: number, reason: string, message: string): ApiError {
    return new ApiError(status, reason, message, { kind: 'Status', code: status, reason, message });
  }
}
