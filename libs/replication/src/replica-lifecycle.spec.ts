import { ReplicaCore } from './replica-core';
import { memoryPorts } from '../testing/memory-ports';
import { startedCore } from '../testing/started-core';

describe('replica lifecycle', () => {
  it('replica lifecycle - a snapshot at the cut is written, and a restart over the same disk loads it', async () => {
    const ports = memoryPorts();
    const { core, send } = await startedCore({ replicaId: 'r1' }, ports);
    await send('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment', by: 4 } });
    const taking = core.takeSnapshot(1, 1, core.applied());
    await ports.clock.advance(10);
    const snap = await taking;
    expect(snap).toMatchObject({ epoch: 1, round: 1, cut: { r1: 1 }, keys: 1, changedKeys: 1 });
    // The store holds the whole snapshot: the summary's round and cut, and every key.
    expect(ports.store.snapshot).toMatchObject({ epoch: 1, round: 1, cut: { r1: 1 } });
    expect(ports.store.snapshot?.keys.map(([k]) => k)).toEqual(['c.n']);
    const stopping = core.stop();
    await ports.clock.advance(10);
    await stopping;
    const again = new ReplicaCore(ports, { replicaId: 'r1' });
    await again.start();
    await ports.clock.advance(1);
    expect(again.round.lastCommitted()).toEqual({ epoch: 1, round: 1 });
    const got = again.handle('get', { key: 'c.n' });
    await ports.clock.advance(1);
    expect(await got).toMatchObject({ ok: true, value: 4 });
  });

  it('replica lifecycle - no snapshot when more than the cut is applied', async () => {
    const { core, send, ports } = await startedCore();
    await send('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
    const taking = core.takeSnapshot(1, 1, {});
    await ports.clock.advance(10);
    expect(await taking).toBeUndefined();
    expect(ports.store.snapshot).toBeUndefined();
  });

  it('replica lifecycle - covered events are truncated only once the round lets writes go', async () => {
    const { core, send, ports } = await startedCore();
    await send('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
    core.setMode('Sync');
    core.setMode('Ready');
    const taking = core.takeSnapshot(1, 1, core.applied());
    await ports.clock.advance(100);
    await taking;
    expect(ports.store.events).toHaveLength(1);
    core.setMode('Work');
    await ports.clock.advance(100);
    expect(ports.store.events).toHaveLength(0);
  });

  it('replica lifecycle - an empty disk joins from the cluster snapshot', async () => {
    const ports = memoryPorts();
    ports.snapshots.latest = { epoch: 2, round: 5, cut: { r9: 3 }, streamSeq: 0, keys: [] };
    const { core } = await startedCore({}, ports);
    expect(core.replicaId).toBe('r-new');
    expect(core.applied()).toEqual({ r9: 3 });
    expect(core.round.lastCommitted()).toEqual({ epoch: 2, round: 5 });
    expect(ports.log.lines.map((l) => l.msg)).toContain('joined from snapshot');
  });

  it('replica lifecycle - a disk of another replica is refused at start', async () => {
    const ports = memoryPorts();
    ports.store.replicaId = 'r2';
    await expect(new ReplicaCore(ports, { replicaId: 'r1' }).start()).rejects.toThrow('belongs to replica r2');
  });

  it('replica lifecycle - the core answers a round command through the table and freezes', async () => {
    const { core, ports } = await startedCore();
    const reply = core.answer('freeze', { epoch: 1, round: 1, leaseMs: 1_000 });
    await ports.clock.advance(10);
    expect(await reply).toMatchObject({ ok: true, replica: 'r1', published: 0 });
    expect(core.currentMode).toBe('Sync');
    await ports.clock.advance(1_100);
    expect(core.currentMode).toBe('Work');
  });
});
