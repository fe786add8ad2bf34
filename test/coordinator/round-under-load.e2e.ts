import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { RoundResult } from '#coordination';
import { sleep } from '../support/cluster';
import { CoordinatedCluster, eventsIn, SetAddLoad } from '../support/coordinated-cluster';
import { IncrementLoad } from '../replica/load';

/**
 * Compaction rounds while clients keep writing on every replica: three replica
 * processes, one coordinator, a counter incremented through every replica and an or-set
 * added to through every replica, and rounds started by `sync` in the middle of it.
 */
describe('round under load', () => {
  const IDS = ['r1', 'r2', 'r3'];
  let cc: CoordinatedCluster;

  beforeAll(async () => {
    // The replicas check the stream's health often (every 50 ms, not 300), as a busy
    // deployment's many checks would: the second test looks at what those checks conclude.
    cc = await CoordinatedCluster.start(IDS, { replicaEnv: { STREAM_CHECK_MS: '50' } });
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => cc?.stop(), 30_000);

  it('round under load - commits while clients write, loses no acknowledged write, gives every replica the same snapshot, truncates op logs and purges the stream', async () => {
    const c = cc.cluster;
    await c.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    await c.ok('create', { key: 'tags', type: 'or-set' }, 'r2');
    await c.converged(IDS);
    const counters = IDS.map((id) => cc.track(new IncrementLoad(c, id, 'hits')));
    const adders = IDS.map((id) => cc.track(new SetAddLoad(c, id, 'tags')));
    const stopLoads = () => Promise.all([...counters, ...adders].map((l) => l.stop()));
    const rounds: RoundResult[] = [];
    let firstSeqBefore = 0;
    try {
      await sleep(1_500);
      const logBefore = await Promise.all(IDS.map((id) => cc.replicaStatus(id)));
      firstSeqBefore = (await cc.streamInfo()).state.first_seq;
      // Three rounds in the middle of the load, a little apart.
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(700);
        rounds.push(await cc.syncCommitted());
      }
      // Right after the rounds the op logs hold only what came after the last cut, far
      // less than before the first round (the load writes a few hundred events a second).
      const logAfter = await Promise.all(IDS.map((id) => cc.replicaStatus(id)));
      for (let i = 0; i < IDS.length; i++) {
        expect(logAfter[i].opLogLength as number).toBeLessThan(logBefore[i].opLogLength as number);
      }
      await sleep(500);
    } finally {
      await stopLoads();
    }
    const last = rounds[rounds.length - 1];
    const statuses = await c.converged(IDS);

    // No acknowledged write lost, nothing counted twice, the same value everywhere.
    const acked = counters.reduce((a, l) => a + l.acked, 0);
    const attempted = counters.reduce((a, l) => a + l.attempted, 0);
    const values = await Promise.all(IDS.map((id) => c.ok('get', { key: 'hits' }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    expect(values[0].value as number).toBeGreaterThanOrEqual(acked);
    expect(values[0].value as number).toBeLessThanOrEqual(attempted);
    const sets = await Promise.all(IDS.map((id) => c.ok('get', { key: 'tags' }, id)));
    const members = new Set(sets[0].value as string[]);
    for (const s of sets) expect([...(s.value as string[])].sort()).toEqual([...members].sort());
    for (const a of adders) for (const v of a.acked) expect(members.has(v)).toBe(true);

    // Writes held during the freezes were answered afterwards: none came back FROZEN (or
    // with any other error), and the writes went on between rounds.
    for (const l of [...counters, ...adders]) expect(Object.fromEntries(l.errors)).toEqual({});
    expect(acked).toBeGreaterThan(100);

    // Every replica committed the last round and holds the same snapshot of it.
    for (const s of statuses) expect(s.lastRound).toEqual({ epoch: last.epoch, round: last.round });
    for (const key of ['hits', 'tags']) {
      const snaps = await cc.beforeSync(IDS, key);
      for (const s of snaps) {
        expect(s.ok).toBe(true);
        expect(s.round).toEqual({ epoch: last.epoch, round: last.round });
        expect(s.value).toEqual(snaps[0].value);
      }
    }
    // The snapshot plus the history since the round gives today's value: the snapshot is
    // exactly the state at the cut and the op log exactly what came after it.
    const snapHits = (await cc.beforeSync(['r1'], 'hits'))[0].value as number;
    const history = await c.ok('history', { key: 'hits' }, 'r1');
    if (history.truncated !== true) {
      const since = (history.events as { ops: { by?: number }[] }[]).reduce((a, e) => a + e.ops.reduce((b, op) => b + (op.by ?? 1), 0), 0);
      expect(snapHits + since).toBe(values[0].value);
    }

    // The op log holds exactly the events after the last cut (both keys, every origin).
    const afterCut = eventsIn(statuses[0].applied) - eventsIn(last.cut);
    for (const s of statuses) expect(s.opLogLength).toBe(afterCut);
    expect(afterCut).toBeLessThan(eventsIn(last.cut));

    // The stream was purged up to the last round's cut.
    const info = await cc.streamInfo();
    expect(last.keepFromSeq).toBeGreaterThan(1);
    expect(info.state.first_seq).toBe(last.keepFromSeq);
    expect(info.state.first_seq).toBeGreaterThan(firstSeqBefore);

    // The figures: freeze time per round.
    for (const r of rounds) {
      expect(r.timings.writesHeldMs).toBeGreaterThan(0);
      expect(r.timings.writesHeldMs).toBeLessThan(2_000);
    }
    const status = await cc.coordinatorStatus();
    expect(status.freeze.committedRounds).toBe(rounds.length);
    process.stdout.write(
      `round under load: acked ${acked}/${attempted} increments, ${adders.reduce((a, l) => a + l.acked.size, 0)} set adds; ` +
        `writesHeldMs per round ${JSON.stringify(rounds.map((r) => r.timings.writesHeldMs))}; timings ${JSON.stringify(rounds.map((r) => r.timings))}; ` +
        `op log after ${afterCut} vs cut ${eventsIn(last.cut)}; stream first_seq ${firstSeqBefore} -> ${info.state.first_seq}\n`,
    );
  }, 60_000);

  /**
   * A healthy cluster under load never takes the healing paths meant for lost streams and
   * missed rounds. Regression for a race fixed in 38eee86: the replica's stream watcher
   * (`checkStream` in apps/replica/src/nats/jetstream-op-stream.ts) read its consumed
   * position after awaiting the stream info, so under writes it saw the stream "shorter"
   * by a message or two, called `streamReset`, and republished every own event since the
   * last round as new messages (stored again: their ids carry a republish tag). Rounds run
   * every ~250 ms here, so a watcher that mistook a purge for "purged past me" would
   * re-join: also checked.
   */
  it('round under load - frequent rounds: no replica resets its stream or re-joins, and the stream holds each event once', async () => {
    const c = cc.cluster;
    const since = new Map(IDS.map((id) => [id, c.replicas.get(id)!.lineCount()]));
    const counters = IDS.map((id) => cc.track(new IncrementLoad(c, id, 'hits')));
    const rounds: RoundResult[] = [];
    try {
      const endAt = Date.now() + 3_000;
      while (Date.now() < endAt) {
        await sleep(250);
        rounds.push(await cc.syncCommitted());
      }
      // Writes after the last round: what the stream holds then is checked for copies.
      await sleep(1_000);
    } finally {
      await Promise.all(counters.map((l) => l.stop()));
    }
    const round = rounds[rounds.length - 1];
    const statuses = await c.converged(IDS);
    const written = eventsIn(statuses[0].applied) - eventsIn(round.cut);
    const stored = await cc.streamEvents(round.keepFromSeq!);
    const alarms = IDS.flatMap((id) =>
      c.replicas
        .get(id)!
        .logs()
        .slice(since.get(id)!)
        .filter((l) => ['op stream came back shorter than what this replica consumed', 'stream reset: republishing own events since the last round', 're-joining from the cluster snapshot'].some((m) => l.includes(`"msg":"${m}"`)))
        .map((l) => `${id}: ${l.slice(0, 200)}`),
    );
    process.stdout.write(
      `frequent rounds under load: ${rounds.length} rounds, writesHeldMs ${JSON.stringify(rounds.map((r) => r.timings.writesHeldMs))}; ` +
        `${written} events after the last cut, stored as ${stored.events} events in ${stored.messages} messages (${stored.copies} copies); resets/re-joins: ${alarms.length}\n`,
    );
    expect(alarms).toEqual([]);
    expect(stored.copies).toBe(0);
    expect(stored.events).toBe(written);
    const values = await Promise.all(IDS.map((id) => c.ok('get', { key: 'hits' }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    for (const l of counters) expect(Object.fromEntries(l.errors)).toEqual({});
  }, 60_000);
});
