import { describe, expect, it } from 'vitest';
import { namespaceOfKey, StoreWriter, type Store } from '../../src/kube/store.ts';

describe('StoreWriter / Store', () => {
  it('keeps the namespace index and a per-namespace version with every write', () => {
    const w = new StoreWriter<number>();
    const reader: Store<number> = w;
    w.set('a/x', 1);
    w.set('a/y', 2);
    w.set('b/z', 3);
    w.set('cluster', 4);
    expect([...reader.keysIn('a')]).toEqual(['a/x', 'a/y']);
    expect([...reader.keysIn('')]).toEqual(['cluster']);
    expect([...reader.namespaces()].sort()).toEqual(['', 'a', 'b']);
    const va = reader.versionOf('a');
    const vb = reader.versionOf('b');
    w.set('a/x', 5);
    expect(reader.versionOf('a')).toBeGreaterThan(va);
    expect(reader.versionOf('b')).toBe(vb);
    w.delete('a/x');
    w.delete('a/y');
    expect(reader.keysIn('a').size).toBe(0);
    expect([...reader.namespaces()].sort()).toEqual(['', 'b']);
    expect(w.delete('a/x')).toBe(false);
  });

  it('replace() diffs a relist in: removed keys leave the index', () => {
    const w = new StoreWriter<string>();
    w.set('a/x', 'old');
    w.set('a/gone', 'old');
    w.replace(
      new Map([
        ['a/x', 'new'],
        ['c/n', 'new'],
      ]),
    );
    expect([...w.keys()].sort()).toEqual(['a/x', 'c/n']);
    expect([...w.keysIn('a')]).toEqual(['a/x']);
    expect(w.get('a/x')).toBe('new');
  });

  it('namespaceOfKey', () => {
    expect(namespaceOfKey('ns/name')).toBe('ns');
    expect(namespaceOfKey('cluster-scoped')).toBe('');
  });
});
