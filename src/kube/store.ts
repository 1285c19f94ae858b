// The in-memory store a Reflector fills. Readers (reconcilers, metrics, the HTTP server) get the
// read-only `Store`; only the Reflector holds the `StoreWriter` (kube-rs: reflector::Store vs
// Writer). Keys are `namespace/name` (or `name` for cluster-scoped objects); the namespace index
// is kept with every write, so "every object of namespace N" is never a scan.

export interface Store<T> {
  readonly size: number;
  get(key: string): T | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<T>;
  /** Keys of the objects in `namespace` ('' for cluster-scoped objects). */
  keysIn(namespace: string): ReadonlySet<string>;
  /** Namespaces holding at least one object. */
  namespaces(): IterableIterator<string>;
  /** Grows with every change in `namespace`: a memo of a namespace is valid while it is unchanged. */
  versionOf(namespace: string): number;
}

/** `ns/name` -> `ns`; a key without a slash is cluster-scoped (''). */
export function namespaceOfKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

const NONE: ReadonlySet<string> = new Set();

export class StoreWriter<T> implements Store<T> {
  private readonly items = new Map<string, T>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly versions = new Map<string, number>();

  get size(): number {
    return this.items.size;
  }
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  has(key: string): boolean {
    return this.items.has(key);
  }
  keys(): IterableIterator<string> {
    return this.items.keys();
  }
  values(): IterableIterator<T> {
    return this.items.values();
  }
  keysIn(namespace: string): ReadonlySet<string> {
    return this.byNamespace.get(namespace) ?? NONE;
  }
  namespaces(): IterableIterator<string> {
    return this.byNamespace.keys();
  }
  versionOf(namespace: string): number {
    return this.versions.get(namespace) ?? 0;
  }

  /** A copy of the current contents (the Reflector diffs a relist against it). */
  snapshot(): Map<string, T> {
    return new Map(this.items);
  }

  set(key: string, obj: T): void {
    const ns = namespaceOfKey(key);
    this.items.set(key, obj);
    let keys = this.byNamespace.get(ns);
    if (!keys) this.byNamespace.set(ns, (keys = new Set()));
    keys.add(key);
    this.bump(ns);
  }

  delete(key: string): boolean {
    if (!this.items.delete(key)) return false;
    const ns = namespaceOfKey(key);
    const keys = this.byNamespace.get(ns);
    if (keys?.delete(key) && keys.size === 0) this.byNamespace.delete(ns);
    this.bump(ns);
    return true;
  }

  /** Replaces the whole contents (after a relist). */
  replace(fresh: ReadonlyMap<string, T>): void {
    for (const key of [...this.items.keys()]) if (!fresh.has(key)) this.delete(key);
    for (const [key, obj] of fresh) this.set(key, obj);
  }

  private bump(ns: string): void {
    this.versions.set(ns, (this.versions.get(ns) ?? 0) + 1);
  }
}
