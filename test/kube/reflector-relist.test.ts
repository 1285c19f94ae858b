// A relist after a 410 keeps what did not change: an object whose resourceVersion is the cached one's
// stays the cached object (not transformed again, no change replayed), so a relist holds one copy of
// the unchanged objects, not two. On the in-memory fake API (the same relist on a real API server:
// test/kube/watch-compacted.it.test.ts).
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { Reflector, type RawObject } from '../../src/kube/reflector.ts';
import { EXCEPTIONS_PATH } from '../../src/controller/writes.ts';
import { silentLogger } from '../../src/logging.ts';
import { EXCEPTIONS, exceptionObj } from '../fake/cluster.ts';
import { FakeKubeApi } from '../fake/kube-api.ts';
import { until } from '../fake/until.ts';

type Cached = { name: string; rv: string; expiresAt: string };
const T0 = DateTime.fromISO('2026-11-01T00:00:00Z', { zone: 'utc' });

describe('a relist after a 410', () => {
  it('keeps each unchanged object as it was cached, and transforms and replays only what changed', async () => {
    const api = new FakeKubeApi();
    for (const name of ['same-a', 'same-b', 'changed', 'deleted'])
      api.put(EXCEPTIONS, exceptionObj('team', name, T0.plus({ days: 30 })));
    const transformed: string[] = [];
    const changes: { key: string; obj?: Cached }[] = [];
    const restarts: string[] = [];
    const reflector = new Reflector<Cached>({
      client: api,
      path: EXCEPTIONS_PATH,
      resource: 'hostnamespaceexceptions',
      logger: silentLogger(),
      transform: (raw: RawObject) => {
        transformed.push(raw.metadata!.name!);
        const spec = raw.spec as { expiresAt: string };
        return { name: raw.metadata!.name!, rv: raw.metadata!.resourceVersion!, expiresAt: spec.expiresAt };
      },
      versionOf: (c) => c.rv,
      onChange: (key, obj) => changes.push({ key, obj }),
      onWatchRestart: (reason) => restarts.push(reason),
    });
    reflector.start();
    try {
      await reflector.synced();
      const before = new Map([...reflector.store.keys()].map((k) => [k, reflector.store.get(k)]));
      expect(before.size).toBe(4);
      transformed.length = 0;
      changes.length = 0;

      // Blind for a moment: one exception renewed, one deleted, one added, the history compacted.
      api.offline = true;
      api.put(EXCEPTIONS, exceptionObj('team', 'changed', T0.plus({ days: 60 })));
      api.remove(EXCEPTIONS, 'team', 'deleted');
      api.put(EXCEPTIONS, exceptionObj('team', 'added', T0.plus({ days: 30 })));
      api.compact();
      api.offline = false;
      await until('the 410 and the relist', () => restarts.includes('expired') && reflector.isCurrent);

      // The unchanged ones are the very objects cached before, never transformed again ...
      expect(reflector.store.get('team/same-a')).toBe(before.get('team/same-a'));
      expect(reflector.store.get('team/same-b')).toBe(before.get('team/same-b'));
      expect(transformed.sort()).toEqual(['added', 'changed']);
      // ... and only the difference is replayed to the handlers.
      expect(changes.map((c) => `${c.key}:${c.obj ? c.obj.expiresAt.slice(0, 10) : 'gone'}`).sort()).toEqual([
        'team/added:2026-12-01',
        'team/changed:2026-12-31',
        'team/deleted:gone',
      ]);
      expect(reflector.store.size).toBe(4);
    } finally {
      await reflector.stop();
    }
  });
});
