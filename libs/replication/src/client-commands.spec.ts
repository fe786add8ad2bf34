import { decodeToken } from './causal-token';
import { memoryPorts } from '../testing/memory-ports';
import { startedCore } from '../testing/started-core';

describe('client commands', () => {
  it('client commands - create then update then get returns the value with a token covering the write', async () => {
    const { send } = await startedCore();
    expect(await send('create', { key: 'c.n', type: 'pn-counter' })).toMatchObject({ ok: true, created: true });
    const upd = await send('update', { key: 'c.n', op: { type: 'increment', by: 3 } });
    expect(upd).toMatchObject({ ok: true, replica: 'r1', seq: 2 });
    const got = await send('get', { key: 'c.n' });
    expect(got).toMatchObject({ ok: true, type: 'pn-counter', value: 3 });
    expect(decodeToken((got as { token: string }).token)).toEqual({ r1: 2 });
  });

  it('client commands - a write is durable in the store and queued for the stream', async () => {
    const { send, ports } = await startedCore();
    await send('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
    expect(ports.store.events.map((e) => `${e.origin}#${e.seq}`)).toEqual(['r1#1']);
    expect(ports.stream.messages.flatMap((m) => m.events.map((e) => e.seq))).toEqual([1]);
  });

  it('client commands - a command the table does not list as a client command is UNKNOWN_COMMAND', async () => {
    const { send } = await startedCore();
    const r = await send('freeze', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect((r as { error: { message: string } }).error.message).toContain('create, update, delete, get, keys, history, before-sync, status');
  });

  it('client commands - a malformed body gets the parser\'s error and writes nothing', async () => {
    const { send, ports } = await startedCore();
    expect(await send('update', { key: 'a..b', op: { type: 'increment' } })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(ports.store.events).toEqual([]);
  });

  it('client commands - a write while the replica is starting is UNAVAILABLE', async () => {
    const ports = memoryPorts();
    // The stream does not answer yet, so a configured id on an empty disk cannot learn its last seq.
    ports.stream.lastSeq = () => new Promise<number>(() => undefined);
    const { core } = await startedCore({ replicaId: 'r1' }, ports, false);
    expect(core.currentMode).toBe('Starting');
    expect(await core.handle('create', { key: 'c.n', type: 'pn-counter' })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });

  it('client commands - a write during a round is held and runs when the replica returns to Work', async () => {
    const { core, ports, send } = await startedCore();
    core.setMode('Sync');
    let reply: unknown;
    void core.handle('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } }).then((r) => (reply = r));
    await ports.clock.advance(10);
    expect(reply).toBeUndefined();
    expect(core.status()).toMatchObject({ heldWrites: 1 });
    core.setMode('Work');
    await ports.clock.advance(10);
    expect(reply).toMatchObject({ ok: true, seq: 1 });
    expect(await send('get', { key: 'c.n' })).toMatchObject({ value: 1 });
  });

  it('client commands - a create that waited for a strong write\'s hold on the next own seq is held when a round began meanwhile (seed 505)', async () => {
    const ports = memoryPorts();
    const { core } = await startedCore({ replicaId: 'r1' }, ports);
    // The strong write's publish waits until the spec lets it through.
    let answer: (() => void) | undefined;
    const publishStrong = ports.stream.publishStrong.bind(ports.stream);
    ports.stream.publishStrong = (e, expected) => new Promise((resolve) => (answer = () => void publishStrong(e, expected).then(resolve)));
    const strong = core.handle('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' });
    await ports.clock.advance(10);
    let created: unknown;
    void core.handle('create', { key: 'v.0', type: 'pn-counter' }).then((r) => (created = r));
    await ports.clock.advance(10);
    core.setMode('Sync');
    answer?.();
    await ports.clock.advance(10);
    expect(await strong).toMatchObject({ ok: true, seq: 1 });
    expect(created).toBeUndefined();
    expect(core.status()).toMatchObject({ heldWrites: 1 });
    expect(ports.store.events.map((e) => e.key)).toEqual(['reg']);
    core.setMode('Work');
    await ports.clock.advance(10);
    expect(created).toMatchObject({ ok: true, created: true });
    expect(ports.store.events.map((e) => `${e.key}#${e.seq}`)).toEqual(['reg#1', 'v.0#2']);
  });

  it('client commands - a write held longer than holdMs is refused FROZEN and never applied', async () => {
    const { core, ports, send } = await startedCore({ replicaId: 'r1', limits: { holdMs: 100 } });
    core.setMode('Sync');
    const reply = core.handle('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
    await ports.clock.advance(150);
    expect(await reply).toMatchObject({ ok: false, error: { code: 'FROZEN' } });
    core.setMode('Work');
    expect(await send('get', { key: 'c.n' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('client commands - held writes are bounded by heldWritesMax', async () => {
    const { core } = await startedCore({ replicaId: 'r1', limits: { heldWritesMax: 1 } });
    core.setMode('Sync');
    void core.handle('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
    expect(await core.handle('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } })).toMatchObject({ ok: false, error: { code: 'OVERLOADED' } });
  });

  it('client commands - ack "all" waits for every live peer\'s heartbeat to cover the write', async () => {
    const { core, ports } = await startedCore();
    // The peer's clock agrees with ours (a heartbeat from far off would make this replica refuse writes: CLOCK_SKEW).
    core.heardPeer({ v: 1, replica: 'r2', mode: 'Work', applied: {}, opLogLength: 0, outboxDepth: 0, streamSeq: 0, keys: 0, epoch: 0, round: 0, sentMs: ports.clock.nowMs() });
    let reply: unknown;
    void core.handle('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' }, ack: 'all', timeoutMs: 1_000 }).then((r) => (reply = r));
    await ports.clock.advance(50);
    expect(reply).toBeUndefined();
    core.heardPeer({ v: 1, replica: 'r2', mode: 'Work', applied: { r1: 1 }, opLogLength: 1, outboxDepth: 0, streamSeq: 1, keys: 1, epoch: 0, round: 0, sentMs: ports.clock.nowMs() });
    await ports.clock.advance(1);
    expect(reply).toMatchObject({ ok: true, seq: 1 });
  });
});
