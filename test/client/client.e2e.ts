import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConflictError, connect, CrdtError, isCrdtError, type CrdtStore } from '#client';
import { REPO_ROOT } from '#testing';
import { sleep, TestCluster } from '../support/cluster';

/**
 * The typed client against a real three-replica cluster (nats-server with JetStream,
 * three replica processes on SQLite): typed handles, errors, exactly-once retries, watch,
 * and each of seed 001's session guarantees with requests spread over replicas.
 *
 * To give a guarantee a chance to fail, the replica a session moves to is paused
 * (SIGSTOP) while the earlier request is made elsewhere, and resumed only once the
 * session's next request is queued at it: without the session's token it could answer
 * from the state it had before. Control reads without a token are made the same way and
 * their staleness is logged (not asserted: whether they are stale depends on which
 * message the resumed process handles first).
 */
describe('client', () => {
  let cluster: TestCluster;
  let store: CrdtStore;
  const controls: string[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(['r1', 'r2', 'r3'], {}, 60_000);
    store = await connect({ servers: cluster.nats.url });
  }, 150_000);
  afterAll(async () => {
    if (controls.length > 0) console.log(`control reads without a token:\n${controls.join('\n')}`);
    await store?.close();
    await cluster?.stop();
  });

  /** Runs `request` against replica `id` while it is paused, resuming it once the request is queued there. */
  async function whilePaused<T>(id: string, before: () => Promise<unknown>, request: () => Promise<T>): Promise<T> {
    const app = cluster.replicas.get(id)!;
    app.pause();
    try {
      await before();
      const pending = request();
      await sleep(300);
      app.resume();
      return await pending;
    } finally {
      app.resume();
    }
  }

  it('client - typed handles for every type, and the generic update and get', async () => {
    expect(store.replicas()).toEqual(['r1', 'r2', 'r3']);
    const s = store.session();
    await s.counter('visits').increment(5);
    await s.counter('visits').decrement(2);
    expect(await s.counter('visits').value()).toBe(3);
    await s.gCounter('likes').increment();
    expect(await s.gCounter('likes').value()).toBe(1);
    await s.set('tags').add('x');
    await s.set('tags').add('y', 'z');
    await s.set('tags').remove('y');
    expect(await s.set('tags').value()).toEqual(['x', 'z']);
    await s.set('seen', 'g-set').add(1, 2);
    expect(await s.set('seen', 'g-set').value()).toEqual([1, 2]);
    await s.text('doc').insert(0, 'hi');
    await s.text('doc').insert(2, ' there');
    await s.text('doc').delete(0, 1);
    expect(await s.text('doc').value()).toBe('i there');
    await s.list('queue').insert(0, 'a', 'b');
    await s.list('queue').set(1, 'B');
    expect(await s.list('queue').value()).toEqual(['a', 'B']);
    await s.register('name').set({ first: 'Ada' });
    expect(await s.register('name').value()).toEqual({ first: 'Ada' });
    await s.register('mv', 'mv-register').set(1);
    expect(await s.register('mv', 'mv-register').value()).toEqual([1]);
    await s.flag('on').enable();
    expect(await s.flag('on').value()).toBe(true);
    await s.flag('off', 'dw-flag').disable();
    expect(await s.flag('off', 'dw-flag').value()).toBe(false);
    await s.map('user').updateField('visits', 'pn-counter', { type: 'increment', by: 2 });
    await s.map('user').updateField('name', 'lww-register', { type: 'set', value: 'Bo' });
    expect(await s.map('user').value()).toEqual({ name: 'Bo', visits: 2 });
    await s.lifecycle('ticket', ['open', 'review', 'closed']).transition('review');
    expect(await s.lifecycle('ticket', ['open', 'review', 'closed']).value()).toBe('review');
    // Generic forms: an atomic batch, and a typed read.
    const w = await s.update<'pn-counter'>('visits', [{ type: 'increment', by: 10 }, { type: 'decrement', by: 1 }]);
    expect(w).toMatchObject({ key: 'visits', type: 'pn-counter', seq: expect.any(Number), token: expect.any(String) });
    const r = await s.get<'pn-counter'>('visits');
    expect(r.value).toBe(12);
    // A session's requests are spread over the replicas.
    const made = new Set<string>();
    for (let i = 0; i < 6; i++) made.add((await s.counter('spread').increment()).replica);
    expect([...made].sort()).toEqual(['r1', 'r2', 'r3']);
    expect(await s.counter('spread').value()).toBe(6);
  }, 60_000);

  it('client - errors are typed with code and retryable, from the protocol catalogue', async () => {
    // The store's handles pick replicas in turn: the insert waits for the counter's token, so its replica knows the key's type.
    const made = await store.counter('typed-err').increment();
    const e1 = await store.text('typed-err').insert(0, 'x', { after: made.token }).catch((e: unknown) => e);
    expect(isCrdtError(e1, 'TYPE_MISMATCH')).toBe(true);
    expect((e1 as CrdtError).retryable).toBe(false);
    const e2 = await store.update('typed-err', { type: 'frob' } as never, { after: made.token }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(CrdtError);
    expect((e2 as CrdtError).code).toBe('INVALID_OP');
    const e3 = await store.get('no-such-key').catch((e: unknown) => e);
    expect((e3 as CrdtError).code).toBe('NOT_FOUND');
    const e4 = await store.get('typed-err', { replica: 'r9' }).catch((e: unknown) => e);
    expect((e4 as CrdtError).code).toBe('NO_RESPONDERS');
    expect((e4 as CrdtError).retryable).toBe(true);
  }, 30_000);

  it('client - strong writes: a compare-and-set answers its revision, a stale one throws ConflictError with the current revision, a linearizable read sees the winner', async () => {
    const first = await store.update('cas.key', { type: 'set', value: 'a' }, { type: 'lww-register', consistency: 'strong', expect: 0, replica: 'r1' });
    expect(first.revision).toBeGreaterThan(0);
    const second = await store.update('cas.key', { type: 'set', value: 'b' }, { consistency: 'strong', expect: first.revision, replica: 'r2' });
    expect(second.revision).toBeGreaterThan(first.revision!);
    const stale = await store.update('cas.key', { type: 'set', value: 'c' }, { consistency: 'strong', expect: first.revision, replica: 'r3' }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ConflictError);
    expect(stale).toMatchObject({ code: 'CONFLICT', retryable: false, revision: second.revision });
    const read = await store.get('cas.key', { consistency: 'linearizable', replica: 'r3' });
    expect(read).toMatchObject({ value: 'b', revision: second.revision });
    // A strong delete is a compare-and-set too: a stale revision deletes nothing, the current one deletes the key everywhere.
    const staleDelete = await store.delete('cas.key', { consistency: 'strong', expect: first.revision, replica: 'r1' }).catch((e: unknown) => e);
    expect(staleDelete).toMatchObject({ code: 'CONFLICT', revision: second.revision });
    const deleted = await store.delete('cas.key', { consistency: 'strong', expect: second.revision, replica: 'r1' });
    expect(deleted.revision).toBeGreaterThan(second.revision!);
    const gone = await store.get('cas.key', { consistency: 'linearizable', replica: 'r2' }).catch((e: unknown) => e);
    expect(gone).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('client - exactly once: the same rid sent twice to a replica is applied once', async () => {
    await cluster.ok('create', { key: 'once', type: 'pn-counter' }, 'r1');
    const body = { key: 'once', op: { type: 'increment', by: 1 }, rid: 'test-rid-1' };
    const first = await cluster.ok('update', body, 'r1');
    const second = await cluster.ok('update', body, 'r1');
    expect(second).toMatchObject({ seq: first.seq, replica: 'r1', duplicate: true });
    const third = await cluster.ok('update', { ...body, rid: 'test-rid-2' }, 'r1');
    expect(third.seq).toBe((first.seq as number) + 1);
    expect((await cluster.ok('get', { key: 'once', after: third.token }, 'r2')).value).toBe(2);
  }, 30_000);

  it('client - store.delete and handle.deleteKey remove a key on every replica; a resent delete (same rid) is applied once', async () => {
    const tags = store.set('client-del');
    // The store's handles carry no token and pick replicas in turn: the delete waits for the add's token, so it sees the key.
    const added = await tags.add('x', 'y');
    const d = await tags.deleteKey({ ack: 'all', after: added.token });
    expect(d).toMatchObject({ key: 'client-del', type: 'or-set' });
    const session = store.session({ replicas: ['r2', 'r3'] });
    session.observe(d.token);
    for (const id of ['r1', 'r2', 'r3']) expect(((await store.get('client-del', { replica: id, after: d.token }).catch((e: unknown) => e)) as CrdtError).code).toBe('NOT_FOUND');
    await session.counter('client-del2').increment(2);
    const d2 = await session.delete('client-del2');
    expect(((await session.get('client-del2').catch((e: unknown) => e)) as CrdtError).code).toBe('NOT_FOUND');
    expect(d2.seq).toBeGreaterThan(0);
    await cluster.ok('update', { key: 'client-del3', type: 'pn-counter', op: { type: 'increment' } }, 'r1');
    const body = { key: 'client-del3', rid: 'test-del-rid' };
    const first = await cluster.ok('delete', body, 'r1');
    const second = await cluster.ok('delete', body, 'r1');
    expect(second).toMatchObject({ seq: first.seq, duplicate: true });
    expect(((await store.delete('client-del3', { replica: 'r1' }).catch((e: unknown) => e)) as CrdtError).code).toBe('NOT_FOUND');
  }, 30_000);

  it('client - a retried update whose replies were lost (replica paused) is applied exactly once', async () => {
    const fast = await connect({ servers: cluster.nats.url, requestTimeoutMs: 250, retry: { attemptsMax: 8, backoffMsBase: 50, backoffMsMax: 200 } });
    try {
      await fast.counter('retried').increment(1, { replica: 'r1' });
      const app = cluster.replicas.get('r1')!;
      app.pause();
      const pending = fast.counter('retried').increment(1, { replica: 'r1' });
      // Long enough for several attempts to time out and be resent with the same rid.
      await sleep(1_000);
      app.resume();
      const w = await pending;
      const r = await fast.get('retried', { after: w.token, replica: 'r3' });
      expect(r.value).toBe(2);
      const history = await cluster.ok('history', { key: 'retried' }, 'r1');
      // The first increment created the key in its event; the resent one made one more event.
      expect((history.events as unknown[]).length).toBe(2);
    } finally {
      cluster.replicas.get('r1')!.resume();
      await fast.close();
    }
  }, 30_000);

  it('client - watch yields each change once, by key and by prefix (inside a token too)', async () => {
    const ac = new AbortController();
    const byPrefix = store.watch({ prefix: 'wat', signal: ac.signal });
    const byDot = store.watch({ prefix: 'watch.', signal: ac.signal });
    const byKey = store.watch('watch.a');
    await store.nc.flush();
    await store.counter('watch.a').increment();
    await store.counter('watch.b').increment();
    await store.counter('other').increment();
    const first = await byKey.next();
    expect(first.value).toMatchObject({ key: 'watch.a', type: 'pn-counter' });
    await byKey.return!();
    const got: string[] = [];
    for await (const n of byDot) {
      got.push(n.key);
      if (got.length === 2) break;
    }
    expect(got.sort()).toEqual(['watch.a', 'watch.b']);
    const viaFilter = await byPrefix.next();
    expect(viaFilter.value.key.startsWith('wat')).toBe(true);
    ac.abort();
    expect((await byPrefix.next()).done).toBe(true);
  }, 30_000);

  it('session - read-your-writes: a write on r1 is read on r2', async () => {
    await cluster.ok('create', { key: 'ryw', type: 'pn-counter' }, 'r1');
    await cluster.converged(['r1', 'r2', 'r3']);
    const s = store.session();
    const r = await whilePaused(
      'r2',
      () => s.counter('ryw').increment(1, { replica: 'r1' }),
      async () => {
        const control = cluster.request('get', { key: 'ryw' }, 'r2');
        const read = await s.counter('ryw').get({ replica: 'r2' });
        controls.push(`read-your-writes: r2 without token read ${(await control).value} (fresh is 1)`);
        return read;
      },
    );
    expect(r.value).toBe(1);
  }, 30_000);

  it('session - monotonic reads: what a read on r1 saw is seen by the next read on r2', async () => {
    await cluster.ok('create', { key: 'mr', type: 'or-set' }, 'r1');
    await cluster.converged(['r1', 'r2', 'r3']);
    const s = store.session();
    let firstRead: unknown;
    const second = await whilePaused(
      'r2',
      async () => {
        await cluster.ok('update', { key: 'mr', op: { type: 'add', value: 'by-another-client' } }, 'r1');
        firstRead = await s.set('mr').value({ replica: 'r1' });
      },
      () => s.set('mr').value({ replica: 'r2' }),
    );
    expect(firstRead).toEqual(['by-another-client']);
    expect(second).toEqual(['by-another-client']);
  }, 30_000);

  it('session - writes-follow-reads: a write on r2 is ordered after the write the session read on r1', async () => {
    await cluster.ok('create', { key: 'wfr', type: 'mv-register' }, 'r1');
    await cluster.converged(['r1', 'r2', 'r3']);
    const s = store.session();
    await whilePaused(
      'r2',
      async () => {
        await cluster.ok('update', { key: 'wfr', op: { type: 'set', value: 'a' } }, 'r1');
        expect(await s.register('wfr', 'mv-register').value({ replica: 'r1' })).toEqual(['a']);
      },
      () => s.register('wfr', 'mv-register').set('b', { replica: 'r2' }),
    );
    await cluster.converged(['r1', 'r2', 'r3']);
    // Concurrent writes would both survive in an mv-register; an ordered one replaces.
    for (const id of ['r1', 'r2', 'r3']) expect((await cluster.ok('get', { key: 'wfr' }, id)).value).toEqual(['b']);
  }, 30_000);

  it('session - monotonic writes: a session write on r2 is ordered after its earlier write on r1', async () => {
    await cluster.ok('create', { key: 'mw', type: 'mv-register' }, 'r1');
    await cluster.converged(['r1', 'r2', 'r3']);
    const s = store.session();
    await whilePaused(
      'r2',
      () => s.register('mw', 'mv-register').set('first', { replica: 'r1' }),
      () => s.register('mw', 'mv-register').set('second', { replica: 'r2' }),
    );
    await cluster.converged(['r1', 'r2', 'r3']);
    for (const id of ['r1', 'r2', 'r3']) expect((await cluster.ok('get', { key: 'mw' }, id)).value).toEqual(['second']);
  }, 30_000);

  it('client - the example in examples/ runs against the cluster', async () => {
    const run = promisify(execFile);
    for (const file of ['quickstart.mjs', 'quickstart.cjs']) {
      const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'examples', file)], { env: { ...process.env, NATS_URL: cluster.nats.url }, timeout: 30_000 });
      expect(stdout).toContain('visits = ');
      expect(stdout).toContain('read-your-writes held');
    }
  }, 60_000);
});
