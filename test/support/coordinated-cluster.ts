import { jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { RoundEvent, RoundResult, StatusReply } from '#coordination';
import { subjectsFor } from '#protocol';
import { decodeEventBatch } from '#replication';
import { requestJson, type AppHandle } from '#testing';
import { sleep, TestCluster, type Reply } from './cluster';

/**
 * A `TestCluster` (real nats-server, replica processes on real SQLite files) plus real
 * coordinator processes, the round events they publish, and the probes the round tests
 * need: sync, coordinator status, replica modes, snapshot values and the stream's extent.
 *
 * Rounds run only when a test asks (`ROUND_INTERVAL_MS=0`, no op-log threshold), so
 * every round a test sees is one it started.
 */

const SUBJECTS = subjectsFor('crdt');
/** The op stream the coordinator purges (the replicas' default `CRDT_STREAM`). */
export const STREAM_NAME = 'CRDT_OPS';
/** Round events kept in memory per cluster; a test run sees a few hundred at most. */
const EVENTS_MAX = 10_000;

/** The reply to `crdt.coordinator.sync`: the round's result, `ok: false` with a code when it aborted. */
export type SyncReply = { ok: boolean; error?: { code: string; message: string }; result?: RoundResult };

/** A round event with the test-side time it arrived. */
export type SeenEvent = RoundEvent & { readonly seenAtMs: number };

/** Options of `CoordinatedCluster.start`. */
export interface CoordinatedClusterOptions {
  /** Environment of every replica process (on top of the TestCluster defaults). */
  readonly replicaEnv?: Record<string, string>;
  /** Environment of every coordinator process (on top of the defaults below). */
  readonly coordinatorEnv?: Record<string, string>;
}

/** Coordinator settings for tests: no scheduled or threshold rounds, quick elections. */
const COORDINATOR_ENV_DEFAULT: Record<string, string> = {
  ROUND_INTERVAL_MS: '0',
  ROUND_OPLOG_THRESHOLD: '0',
  LEASE_MS: '1500',
};

/** A cluster of replica and coordinator processes on one real nats-server. */
export class CoordinatedCluster {
  /** Every round event seen, oldest first. */
  readonly events: SeenEvent[] = [];
  private readonly eventWaiters = new Set<{ since: number; match: (e: SeenEvent) => boolean; resolve: (e: SeenEvent) => void }>();
  private readonly sub: Subscription;
  /** Client loads started through `track`, stopped by `stopLoads` (and `stop`). */
  private readonly loads = new Set<{ stop(): Promise<void> }>();

  private constructor(
    readonly cluster: TestCluster,
    private readonly coordinatorEnv: Record<string, string>,
  ) {
    // Subscribed before any coordinator starts, so no event of any round is missed; the
    // callback runs as the event arrives, so a waiter can act (signal a process) at once.
    this.sub = cluster.nc.subscribe(SUBJECTS.roundEvents, {
      callback: (err, msg) => {
        if (err) return;
        let e: SeenEvent;
        try {
          e = { ...(JSON.parse(msg.string()) as RoundEvent), seenAtMs: Date.now() };
        } catch {
          return;
        }
        this.events.push(e);
        if (this.events.length > EVENTS_MAX) this.events.shift();
        const index = this.events.length - 1;
        for (const w of this.eventWaiters) {
          if (index >= w.since && w.match(e)) {
            this.eventWaiters.delete(w);
            w.resolve(e);
          }
        }
      },
    });
  }

  /** Starts nats-server and the replicas (each ready in Work); coordinators are started by the test. */
  static async start(replicaIds: readonly string[], opts: CoordinatedClusterOptions = {}): Promise<CoordinatedCluster> {
    const cluster = await TestCluster.start(replicaIds, opts.replicaEnv);
    const cc = new CoordinatedCluster(cluster, { ...COORDINATOR_ENV_DEFAULT, ...opts.coordinatorEnv });
    await cluster.nc.flush();
    return cc;
  }

  /** The coordinator processes by id (the harness's map). */
  get coordinators(): Map<string, AppHandle> {
    return this.cluster.harness.coordinators;
  }

  /** The replica processes by id (the TestCluster's map). */
  get replicas(): Map<string, AppHandle> {
    return this.cluster.replicas;
  }

  /** The replica process `id` (throws when it was never started). */
  replica(id: string): AppHandle {
    const r = this.cluster.replicas.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  /**
   * Starts (or restarts on its data dir) replica `id` without waiting for it to be ready,
   * as `TestCluster.startReplica` would start it: for tests that act on a replica in the
   * middle of its start.
   */
  spawnReplica(id: string): AppHandle {
    return this.cluster.harness.spawnReplica(id);
  }

  /** Starts a coordinator process and waits for its `ready` line. */
  startCoordinator(id: string, extraEnv: Record<string, string> = {}): Promise<AppHandle> {
    return this.cluster.harness.startCoordinator(id, { ...this.coordinatorEnv, ...extraEnv });
  }

  /**
   * Waits until coordinator `id` leads and has finished taking over (it resumed every
   * live member under its epoch), so a `sync` reaches it and runs at once.
   */
  async waitForLeader(id: string, timeoutMs = 20_000): Promise<{ epoch: number; leaderAtMs: number }> {
    const app = this.coordinators.get(id);
    if (!app) throw new Error(`no coordinator ${id}`);
    const elected = await app.waitForLog((l) => l.msg === 'leader', timeoutMs);
    await app.waitForLog((l) => l.msg === 'new term: members resumed', timeoutMs);
    return { epoch: elected.epoch as number, leaderAtMs: Date.parse(String(elected.t)) };
  }

  /** Runs a round now through whichever coordinator leads. */
  sync(timeoutMs = 30_000): Promise<SyncReply> {
    return requestJson<SyncReply>(this.cluster.nc, SUBJECTS.coordinator('sync'), {}, timeoutMs);
  }

  /** Runs a round and fails the test unless it committed; returns the result. */
  async syncCommitted(timeoutMs = 30_000): Promise<RoundResult> {
    const r = await this.sync(timeoutMs);
    if (!r.ok || r.result?.outcome !== 'committed') throw new Error(`round did not commit: ${JSON.stringify(r).slice(0, 2_000)}`);
    return r.result;
  }

  /** `crdt.coordinator.status` as the first coordinator to answer sees it. */
  coordinatorStatus(timeoutMs = 5_000): Promise<StatusReply> {
    return requestJson<StatusReply>(this.cluster.nc, SUBJECTS.coordinator('status'), {}, timeoutMs);
  }

  /** Index of the next event to arrive: pass as `since` to wait only for later events. */
  eventMark(): number {
    return this.events.length;
  }

  /**
   * Resolves with the first event at or after index `since` for which `match` holds.
   * The resolution runs in the subscription's callback turn, so a test that signals a
   * process right after `await` acts within a millisecond of the event's arrival.
   */
  waitForEvent(match: (e: SeenEvent) => boolean, timeoutMs: number, since = 0): Promise<SeenEvent> {
    const seen = this.events.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<SeenEvent>((resolve, reject) => {
      const w = {
        since,
        match,
        resolve: (e: SeenEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.eventWaiters.delete(w);
        reject(new Error(`no matching round event within ${timeoutMs} ms; events since #${since}: ${JSON.stringify(this.events.slice(since).map((x) => `${x.epoch}/${x.round} ${x.phase}`))}`));
      }, timeoutMs);
      this.eventWaiters.add(w);
    });
  }

  /** A replica's `status` reply (throws when it does not answer in time). */
  async replicaStatus(id: string, timeoutMs = 2_000): Promise<Reply> {
    const s = await this.cluster.request('status', {}, id, timeoutMs);
    if (!s.ok) throw new Error(`status of ${id} failed: ${JSON.stringify(s.error)}`);
    return s;
  }

  /** Polls replica `id` until its mode is one of `modes`; resolves with the time it was seen. */
  async waitForMode(id: string, modes: readonly string[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const s = await this.replicaStatus(id, 1_000).catch(() => undefined);
      last = String(s?.mode);
      if (s && modes.includes(last)) return Date.now();
      await sleep(25);
    }
    throw new Error(`replica ${id} did not reach mode ${modes.join('|')} within ${timeoutMs} ms (last: ${last})`);
  }

  /**
   * Waits until replica `id` has answered a round's freeze: it is in Sync with an empty
   * outbox (a freeze replies once its outbox has drained), and one more status round trip
   * has gone through it, so the reply it queued before that status reply has left too.
   * Then pausing it no longer holds the freeze phase.
   */
  async waitFrozen(id: string, timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Reply | undefined;
    while (Date.now() < deadline) {
      last = await this.replicaStatus(id, 1_000).catch(() => undefined);
      if (last && last.mode === 'Sync' && last.outboxDepth === 0) {
        await this.replicaStatus(id, 1_000);
        return;
      }
      await sleep(10);
    }
    throw new Error(`replica ${id} was not frozen with an empty outbox within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
  }

  /**
   * Waits until replica `id` has logged that it committed round `id` and a status round
   * trip has gone through it: the commit reply it queued right after that line has left.
   */
  async waitCommitted(id: string, round: { epoch: number; round: number }, timeoutMs = 2_000): Promise<void> {
    await this.replica(id).waitForLog((l) => l.msg === 'round committed' && l.epoch === round.epoch && l.round === round.round, timeoutMs);
    await this.replicaStatus(id, 1_000);
  }

  /** Polls until every named replica is in Work; resolves with the time the last one was seen there. */
  async waitAllWork(ids: readonly string[], timeoutMs: number): Promise<number> {
    const times = await Promise.all(ids.map((id) => this.waitForMode(id, ['Work'], timeoutMs)));
    return Math.max(...times);
  }

  /**
   * Waits until the named replicas have converged (same applied vector, nothing pending),
   * are all in Work, and all hold the same last committed round: nobody is behind a round
   * or in the middle of re-joining. Resolves with their statuses.
   */
  async settled(ids: readonly string[], timeoutMs = 20_000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    let last: Reply[] = [];
    while (Date.now() < deadline) {
      last = await this.cluster.converged(ids, Math.max(1_000, deadline - Date.now()));
      const rounds = last.map((s) => JSON.stringify(s.lastRound));
      if (last.every((s) => s.mode === 'Work') && rounds.every((r) => r === rounds[0])) return last;
      await sleep(100);
    }
    throw new Error(`replicas did not settle on one round within ${timeoutMs} ms: ${JSON.stringify(last.map((s) => ({ replica: s.replica, mode: s.mode, lastRound: s.lastRound })))}`);
  }

  /**
   * Polls until the leader's membership is exactly `ids`, each in Work as its latest
   * heartbeat says (a round refuses to start while the leader sees a member catching up).
   */
  async waitForMembers(ids: readonly string[], timeoutMs = 15_000): Promise<void> {
    const want = [...ids].sort().join(',');
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const s = await this.coordinatorStatus(1_000).catch(() => undefined);
      last = s ? s.members.map((m) => `${m.replica}:${m.mode}`).sort().join(',') : '(no status)';
      if (s && s.isLeader && s.members.map((m) => m.replica).sort().join(',') === want && s.members.every((m) => m.mode === 'Work')) return;
      await sleep(100);
    }
    throw new Error(`coordinator members did not become ${want}, all in Work, within ${timeoutMs} ms (last: ${last})`);
  }

  /** Every named replica's `before-sync` value of `key` (the value at its last committed round). */
  async beforeSync(ids: readonly string[], key: string): Promise<Reply[]> {
    return Promise.all(ids.map((id) => this.cluster.request('before-sync', { key }, id)));
  }

  /** The op stream's current extent (first and last sequence, messages). */
  async streamInfo(): Promise<StreamInfo> {
    const jsm = await jetstreamManager(this.cluster.nc);
    return jsm.streams.info(STREAM_NAME);
  }

  /**
   * Reads the stream's messages from `fromSeq` to its end and counts the events in them:
   * `copies` is how many were stored more than once (the same origin and seq).
   */
  async streamEvents(fromSeq: number): Promise<{ messages: number; events: number; copies: number }> {
    const jsm = await jetstreamManager(this.cluster.nc);
    const last = (await jsm.streams.info(STREAM_NAME)).state.last_seq;
    const seen = new Set<string>();
    let messages = 0;
    let events = 0;
    for (let seq = fromSeq; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(STREAM_NAME, { seq }).catch(() => null);
      if (!m) continue;
      messages++;
      const batch = decodeEventBatch(m.data);
      if (!batch) throw new Error(`stream message ${seq} is not an event batch`);
      for (const e of batch.events) {
        events++;
        seen.add(`${e.origin}#${e.seq}`);
      }
    }
    return { messages, events, copies: events - seen.size };
  }

  /** Lines of a replica's or coordinator's log that are JSON with the given `msg`. */
  static logsWithMsg(app: AppHandle, msg: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of app.logs()) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a partial line; not ours
      }
    }
    return out;
  }

  /** Registers a client load so that a failing test cannot leave it running. */
  track<T extends { stop(): Promise<void> }>(load: T): T {
    this.loads.add(load);
    return load;
  }

  /**
   * Cleanup after each test: stops every tracked load still running (a test that failed
   * half-way never got to stop its own) and continues every paused replica.
   */
  async afterEachTest(): Promise<void> {
    for (const r of this.cluster.replicas.values()) r.resume();
    const loads = [...this.loads];
    this.loads.clear();
    await Promise.all(loads.map((l) => l.stop()));
  }

  /** Kills every coordinator, then stops the replicas and the server (logs stay under `cluster.dir`). */
  async stop(): Promise<void> {
    for (const w of this.eventWaiters) this.eventWaiters.delete(w);
    this.sub.unsubscribe();
    await this.afterEachTest();
    // Coordinators first, so none runs a round against replicas that are going away.
    await Promise.all([...this.coordinators.values()].map((c) => c.stop(3_000).catch(() => undefined)));
    await this.cluster.stop();
  }
}

/**
 * A client that adds distinct elements to an or-set through one replica until stopped,
 * remembering which adds were acknowledged: every one of them must be in the final set.
 */
export class SetAddLoad {
  readonly acked = new Set<string>();
  attempted = 0;
  readonly errors = new Map<string, number>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: TestCluster,
    readonly replica: string,
    readonly key: string,
    private readonly pauseMs = 10,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const value = `${this.replica}-${i}`;
      this.attempted++;
      try {
        const r = await this.cluster.request('update', { key: this.key, type: 'or-set', op: { type: 'add', value } }, this.replica, 2_000);
        if (r.ok) this.acked.add(value);
        else this.errors.set(r.error!.code, (this.errors.get(r.error!.code) ?? 0) + 1);
      } catch {
        // No reply: the add may or may not have landed; it is not acknowledged.
        this.errors.set('NO_REPLY', (this.errors.get('NO_REPLY') ?? 0) + 1);
        await sleep(50);
      }
      if (this.pauseMs) await sleep(this.pauseMs);
    }
  }

  /** Stops and waits for the last request to end. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** Sum of a version vector's entries: the number of events it covers. */
export function eventsIn(vv: unknown): number {
  if (!vv || typeof vv !== 'object') return 0;
  return Object.values(vv as Record<string, number>).reduce((a, n) => a + n, 0);
}
