import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { checkLinearizable, ClusterHarness, connectClient, startNatsCluster, waitForJetStream, registerModel, revisionsReadIn, type HarnessReply, type RegisterInput, type RegisterOp, type RegisterOutput } from '#testing';
import { sleep, TestCluster } from '../support/cluster';

/**
 * Strong consistency where a client asks for it (issue 10, item 2), against real
 * nats-servers and real replica processes: compare-and-sets race over three replicas, and
 * a register's history under concurrent clients with the nats-server SIGKILLed and
 * restarted mid-run passes the linearizability checker of libs/testing. The premise test
 * records what nats-server 2.9.10 does on a replicated stream (the reason strong requests
 * are STRONG_UNAVAILABLE there): it fails today, and turns red the day the server is fixed.
 */

type Reply = HarnessReply & { revision?: number; value?: unknown };

describe('strong consistency', () => {
  // Strong writes rest on these two server behaviours (docs/design.md, "Strong consistency"); a replicated stream of nats-server 2.9.10 has neither.
  test.failing('strong - premise: a three-node JetStream stores at most one of concurrent publishes expecting one last subject sequence, and a retry of a stored one is its duplicate', async () => {
    const nats = await startNatsCluster(3, { name: 'strong-premise' });
    const nc = await connectClient(nats.url);
    try {
      expect(await waitForJetStream(nc, 30_000)).toBe(true);
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'PREMISE', subjects: ['premise.>'], num_replicas: 3 });
      const js = jetstream(nc);
      let last = (await js.publish('premise.k', 'init')).seq;
      const stored: number[] = [];
      let lastRoundFrom = last;
      for (let round = 0; round < 5; round++) {
        lastRoundFrom = last;
        const res = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => js.publish('premise.k', `v${round}-${i}`, { msgID: `m${round}-${i}`, expect: { lastSubjectSequence: last } })));
        stored.push(res.filter((r) => r.status === 'fulfilled').length);
        last = (await jsm.streams.getMessage('PREMISE', { last_by_subj: 'premise.k' }))!.seq;
      }
      // The same message again, with the same expectation: as after a lost ack.
      const retry = await js.publish('premise.k', 'v4-0', { msgID: 'm4-0', expect: { lastSubjectSequence: lastRoundFrom } }).then((a) => `stored ${a.seq} duplicate ${a.duplicate}`, (e: Error) => `refused: ${e.message}`);
      console.log(`premise: stored per round of 6 concurrent conditional publishes: ${JSON.stringify(stored)}; retry of a stored message: ${retry}`);
      expect(stored.every((n) => n === 1)).toBe(true);
      expect(retry).toMatch(/duplicate true/);
    } finally {
      await nc.close();
      await nats.dispose();
    }
  }, 60_000);

  it('strong - on a replicated op stream a replica refuses strong writes and linearizable reads with STRONG_UNAVAILABLE, and takes eventual writes', async () => {
    const harness = await ClusterHarness.start({ natsNodes: 3, name: 'strong-r3', replicaEnv: { CRDT_STREAM_REPLICAS: '3' } });
    try {
      await harness.startReplica('r1', {}, 60_000);
      const strong = (await harness.request('r1', 'update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' })) as Reply;
      expect(strong).toMatchObject({ ok: false, error: { code: 'STRONG_UNAVAILABLE' } });
      expect(strong.error?.message).toMatch(/3 JetStream replicas/);
      expect(await harness.request('r1', 'get', { key: 'reg', consistency: 'linearizable' })).toMatchObject({ ok: false, error: { code: 'STRONG_UNAVAILABLE' } });
      expect(await harness.request('r1', 'update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'b' } })).toMatchObject({ ok: true });
    } finally {
      await harness.dispose();
    }
  }, 60_000);

  it('strong - of concurrent compare-and-sets from one revision over three replicas exactly one wins, the others get CONFLICT with its revision', async () => {
    const cluster = await TestCluster.start(['r1', 'r2', 'r3'], {}, 60_000);
    try {
      const first = (await cluster.ok('update', { key: 'race', type: 'lww-register', op: { type: 'set', value: 'start' }, consistency: 'strong' }, 'r1')) as Reply;
      const from = first.revision!;
      expect(from).toBeGreaterThan(0);
      const n = 24;
      const replies = (await Promise.all(
        Array.from({ length: n }, (_, i) =>
          cluster.request('update', { key: 'race', op: { type: 'set', value: `w${i}` }, consistency: 'strong', expect: from, timeoutMs: 10_000 }, `r${(i % 3) + 1}`, 15_000),
        ),
      )) as Reply[];
      const winners = replies.map((r, i) => ({ r, i })).filter(({ r }) => r.ok);
      const losers = replies.filter((r) => !r.ok);
      console.log(`compare-and-set race: ${n} from revision ${from} over r1..r3: ${winners.length} won (w${winners[0]?.i} at revision ${winners[0]?.r.revision}), ${losers.filter((r) => r.error?.code === 'CONFLICT').length} CONFLICT, other: ${JSON.stringify(losers.filter((r) => r.error?.code !== 'CONFLICT').map((r) => r.error))}`);
      expect(winners).toHaveLength(1);
      const won = winners[0].r.revision!;
      expect(won).toBeGreaterThan(from);
      for (const r of losers) expect(r).toMatchObject({ ok: false, error: { code: 'CONFLICT' }, revision: won });
      // Every replica reads the winner linearizably, at its revision.
      for (const id of ['r1', 'r2', 'r3']) {
        expect(await cluster.ok('get', { key: 'race', consistency: 'linearizable' }, id)).toMatchObject({ value: `w${winners[0].i}`, revision: won });
      }
      // Types that merge are refused with a stable code.
      await cluster.ok('update', { key: 'count', type: 'pn-counter', op: { type: 'increment' } }, 'r2');
      expect(await cluster.request('update', { key: 'count', op: { type: 'increment' }, consistency: 'strong' }, 'r2')).toMatchObject({ ok: false, error: { code: 'STRONG_UNSUPPORTED' } });
      await cluster.converged(['r1', 'r2', 'r3']);
    } finally {
      await cluster.stop();
    }
  }, 180_000);

  it('strong - a register\'s history under concurrent clients on three replicas, with the nats-server SIGKILLed and restarted mid-run, is linearizable', async () => {
    const harness = await ClusterHarness.start({ natsNodes: 1, name: 'strong-lin', replicaEnv: { STREAM_CHECK_MS: '300' }, client: { maxReconnectAttempts: -1, reconnectTimeWait: 100 } });
    const ids = ['r1', 'r2', 'r3'];
    try {
      await Promise.all(ids.map((id) => harness.startReplica(id, {}, 90_000)));
      const key = 'lin';
      const history: RegisterOp[] = [];
      const runMs = 10_000;
      const killAtMs = 3_000;
      const downMs = 1_500;
      const clients = 5;
      const start = performance.now();
      const killer = (async () => {
        await sleep(killAtMs);
        // A crash of the one server (file store): what it acknowledged is on its disk, what was in flight is unknown.
        await harness.nats.nodes[0].kill();
        await sleep(downMs);
        await harness.nats.nodes[0].restart();
      })();

      const one = async (client: number, i: number): Promise<void> => {
        const replica = ids[(client + i) % ids.length];
        const roll = (client * 7 + i * 13) % 10;
        const lastRead = [...history].reverse().find((h) => h.client === client && h.output !== undefined);
        const expectRev = lastRead?.output?.revision ?? 0;
        const value = `c${client}-${i}`;
        const input: RegisterInput = roll < 4 ? { op: 'read' } : roll < 8 ? { op: 'cas', expect: expectRev, value } : { op: 'write', value };
        const body =
          input.op === 'read'
            ? { key, consistency: 'linearizable', timeoutMs: 3_000 }
            : { key, type: 'lww-register', op: { type: 'set', value }, consistency: 'strong', timeoutMs: 3_000, ...(input.op === 'cas' ? { expect: input.expect } : {}) };
        const callMs = performance.now();
        let reply: Reply | undefined;
        try {
          reply = (await harness.request(replica, input.op === 'read' ? 'get' : 'update', body, 5_000)) as Reply;
        } catch {
          reply = undefined; // no answer: a write's outcome is unknown, a read tells nothing
        }
        const returnMs = performance.now();
        const output = outputOf(input, reply);
        if (output === 'none') return;
        history.push({ client, input, output, callMs, returnMs: output === undefined ? Infinity : returnMs });
      };

      await Promise.all(
        Array.from({ length: clients }, async (_, client) => {
          for (let i = 0; performance.now() - start < runMs; i++) await one(client, i);
        }),
      );
      await killer;
      const counts = {
        operations: history.length,
        reads: history.filter((h) => h.output?.kind === 'read').length,
        stored: history.filter((h) => h.output?.kind === 'stored').length,
        conflicts: history.filter((h) => h.output?.kind === 'conflict').length,
        unknown: history.filter((h) => h.output === undefined).length,
        afterKill: history.filter((h) => h.callMs - start > killAtMs).length,
      };
      const verdict = checkLinearizable(registerModel(revisionsReadIn(history)), history);
      // Kept with the logs (the harness keeps its log dir), for a failed verdict to be read.
      writeFileSync(join(harness.logDir, 'history.json'), JSON.stringify(history.map((h) => ({ ...h, returnMs: h.returnMs === Infinity ? null : h.returnMs }))));
      console.log(`linearizability: the nats-server SIGKILLed at ${killAtMs} ms, restarted ${downMs} ms later; history ${JSON.stringify(counts)}; verdict ${JSON.stringify(verdict)}`);
      expect(verdict).toEqual({ ok: true, operations: history.length });
      // The check had something to check, on both sides of the kill.
      expect(counts.stored).toBeGreaterThanOrEqual(20);
      expect(counts.reads).toBeGreaterThanOrEqual(20);
      expect(counts.afterKill).toBeGreaterThanOrEqual(20);
      expect(history.some((h) => h.output?.kind === 'stored' && h.callMs - start > killAtMs + downMs)).toBe(true);
    } finally {
      await harness.dispose('logs');
    }
  }, 60_000);
});

/**
 * What a reply tells the checker: an output, `undefined` for a write whose outcome is
 * unknown (no reply, or TIMEOUT), or 'none' for an operation that certainly did nothing
 * (a failed read, a write refused before it reached the stream).
 */
function outputOf(input: RegisterInput, reply: Reply | undefined): RegisterOutput | undefined | 'none' {
  if (input.op === 'read') {
    if (!reply?.ok) return 'none';
    return { kind: 'read', value: (reply.value ?? null) as string | null, revision: reply.revision! };
  }
  if (!reply) return undefined;
  if (reply.ok) return { kind: 'stored', revision: reply.revision! };
  const code = reply.error?.code;
  if (code === 'TIMEOUT' || code === 'INTERNAL') return undefined;
  if (code === 'CONFLICT' && input.op === 'cas') return { kind: 'conflict', revision: reply.revision! };
  // A blind write's CONFLICT (it kept losing), NOT_CAUGHT_UP, UNAVAILABLE, OVERLOADED: nothing was applied.
  return 'none';
}
