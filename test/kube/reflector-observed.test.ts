// A write's response handed to the cache (applyObserved) ahead of the watch's echo: it must never
// undo what the watch already delivered. The response travels on its own connection, so it can
// arrive after the watch's DELETED event of the same object; applied then, a deleted exception
// came back and kept its grant (found by test/controller/grants-isolation.it.test.ts once the
// client spoke HTTP/1.1). On the in-memory fake API.
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { Reflector, type RawObject } from '../../src/kube/reflector.ts';
import { EXCEPTIONS_PATH } from '../../src/controller/writes.ts';
import { silentLogger } from '../../src/logging.ts';
import { EXCEPTIONS, exceptionObj } from '../fake/cluster.ts';
import { FakeKubeApi } from '../fake/kube-api.ts';
import { until } from '../fake/until.ts';

type Cached = { name: string; rv: string };
const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });

function reflectorOn(api: FakeKubeApi, changes: string[]): Reflector<Cached> {
  return new Reflector<Cached>({
    client: api,
    path: EXCEPTIONS_PATH,
    resource: 'hostnamespaceexceptions',
    logger: silentLogger(),
    transform: (raw: RawObject) => ({ name: raw.metadata!.name!, rv: raw.metadata!.resourceVersion! }),
    versionOf: (c) => c.rv,
    onChange: (key, obj, _prev, origin) => changes.push(`${origin} ${key} ${obj ? obj.rv : 'gone'}`),
  });
}

const withRv = (obj: RawObject, rv: number | string): RawObject => ({
  ...obj,
  metadata: { ...obj.metadata, resourceVersion: String(rv) },
});

describe('applyObserved: a write response applied ahead of the watch', () => {
  it('a response older than a DELETED event already delivered does not bring the object back', async () => {
    const api = new FakeKubeApi();
    const changes: string[] = [];
    const reflector = reflectorOn(api, changes);
    reflector.start();
    try {
      const written = api.put(EXCEPTIONS, exceptionObj('team', 'agent', T0.plus({ days: 30 }))) as RawObject;
      await until('the exception cached', () => reflector.store.has('team/agent'));
      // Its status was written (the response is in flight), then it was deleted, and the watch's
      // DELETED event is processed before the status write's response.
      const response = written;
      api.remove(EXCEPTIONS, 'team', 'agent');
      await until('the deletion delivered', () => !reflector.store.has('team/agent'));
      changes.length = 0;
      reflector.applyObserved(response);
      expect(reflector.store.has('team/agent')).toBe(false);
      expect(changes).toEqual([]);
    } finally {
      await reflector.stop();
    }
  });

  it('several variants: at, and just before, the last delivered revision are ignored; a later one is applied', async () => {
    const api = new FakeKubeApi();
    const changes: string[] = [];
    const reflector = reflectorOn(api, changes);
    reflector.start();
    try {
      const a = api.put(EXCEPTIONS, exceptionObj('team', 'a', T0.plus({ days: 30 }))) as RawObject;
      const b = api.put(EXCEPTIONS, exceptionObj('team', 'b', T0.plus({ days: 30 }))) as RawObject;
      await until('both cached', () => reflector.store.has('team/a') && reflector.store.has('team/b'));
      api.remove(EXCEPTIONS, 'team', 'a');
      await until('a deleted', () => !reflector.store.has('team/a'));
      const delivered = Number(b.metadata!.resourceVersion) + 1; // a's deletion
      changes.length = 0;
      // A response of a's write at the deletion's revision itself, and one before it: ignored.
      reflector.applyObserved(withRv(a, delivered));
      reflector.applyObserved(withRv(a, delivered - 1));
      // b's own write answered at a revision the watch already passed: the cache keeps the watch's.
      reflector.applyObserved(withRv(b, delivered));
      expect(changes).toEqual([]);
      expect(reflector.store.has('team/a')).toBe(false);
      // Read-your-writes ahead of the watch still works: a response newer than anything delivered
      // (our create, before its watch event) is applied at once.
      const created = withRv(exceptionObj('team', 'new', T0.plus({ days: 30 })) as RawObject, delivered + 5);
      reflector.applyObserved(created);
      expect(reflector.store.get('team/new')?.rv).toBe(String(delivered + 5));
      expect(changes).toEqual([`observed team/new ${delivered + 5}`]);
      // A non-numeric resourceVersion is not compared: applied as before.
      reflector.applyObserved(withRv(b, 'opaque'));
      expect(reflector.store.get('team/b')?.rv).toBe('opaque');
    } finally {
      await reflector.stop();
    }
  });
});
