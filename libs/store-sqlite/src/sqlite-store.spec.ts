import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import type { Json } from '#crdt';
import type { SnapshotKey, SnapshotRecord } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import { createStoreDataSource } from './data-source';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import { isStoreError, StoreError } from './store-error';
import { openThreadedSqliteStore, type ThreadedSqliteStore } from './threaded-sqlite-store';

/**
 * The store thread runs JavaScript only: the compiled `store-thread.js` (`npm run build`,
 * which `npm test` runs first), on the compiled `SqliteStore`.
 */
const THREAD_SCRIPT = path.join(__dirname, '..', '..', '..', 'dist', 'libs', 'store-sqlite', 'src', 'store-thread.js');
/** The built reset thread (a spec run from the sources has no script of its own beside the store). */
const RESET_SCRIPT = path.join(__dirname, '..', '..', '..', 'dist', 'libs', 'store-sqlite', 'src', 'reset-thread.js');

function openThreaded(options: SqliteStoreOptions): Promise<ThreadedSqliteStore> {
  if (!fs.existsSync(THREAD_SCRIPT)) throw new Error(`${THREAD_SCRIPT} is missing: run \`npm run build\` first`);
  return openThreadedSqliteStore({ ...options, threadScript: THREAD_SCRIPT });
}

/** Both ways the replica runs the store: in-process, and on a thread of its own. Every spec below holds for both. */
const VARIANTS: Array<[string, (options: SqliteStoreOptions) => Promise<SqliteStore | ThreadedSqliteStore>]> = [
  ['SqliteStore', openSqliteStore],
  ['ThreadedSqliteStore', openThreaded],
];

// HLC timestamps as the replica makes them: ms since 2020-01-01 shifted left by 12 bits.
const HLC_EPOCH_MS = 1_577_836_800_000;
const WALL_MS = 1_767_225_600_000;

/** A pn-counter increment by `origin` on `key`: the shape the replica core commits. */
function event(origin: string, seq: number, key: string, total = seq): ReplicatedEvent {
  return {
    v: 1,
    origin,
    seq,
    time: (WALL_MS - HLC_EPOCH_MS) * 4096 + seq,
    deps: seq > 1 ? { [origin]: seq - 1 } : {},
    key,
    type: 'pn-counter',
    options: null,
    ops: [{ type: 'increment', replica: origin, total }],
  };
}

function snapshot(cut: Record<string, number>, keys: Array<[string, number]>, streamSeq: number, round = 1): SnapshotRecord {
  return {
    epoch: 1,
    round,
    cut,
    streamSeq,
    keys: keys.map(([k, n]): [string, { p: Record<string, number>; n: Record<string, number> }] => [k, { p: { a: n }, n: {} }]),
  };
}

/** A loaded snapshot with each key's JSON text parsed and its digest term left out (`load` hands the text; see `SnapshotKey`). */
function parsed(s: SnapshotRecord | undefined): SnapshotRecord | undefined {
  if (!s) return s;
  return { ...s, keys: s.keys.map(([k, enc]) => [k, typeof enc === 'string' ? (JSON.parse(enc) as Json) : enc]) };
}

const ids = (events: readonly ReplicatedEvent[]) => events.map((e) => `${e.origin}${e.seq}`);

describe.each(VARIANTS)('%s', (variant, openVariant) => {
  type Store = SqliteStore | ThreadedSqliteStore;
  let dir: string;
  const open: Array<{ close(): Promise<void> }> = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-store-'));
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function openStore(options: Partial<SqliteStoreOptions> = {}): Promise<Store> {
    const store = await openVariant({ file: path.join(dir, 'replica.db'), ...options });
    open.push(store);
    return store;
  }

  async function reopen(store: Store): Promise<Store> {
    await store.close();
    return openStore();
  }

  /** A raw DataSource on the same file, for looking at what the store cannot show. */
  async function inspect(options: Partial<SqliteStoreOptions> = {}): Promise<DataSource> {
    const ds = await createStoreDataSource({ file: path.join(dir, 'replica.db'), ...options }).initialize();
    open.push({ close: () => ds.destroy() });
    return ds;
  }

  it('store - a fresh file loads empty', async () => {
    const store = await openStore();
    expect(await store.load()).toEqual({ replicaId: undefined, snapshot: undefined, events: [], streamSeq: 0, publishedThrough: 0 });
    expect(store.opLogLength()).toBe(0);
    expect(await store.snapshotKey('k')).toBeUndefined();
  });

  it('commit - events, replica id and markers survive close and reopen, in applied order', async () => {
    let store = await openStore();
    await store.saveReplicaId('r1');
    const first = [event('a', 1, 'x'), event('b', 1, 'y'), event('a', 2, 'y')];
    const second = [event('b', 2, 'x'), event('c', 1, 'z')];
    await store.commit({ events: first, streamSeq: 3 });
    await store.commit({ events: second, streamSeq: 5, publishedThrough: 2 });
    expect(store.opLogLength()).toBe(5);

    store = await reopen(store);
    expect(store.opLogLength()).toBe(5);
    const loaded = await store.load();
    expect(loaded.replicaId).toBe('r1');
    expect(loaded.events).toEqual([...first, ...second]);
    expect(loaded.streamSeq).toBe(5);
    expect(loaded.publishedThrough).toBe(2);
    expect(loaded.snapshot).toBeUndefined();
  });

  it('commit - duplicates within and across commits are ignored; the first copy stays', async () => {
    const store = await openStore();
    await store.commit({ events: [event('a', 1, 'x'), event('a', 2, 'x')] });
    await store.commit({ events: [event('a', 2, 'x', 99), event('a', 3, 'x'), event('a', 3, 'x', 77)], streamSeq: 4 });
    expect(store.opLogLength()).toBe(3);
    const loaded = await store.load();
    expect(ids(loaded.events)).toEqual(['a1', 'a2', 'a3']);
    expect(loaded.events[1].ops).toEqual([{ type: 'increment', replica: 'a', total: 2 }]);
    expect(loaded.events[2].ops).toEqual([{ type: 'increment', replica: 'a', total: 3 }]);
    expect(loaded.streamSeq).toBe(4);
  });

  it('commit - a failing commit writes nothing, not even its markers', async () => {
    const store = await openStore();
    await store.commit({ events: [event('a', 1, 'x')], streamSeq: 1 });
    const broken = { ...event('a', 3, 'x'), key: null } as unknown as ReplicatedEvent;
    const err = await store.commit({ events: [event('a', 2, 'x'), broken], streamSeq: 9, publishedThrough: 9 }).catch((e: unknown) => e);
    expect(isStoreError(err, 'STORE_IO')).toBe(true);
    expect((err as StoreError).operation).toBe('commit');
    // Not `instanceof Error`: better-sqlite3's SqliteError comes from another realm once a Jest worker has loaded it for an earlier file.
    expect((err as StoreError).cause).toMatchObject({ name: 'SqliteError', message: expect.any(String) });
    expect(store.opLogLength()).toBe(1);
    const loaded = await store.load();
    expect(ids(loaded.events)).toEqual(['a1']);
    expect(loaded.streamSeq).toBe(1);
    expect(loaded.publishedThrough).toBe(0);
  });

  it('commit - stream_seq and published_through change only when given, and persist', async () => {
    let store = await openStore();
    await store.commit({ events: [], streamSeq: 10 });
    await store.commit({ events: [], publishedThrough: 4 });
    await store.commit({ events: [event('a', 1, 'x')] });
    store = await reopen(store);
    let loaded = await store.load();
    expect([loaded.streamSeq, loaded.publishedThrough]).toEqual([10, 4]);
    await store.commit({ events: [], streamSeq: 12, publishedThrough: 5 });
    store = await reopen(store);
    loaded = await store.load();
    expect([loaded.streamSeq, loaded.publishedThrough]).toEqual([12, 5]);
  });

  it('writeSnapshot - hides exactly the events the cut covers (even before truncation), keeps later ones in applied order', async () => {
    let store = await openStore();
    // Applied order interleaves origins; c is not in the cut at all.
    const applied = [
      event('a', 1, 'x'), event('b', 1, 'y'), event('a', 2, 'x'), event('c', 1, 'z'), event('a', 3, 'y'),
      event('b', 2, 'x'), event('a', 4, 'x'), event('b', 3, 'y'), event('c', 2, 'z'), event('a', 5, 'y'),
    ];
    await store.commit({ events: applied, streamSeq: 20, publishedThrough: 5 });
    const snap = snapshot({ a: 3, b: 3 }, [['x', 3], ['y', 2]], 15);
    await store.writeSnapshot(snap);
    // Covered events stay on disk until truncate, but neither load nor history returns them
    // (a crash between the snapshot and its truncation leaves exactly this state).
    expect(store.opLogLength()).toBe(10);
    expect(ids(await store.history('x', 10))).toEqual(['a4']);

    store = await reopen(store);
    let loaded = await store.load();
    expect(ids(loaded.events)).toEqual(['c1', 'a4', 'c2', 'a5']);
    expect(store.opLogLength()).toBe(10);
    // Truncation deletes exactly the covered six, at most `rowsMax` a step.
    expect(await store.truncate(snap.cut, 4)).toBe(4);
    expect(await store.truncate(snap.cut, 4)).toBe(2);
    expect(await store.truncate(snap.cut, 4)).toBe(0);
    expect(store.opLogLength()).toBe(4);
    store = await reopen(store);
    loaded = await store.load();
    expect(ids(loaded.events)).toEqual(['c1', 'a4', 'c2', 'a5']);
    expect(parsed(loaded.snapshot)).toEqual(snap);
    // stream_seq never moves back: the log already held events up to 20.
    expect(loaded.streamSeq).toBe(20);
    expect(loaded.publishedThrough).toBe(5);
    expect(store.opLogLength()).toBe(4);
    expect(await store.snapshotKey('x')).toEqual({ p: { a: 3 }, n: {} });
    expect(await store.snapshotKey('nope')).toBeUndefined();
    expect(ids(await store.history('x', 10))).toEqual(['a4']);
  });

  it('writeSnapshot - replaces the previous snapshot whole and can move stream_seq forward', async () => {
    const store = await openStore();
    await store.commit({ events: [event('a', 1, 'x'), event('a', 2, 'gone')], streamSeq: 2 });
    await store.writeSnapshot(snapshot({ a: 1 }, [['gone', 1], ['x', 1]], 1));
    const second = snapshot({ a: 2 }, [['x', 2]], 30, 2);
    await store.writeSnapshot(second);
    const loaded = await store.load();
    expect(parsed(loaded.snapshot)).toEqual(second);
    expect(loaded.events).toEqual([]);
    expect(loaded.streamSeq).toBe(30);
    expect(await store.snapshotKey('gone')).toBeUndefined();
    expect(await store.truncate(second.cut, 100)).toBe(2);
    expect(store.opLogLength()).toBe(0);
  });

  it('writeSnapshot - keys come back in JavaScript string order, not SQLite byte order', async () => {
    const store = await openStore();
    // UTF-8 puts U+FFFF before U+1F600; UTF-16 code units put the surrogate 0xD83D first.
    const keys: Array<[string, number]> = [['a', 1], ['\u{1F600}', 2], ['\uFFFF', 3]];
    await store.writeSnapshot(snapshot({}, keys, 0));
    const loaded = await store.load();
    expect(loaded.snapshot!.keys.map(([k]) => k)).toEqual(['a', '\u{1F600}', '\uFFFF']);
  });

  it('writeSnapshotDelta - rewrites only the changed keys, keeps the others, moves round, cut and stream_seq together', async () => {
    let store = await openStore();
    await store.commit({ events: [event('a', 1, 'x'), event('a', 2, 'y'), event('a', 3, 'x')], streamSeq: 3 });
    await store.writeSnapshotDelta({ epoch: 1, round: 1, cut: { a: 2 }, streamSeq: 2, changed: snapshot({}, [['x', 1], ['y', 2]], 0).keys });
    expect(await store.latestSnapshot()).toEqual(snapshot({ a: 2 }, [['x', 1], ['y', 2]], 2, 1));
    // The next round changed x only, and added z: y's row stays as it was.
    await store.writeSnapshotDelta({ epoch: 1, round: 2, cut: { a: 3 }, streamSeq: 40, changed: snapshot({}, [['x', 3], ['z', 7]], 0).keys });
    store = await reopen(store);
    const loaded = await store.load();
    expect(parsed(loaded.snapshot)).toEqual(snapshot({ a: 3 }, [['x', 3], ['y', 2], ['z', 7]], 40, 2));
    expect(loaded.events).toEqual([]);
    expect(loaded.streamSeq).toBe(40);
    expect(await store.snapshotKey('y')).toEqual({ p: { a: 2 }, n: {} });
    expect(await store.latestSnapshot()).toEqual(parsed(loaded.snapshot));
    // Covered events wait for truncation as after writeSnapshot.
    expect(store.opLogLength()).toBe(3);
    expect(await store.truncate({ a: 3 }, 100)).toBe(3);
  });

  it('digest terms - kept with the rows a delta writes, loaded back, never published; a rewrite without one clears it', async () => {
    let store = await openStore();
    const term = (b: number) => new Uint8Array(32).fill(b);
    const [x, y] = snapshot({}, [['x', 1], ['y', 2]], 0).keys;
    // The load hands each key's JSON text (see `SnapshotKey`), with its term.
    await store.writeSnapshotDelta({ epoch: 1, round: 1, cut: {}, streamSeq: 0, changed: [[x[0], x[1], term(1)], [y[0], y[1], term(2)]] });
    store = await reopen(store);
    const loaded = (await store.load()).snapshot!;
    expect(loaded.keys.map(([k, , t]) => [k, t && Buffer.from(t).toString('hex')])).toEqual([
      ['x', '01'.repeat(32)],
      ['y', '02'.repeat(32)],
    ]);
    // Joiners compute their own: the published snapshot has no terms.
    expect((await store.latestSnapshot())!.keys.every((k) => k.length === 2)).toBe(true);
    // A key rewritten without a term (a full snapshot from a joiner, say) has none after.
    await store.writeSnapshotDelta({ epoch: 1, round: 2, cut: {}, streamSeq: 0, changed: [[x[0], { p: { a: 5 }, n: {} }]] });
    const again = (await store.load()).snapshot!;
    expect(again.keys.map(([k, , t]) => [k, t === undefined])).toEqual([
      ['x', true],
      ['y', false],
    ]);
  });

  it('latestSnapshot - undefined on an empty store', async () => {
    const store = await openStore();
    expect(await store.latestSnapshot()).toBeUndefined();
  });

  it('history - events of one key, oldest first, at most limit', async () => {
    const store = await openStore();
    await store.commit({ events: [event('b', 1, 'x'), event('a', 1, 'y'), event('a', 2, 'x')] });
    await store.commit({ events: [event('a', 3, 'x'), event('b', 2, 'y'), event('c', 1, 'x')] });
    expect(ids(await store.history('x', 100))).toEqual(['b1', 'a2', 'a3', 'c1']);
    expect(ids(await store.history('x', 2))).toEqual(['b1', 'a2']);
    expect(await store.history('x', 0)).toEqual([]);
    expect(await store.history('none', 5)).toEqual([]);
  });

  it('history - after a reopen, without a load, still skips the events the snapshot covers', async () => {
    let store = await openStore();
    await store.commit({ events: [event('a', 1, 'x'), event('a', 2, 'x'), event('b', 1, 'x'), event('a', 3, 'x')], streamSeq: 4 });
    await store.writeSnapshot(snapshot({ a: 2 }, [['x', 2]], 3));
    store = await reopen(store);
    expect(ids(await store.history('x', 100))).toEqual(['b1', 'a3']);
  });

  it('ownEventsAfter - one origin, seq after the bound, ordered by seq, at most limit', async () => {
    const store = await openStore();
    // Applied out of seq order (a peer's events can land that way); the outbox wants seq order.
    await store.commit({ events: [event('a', 2, 'x'), event('b', 1, 'x'), event('a', 1, 'y'), event('a', 4, 'x')] });
    await store.commit({ events: [event('a', 3, 'z'), event('a', 5, 'x')] });
    expect(ids(await store.ownEventsAfter('a', 0, 100))).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(ids(await store.ownEventsAfter('a', 2, 2))).toEqual(['a3', 'a4']);
    expect(await store.ownEventsAfter('a', 5, 10)).toEqual([]);
    expect(await store.ownEventsAfter('a', 0, 0)).toEqual([]);
    expect(ids(await store.ownEventsAfter('b', 0, 10))).toEqual(['b1']);
  });

  it('resetTo - replaces log and snapshot, sets stream_seq, keeps replica id and published_through', async () => {
    let store = await openStore();
    await store.saveReplicaId('r1');
    await store.commit({ events: [event('r1', 1, 'x'), event('b', 1, 'old')], streamSeq: 50, publishedThrough: 1 });
    await store.writeSnapshot(snapshot({ b: 1 }, [['old', 1]], 40));
    const fetched = snapshot({ r1: 1, b: 7 }, [['x', 1]], 35, 9);
    await store.resetTo(fetched, 35);
    expect(store.opLogLength()).toBe(0);

    store = await reopen(store);
    const loaded = await store.load();
    expect({ ...loaded, snapshot: parsed(loaded.snapshot) }).toEqual({ replicaId: 'r1', snapshot: fetched, events: [], streamSeq: 35, publishedThrough: 1 });
    expect(await store.snapshotKey('old')).toBeUndefined();
    // The log works as before after a reset.
    await store.commit({ events: [event('b', 8, 'x')], streamSeq: 36 });
    expect(ids((await store.load()).events)).toEqual(['b8']);
    expect(store.opLogLength()).toBe(1);
  });

  it.each([
    ['on the caller\'s thread', {}],
    ['on the reset thread', { resetThread: { script: RESET_SCRIPT, keysMin: 1 } }],
  ])('resetTo - many keys, given as JSON text or parsed, with and without terms, come back whole and in order (%s)', async (_where, options: Partial<SqliteStoreOptions>) => {
    let store = await openStore(options);
    await store.commit({ events: [event('r1', 1, 'x'), event('b', 1, 'y'), event('r1', 2, 'x')], streamSeq: 9 });
    await store.writeSnapshot(snapshot({ b: 1 }, [['old', 1]], 3));
    // More rows than one multi-row insert takes, and not a multiple of it.
    const keys = Array.from({ length: 200 }, (_, i): [string, number] => [`k${String(i).padStart(3, '0')}`, i + 1]);
    const fetched = snapshot({ a: 200 }, keys, 7);
    const term = (i: number) => new Uint8Array(32).fill(i % 250 + 1);
    // Half the keys as their JSON text (a join hands them so), every third with a digest term.
    const given: SnapshotRecord = {
      ...fetched,
      keys: fetched.keys.map(([k, enc], i): SnapshotKey => {
        const e = i % 2 === 0 ? JSON.stringify(enc) : enc;
        return i % 3 === 0 ? [k, e, term(i)] : [k, e];
      }),
    };
    const reset = store.resetTo(given, 7, { origin: 'r1', afterSeq: 1 });
    // Called before the reset has finished: lands after it, as if called once it had.
    const committed = store.commit({ events: [event('b', 2, 'z')], streamSeq: 8 });
    await Promise.all([reset, committed]);
    expect(store.opLogLength()).toBe(2);
    store = await reopen(store);
    const loaded = await store.load();
    expect(parsed(loaded.snapshot)).toEqual(fetched);
    expect(ids(loaded.events)).toEqual(['r12', 'b2']);
    expect(loaded.streamSeq).toBe(8);
    expect(await store.snapshotKey('old')).toBeUndefined();
    expect(loaded.snapshot!.keys.map(([, , t]) => (t ? Buffer.from(t).toString('hex') : undefined))).toEqual(
      keys.map((_, i) => (i % 3 === 0 ? Buffer.from(term(i)).toString('hex') : undefined)),
    );
    expect(await store.latestSnapshot()).toEqual(fetched);
    expect(await store.snapshotKey('k199')).toEqual({ p: { a: 200 }, n: {} });
  });

  it('resetTo - a reset thread that fails rejects with STORE_IO, leaves the store as it was, and later calls work', async () => {
    const failing = path.join(dir, 'failing-reset-thread.js');
    fs.writeFileSync(failing, `throw new Error('no reset here');\n`);
    let store = await openStore({ resetThread: { script: failing, keysMin: 1 } });
    await store.commit({ events: [event('b', 1, 'x')], streamSeq: 5 });
    await store.writeSnapshot(snapshot({ b: 1 }, [['x', 1]], 5));
    const err = await store.resetTo(snapshot({ b: 2 }, [['y', 2]], 6), 6).catch((e: unknown) => e);
    expect(isStoreError(err) && err.code === 'STORE_IO').toBe(true);
    await store.commit({ events: [event('b', 2, 'x')], streamSeq: 6 });
    store = await reopen(store);
    const loaded = await store.load();
    expect(parsed(loaded.snapshot)).toEqual(snapshot({ b: 1 }, [['x', 1]], 5));
    expect(ids(loaded.events)).toEqual(['b2']);
  });

  it('resetTo - with keep, only the own events the snapshot lacks survive, across a reopen', async () => {
    let store = await openStore();
    await store.commit({ events: [event('r1', 1, 'x'), event('b', 1, 'y'), event('r1', 2, 'x'), event('r1', 3, 'y'), event('b', 2, 'x')], streamSeq: 9 });
    const fetched = snapshot({ r1: 1, b: 2 }, [['x', 1]], 4);
    await store.resetTo(fetched, 4, { origin: 'r1', afterSeq: 1 });
    expect(store.opLogLength()).toBe(2);
    store = await reopen(store);
    expect(ids((await store.load()).events)).toEqual(['r12', 'r13']);
    expect(ids(await store.ownEventsAfter('r1', 1, 10))).toEqual(['r12', 'r13']);
  });

  it('migrations - run once, reopening changes nothing, and the entities match the migrated schema', async () => {
    let store = await openStore();
    await store.commit({ events: [event('a', 1, 'x')] });
    for (let i = 0; i < 3; i++) store = await reopen(store);
    expect(ids((await store.load()).events)).toEqual(['a1']);
    await store.close();

    const ds = await inspect();
    expect(await ds.query(`SELECT "name" FROM "typeorm_migrations"`)).toEqual([{ name: 'InitialSchema1767225600000' }, { name: 'SnapshotKeyDigestTerm1795910400000' }]);
    // What `synchronize` would still do: nothing, or entities and migration disagree.
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('pragmas - WAL journal, synchronous FULL by default and NORMAL when asked', async () => {
    const full = await inspect();
    expect(await full.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await full.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    await full.destroy();
    const normal = await inspect({ synchronous: 'NORMAL' });
    expect(await normal.query('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
  });

  it('errors - a closed store rejects with STORE_CLOSED', async () => {
    const store = await openStore();
    await store.close();
    await expect(store.load()).rejects.toMatchObject({ name: 'StoreError', code: 'STORE_CLOSED', operation: 'load' });
    await expect(store.commit({ events: [event('a', 1, 'x')] })).rejects.toBeInstanceOf(StoreError);
    await store.close();
  });

  it('errors - a file that cannot be opened rejects with STORE_IO keeping the cause', async () => {
    const notADir = path.join(dir, 'plain-file');
    fs.writeFileSync(notADir, 'x');
    const err1 = await openVariant({ file: path.join(notADir, 'replica.db') }).catch((e: unknown) => e);
    expect(isStoreError(err1, 'STORE_IO')).toBe(true);
    expect((err1 as StoreError).cause).toBeDefined();

    const garbage = path.join(dir, 'garbage.db');
    fs.writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    const err2 = await openVariant({ file: garbage }).catch((e: unknown) => e);
    expect(isStoreError(err2, 'STORE_IO')).toBe(true);
    expect(String((err2 as StoreError).message)).toMatch(/not a database/);
  });

  it('errors - bad arguments are bugs and throw plain errors', async () => {
    const store = await openStore();
    await expect(store.history('x', -1)).rejects.toThrow(/limit/);
    await expect(store.commit({ events: [], streamSeq: 1.5 })).rejects.toThrow(/streamSeq/);
    await expect(store.saveReplicaId('')).rejects.toThrow(/non-empty/);
    await expect(store.history('x', -1)).rejects.not.toBeInstanceOf(StoreError);
  });

  // A measurement of SQLite itself, printed once (the thread would add its hop to both sides).
  if (variant === 'SqliteStore') it('commit - 50k events in group commits of 1000 vs one transaction each', async () => {
    const total = 50_000;
    const batch = 1_000;
    const events = Array.from({ length: total }, (_, i) => event(`r${i % 5}`, Math.floor(i / 5) + 1, `k${i % 1000}`));

    let store = await openStore();
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < total; i += batch) await store.commit({ events: events.slice(i, i + batch), streamSeq: i + batch });
    const groupedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(store.opLogLength()).toBe(total);
    store = await reopen(store);
    const loaded = await store.load();
    expect(loaded.events.length).toBe(total);
    expect(loaded.events[total - 1]).toEqual(events[total - 1]);
    expect(loaded.streamSeq).toBe(total);
    await store.close();
    fs.rmSync(path.join(dir, 'replica.db'));

    // One fsync per event: bounded by time, then extrapolated (measured, not asserted).
    const budgetMs = 5_000;
    store = await openStore();
    let done = 0;
    t0 = process.hrtime.bigint();
    let singleMs = 0;
    while (done < total && singleMs < budgetMs) {
      await store.commit({ events: [events[done]], streamSeq: done + 1 });
      done++;
      if (done % 100 === 0) singleMs = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    singleMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(store.opLogLength()).toBe(done);
    const singleTotalMs = (singleMs / done) * total;
    console.log(
      `sqlite store, synchronous FULL: ${total} events in batches of ${batch}: ${groupedMs.toFixed(0)} ms; ` +
        `one per transaction: ${done} events in ${singleMs.toFixed(0)} ms, ~${singleTotalMs.toFixed(0)} ms for ${total} ` +
        `(x${(singleTotalMs / groupedMs).toFixed(1)})`,
    );
  });
});

describe('ThreadedSqliteStore - the transport', () => {
  let dir: string;
  let store: ThreadedSqliteStore | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threaded-store-'));
    store = await openThreaded({ file: path.join(dir, 'replica.db') });
  });

  afterEach(async () => {
    await store?.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('thread - a resolved commit is already in the file: another connection reads it at once', async () => {
    const s = store!;
    const other = await createStoreDataSource({ file: path.join(dir, 'replica.db') }).initialize();
    try {
      for (let i = 1; i <= 20; i++) {
        await s.commit({ events: [event('a', i, 'x')], streamSeq: i });
        expect(await other.query(`SELECT COUNT(*) AS n FROM "op_log"`)).toEqual([{ n: i }]);
      }
    } finally {
      await other.destroy();
    }
  });

  it('thread - calls sent without waiting run in the order they were made, and opLogLength follows each reply', async () => {
    const s = store!;
    const commits = Array.from({ length: 50 }, (_, i) => s.commit({ events: [event(`r${i % 3}`, Math.floor(i / 3) + 1, `k${i % 7}`)], streamSeq: i + 1 }));
    const own = s.ownEventsAfter('r0', 0, 100);
    expect(s.opLogLength()).toBe(0);
    await Promise.all(commits);
    expect(s.opLogLength()).toBe(50);
    // Sent after every commit, so it saw all of r0's 17 events.
    expect((await own).map((e) => e.seq)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    const loaded = await s.load();
    expect(loaded.streamSeq).toBe(50);
    expect(ids(loaded.events)).toEqual(Array.from({ length: 50 }, (_, i) => `r${i % 3}${Math.floor(i / 3) + 1}`));
  });

  it('thread - a thread that dies fails the calls in flight and every later one with STORE_IO', async () => {
    const s = store!;
    const inFlight = s.commit({ events: Array.from({ length: 2000 }, (_, i) => event('a', i + 1, 'x')) });
    await (s as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const err = await inFlight.then(() => 'resolved', (e: unknown) => e);
    // The commit either made it before the thread ended or failed with STORE_IO; it never hangs.
    if (err !== 'resolved') expect(err).toMatchObject({ name: 'StoreError', code: 'STORE_IO', operation: 'commit' });
    await expect(s.load()).rejects.toMatchObject({ name: 'StoreError', code: 'STORE_IO', operation: 'load' });
    await s.close();
    await expect(s.load()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
