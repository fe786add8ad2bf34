import {
  CausalBuffer,
  canonicalJson,
  HybridLogicalClock,
  vvCompare,
  vvGet,
  vvLeq,
  type Json,
  type VersionVector,
} from '#crdt';
import {
  errorReply,
  parseCreate,
  parseGet,
  parseKeyOnly,
  parseKeys,
  parseUpdate,
  type ErrorReply,
  type GetRequest,
  type UpdateRequest,
} from '#protocol';
import { chooseHolder, PeerResend } from './anti-entropy';
import { BoundedWaits } from './bounded-waits';
import { decodeToken, encodeToken } from './causal-token';
import { GroupCommit } from './group-commit';
import { KeySpace } from './key-space';
import { Outbox } from './outbox';
import { PeerView } from './peer-view';
import type {
  ClockPort,
  Heartbeat,
  LogPort,
  NoticePort,
  OpStreamPort,
  ReplicaMode,
  SnapshotRecord,
  SnapshotSourcePort,
  StorePort,
} from './ports';
import { DEFAULT_REPLICA_LIMITS, type ReplicaLimits } from './replica-config';
import { EVENT_VERSION, type EventBatch, type ReplicatedEvent } from './replicated-event';
import { compareRounds, RoundParticipant } from './round-participant';

/** Every port a replica core needs. */
export interface ReplicaPorts {
  readonly store: StorePort;
  readonly stream: OpStreamPort;
  readonly notices: NoticePort;
  readonly snapshots: SnapshotSourcePort;
  readonly clock: ClockPort;
  readonly log: LogPort;
  /** A fresh random replica id (randomness through a port). */
  readonly newReplicaId: () => string;
  /** Called when the core cannot go on safely (a failed commit): production exits and recovers from disk. */
  readonly onFatal: (err: unknown) => void;
}

/** A reply, exactly as sent on the wire. */
export type Reply = Json | ErrorReply;

/** Options of a replica core. */
export interface ReplicaOptions {
  /** A configured id; when absent the one on disk, else a new random one. */
  readonly replicaId?: string;
  readonly limits?: Partial<ReplicaLimits>;
}

interface HeldWrite {
  readonly run: () => Promise<Reply>;
  readonly resolve: (r: Reply) => void;
  readonly cancel: () => void;
}

/**
 * The replica core: pure replication logic behind ports. It turns client writes into
 * events (prepare at the origin, apply everywhere), applies remote events in causal order
 * exactly once through the causal buffer, group-commits everything with the consumer
 * position, publishes its own events through the outbox, answers bounded waits for causal
 * tokens and acknowledgements, and takes part in compaction rounds.
 */
export class ReplicaCore {
  readonly keys = new KeySpace();
  readonly limits: ReplicaLimits;
  private id = '';
  private idConfigured = false;
  private mode: ReplicaMode = 'Starting';
  private buffer!: CausalBuffer<ReplicatedEvent>;
  private hlc!: HybridLogicalClock;
  private commits!: GroupCommit;
  private outbox!: Outbox;
  private readonly waits: BoundedWaits;
  private readonly peers: PeerView;
  readonly round: RoundParticipant;
  /** Republishes other origins' events peers ask this replica for (anti-entropy). */
  private readonly peerResend: PeerResend;
  /** Per origin a live peer has applied more of: how far this replica was, since when, and when it last asked. */
  private readonly behindPeers = new Map<string, { seq: number; sinceMs: number; askedMs: number }>();
  /** Last stream sequence processed. */
  private streamSeq = 0;
  /** First stream sequence whose events still wait in the causal buffer (not yet durable as applied). */
  private stuckSince: number | undefined;
  private stuckSinceMs = 0;
  private lastResendMs = 0;
  /** A re-join is under way (the stream adapter, a resume and the missed-round check may all ask for one). */
  private rejoining = false;
  /** First stream message with an event a full causal buffer left behind (read again later). */
  private skippedSince: number | undefined;
  private lastReceiveMs = 0;
  private lastRereadMs = 0;
  /** When the round-agreement check may next act, and its back-off. */
  private roundCheckRetryAtMs = 0;
  private roundCheckBackoffMs = 0;
  private offeringSnapshot = false;
  /** Own events up to this seq were made before a re-join dropped the op log; writes wait until they are back (see `catchUp`). */
  private ownSeqFloor = 0;
  /** The last republish a resend request started: from where, up to which own seq, when. */
  private lastResend: { seq: number; through: number; atMs: number } | undefined;
  /** A re-join is replacing the state: stream messages are dropped until the load (see `rejoin`). */
  private resetting = false;
  /** Bumped by every load (start, re-join); see `catchUp`. */
  private loadGeneration = 0;
  /** The snapshot (epoch/round/streamSeq) the last join read the whole stream after (see `joinPoint`). */
  private readAllJoin: string | undefined;
  /** The cut of the latest snapshot (own events at or below it are never republished). */
  private snapshotCut: VersionVector = {};
  private held: HeldWrite[] = [];
  private stopHeartbeat: (() => void) | undefined;
  private progressBeatQueued = false;
  private lastBeatMs = 0;
  /** Op-log truncation after a round, running in the background (re-join waits for it). */
  private truncation: Promise<void> = Promise.resolve();
  /** The cut to truncate up to once the current round lets writes go. */
  private truncateAfterRound: VersionVector | undefined;
  private stopped = false;

  constructor(
    private readonly ports: ReplicaPorts,
    options: ReplicaOptions = {},
  ) {
    this.limits = { ...DEFAULT_REPLICA_LIMITS, ...options.limits };
    if (options.replicaId !== undefined) {
      this.id = options.replicaId;
      this.idConfigured = true;
    }
    this.waits = new BoundedWaits(ports.clock, this.limits.waitsMax);
    this.peers = new PeerView(() => this.id, this.limits.peerTimeoutMs);
    this.round = new RoundParticipant(this, ports.clock, ports.log);
    this.peerResend = new PeerResend(() => this.id, ports.store, ports.stream, ports.clock, ports.log, {
      eventsPerRequestMax: this.limits.outboxMemoryEventsMax,
      batchEventsMax: this.limits.publishBatchEventsMax,
      perOriginIntervalMs: this.limits.resendAfterMs,
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads the disk state (or joins from the cluster's snapshot) and starts serving. */
  async start(): Promise<void> {
    const { store, log } = this.ports;
    let stored = await store.load();
    if (stored.replicaId && this.idConfigured && stored.replicaId !== this.id) {
      throw new Error(`the data directory belongs to replica ${stored.replicaId}, not ${this.id}; use another directory or the same id`);
    }
    const fresh = !stored.snapshot && stored.events.length === 0 && stored.publishedThrough === 0;
    if (!this.id) this.id = stored.replicaId ?? this.ports.newReplicaId();
    if (!stored.replicaId) await store.saveReplicaId(this.id);

    if (fresh) {
      // An empty disk joins from the cluster's latest snapshot, then replays the stream after it.
      const snap = await this.ports.snapshots.fetchLatest().catch((e) => {
        log.warn('no snapshot fetched; joining from the start of the stream', { error: String(e) });
        return undefined;
      });
      if (snap) {
        const at = await this.joinPoint(snap);
        await store.resetTo(at, at.streamSeq);
        stored = await store.load();
        log.info('joined from snapshot', { epoch: snap.epoch, round: snap.round, keys: snap.keys.length, streamSeq: snap.streamSeq });
      }
    }
    this.loadFrom(stored.snapshot, stored.events, stored.streamSeq, stored.publishedThrough);
    // A crash may have cut the last round's truncation short; finish it in the background.
    if (stored.snapshot) this.truncateCovered(stored.snapshot.cut);
    this.stopHeartbeat = this.every(this.limits.heartbeatMs, () => this.tick());
    // A replica that kept its disk serves at once; one whose id was configured but whose
    // disk is empty must first learn its own last seq from the stream, or it could reuse it.
    // So must one that published own events its disk no longer holds (it crashed while a
    // re-join was replaying them): they come back from the stream before it writes again.
    this.ownSeqFloor = Math.max(this.ownSeqFloor, stored.publishedThrough);
    const ownBack = vvGet(this.buffer.deliveredVector(), this.id) >= this.ownSeqFloor;
    if (!(fresh && this.idConfigured) && ownBack) this.mode = 'Work';
    void this.catchUp();
  }

  private loadFrom(snapshot: SnapshotRecord | undefined, events: readonly ReplicatedEvent[], streamSeq: number, publishedThrough: number): void {
    this.loadGeneration++;
    this.keys.clear();
    const cut = snapshot?.cut ?? {};
    if (snapshot) for (const [k, enc] of snapshot.keys) if (!this.keys.loadKey(k, enc)) throw new Error(`snapshot key ${k} does not decode`);
    this.snapshotCut = { ...cut };
    this.round.restore(snapshot);
    // Own events a re-join kept may all wait here for the replay to bring their causal past
    // (seeds 20025, 20174: more of them than `causalPendingMax` made the load throw). They
    // are in memory already (`events`), so the buffer takes them on top of its usual bound.
    const ownLoaded = events.reduce((n, e) => (e.origin === this.id ? n + 1 : n), 0);
    this.buffer = new CausalBuffer<ReplicatedEvent>({ pendingMax: this.limits.causalPendingMax + ownLoaded }, cut);
    this.hlc = new HybridLogicalClock(() => this.ports.clock.nowMs());
    for (const e of events) {
      const r = this.buffer.offer(e);
      // Every logged event was applied in causal order, except own events a re-join kept
      // (the snapshot lacks them): those may wait here for the replay to bring their past.
      const waits = r.ok && !r.value.includes(e);
      if (!r.ok || (waits && e.origin !== this.id)) throw new Error(`op log is not in causal order at ${e.origin}#${e.seq}`);
      for (const d of r.value) {
        this.keys.apply(d);
        this.hlc.observe(d.time + d.ops.length);
      }
    }
    this.streamSeq = Math.max(streamSeq, snapshot?.streamSeq ?? 0);
    this.stuckSince = undefined;
    this.skippedSince = undefined;
    this.commits = new GroupCommit(this.ports.store, this.ports.clock, this.ports.onFatal, this.limits.eventsPerCommitMax);
    this.outbox?.stop();
    const lastOwn = vvGet(this.buffer.deliveredVector(), this.id);
    this.lastResend = undefined;
    this.outbox = new Outbox(
      this.id,
      this.ports.store,
      this.ports.stream,
      this.ports.clock,
      this.ports.log,
      {
        memoryEventsMax: this.limits.outboxMemoryEventsMax,
        batchEventsMax: this.limits.publishBatchEventsMax,
        batchBytesMax: this.limits.publishBatchBytesMax,
        retryMsMin: this.limits.publishRetryMsMin,
        retryMsMax: this.limits.publishRetryMsMax,
      },
      Math.max(publishedThrough, vvGet(cut, this.id)),
      lastOwn,
      (through) => {
        this.commits.notePublished(through);
        this.waits.poke();
      },
    );
    this.outbox.pump();
    this.ports.stream.consumeFrom((this.stuckSince ?? this.streamSeq + 1));
  }

  /** Waits (bounded, retried) until the consumer has reached the stream's end as of now. */
  private async catchUp(): Promise<void> {
    // A catch-up belongs to one load: one left over from the start (or an earlier re-join)
    // must not declare this load caught up, or own writes would resume before the replay
    // has brought back this replica's own events, and reuse their seqs.
    const generation = this.loadGeneration;
    const current = () => generation === this.loadGeneration && !this.stopped;
    for (let attempt = 0; current(); attempt++) {
      let target: number;
      try {
        target = await this.ports.stream.lastSeq();
      } catch (e) {
        if (this.mode !== 'Starting') return; // serving from disk; the stream will catch up when it returns
        await this.sleep(Math.min(100 * 2 ** attempt, 2_000));
        continue;
      }
      // Own writes resume only once every own event this replica made before a re-join is
      // applied here again (they come back from the stream): a write made before that would
      // reuse the seq of an event other replicas already hold.
      const reached = await this.waits.wait(() => this.streamSeq >= target && vvGet(this.buffer.deliveredVector(), this.id) >= this.ownSeqFloor, 10_000);
      if (!current()) return;
      if (reached || this.mode !== 'Starting') {
        // Through setMode: writes held meanwhile are released and peers hear of it at once.
        if (this.mode === 'Starting') this.setMode('Work');
        this.ports.log.info('caught up with the stream', { streamSeq: this.streamSeq, target });
        return;
      }
    }
  }

  /** Stops timers and the outbox (the adapters close their own connections). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopHeartbeat?.();
    this.outbox?.stop();
    await this.commits?.flushed();
  }

  // ---------------------------------------------------------------- client commands

  /** This replica's id. */
  get replicaId(): string {
    return this.id;
  }

  /** Current mode. */
  get currentMode(): ReplicaMode {
    return this.mode;
  }

  /** Answers one client command. Never throws: every failure is an error reply. */
  async handle(command: string, body: Record<string, unknown>): Promise<Reply> {
    try {
      switch (command) {
        case 'create':
          return await this.guardWrite(() => this.create(body));
        case 'update':
          return await this.guardWrite(() => this.update(body));
        case 'get':
          return await this.get(body);
        case 'keys': {
          const p = parseKeys(body);
          if (!p.ok) return p;
          return { ok: true, ...this.keys.list(p.request.prefix, p.request.limit) };
        }
        case 'history':
          return await this.history(body);
        case 'before-sync':
          return await this.beforeSync(body);
        case 'status':
          return { ok: true, ...this.status() };
        default:
          return errorReply('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command)}; commands: create, update, get, keys, history, before-sync, status`);
      }
    } catch (e) {
      this.ports.log.error('command failed', { command, error: String((e as Error)?.stack ?? e) });
      return errorReply('INTERNAL', `the replica failed to answer: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Runs a write now in Work mode; holds it (bounded in number and time) during a round. */
  private guardWrite(run: () => Promise<Reply>): Promise<Reply> {
    if (this.mode === 'Starting') return Promise.resolve(errorReply('UNAVAILABLE', 'the replica is catching up with the stream; retry shortly'));
    if (this.mode === 'Work') return run();
    if (this.held.length >= this.limits.heldWritesMax) {
      return Promise.resolve(errorReply('OVERLOADED', `a compaction round holds ${this.held.length} writes already; retry shortly`));
    }
    return new Promise<Reply>((resolve) => {
      const h: HeldWrite = {
        run,
        resolve,
        cancel: this.ports.clock.setTimer(this.limits.holdMs, () => {
          this.held = this.held.filter((x) => x !== h);
          resolve(errorReply('FROZEN', `a compaction round held this write for ${this.limits.holdMs} ms; nothing was applied, retry`));
        }),
      };
      this.held.push(h);
    });
  }

  /** Runs writes held during a round, in arrival order (called when the replica returns to Work). */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) {
      h.cancel();
      void h.run().then(h.resolve, (e) => h.resolve(errorReply('INTERNAL', String(e))));
    }
  }

  private async create(body: Record<string, unknown>): Promise<Reply> {
    const p = parseCreate(body);
    if (!p.ok) return p;
    const { key, type } = p.request;
    const parsed = KeySpace.parseCreate(type, p.request.options);
    if (!parsed.ok) return errorReply(parsed.error.code, parsed.error.message);
    const existing = this.keys.get(key);
    if (existing) {
      if (existing.type !== parsed.type) return errorReply('TYPE_MISMATCH', `key ${JSON.stringify(key)} exists as a ${existing.type}`);
      if (canonicalJson(existing.options) !== canonicalJson(parsed.options)) {
        return errorReply('TYPE_MISMATCH', `key ${JSON.stringify(key)} exists as a ${existing.type} with other options`);
      }
      return { ok: true, key, type: existing.type, created: false, token: this.token() };
    }
    const event = this.makeEvent(key, parsed.type, parsed.options, []);
    await this.commitOwn(event);
    return { ok: true, key, type: parsed.type, created: true, token: this.token() };
  }

  private async update(body: Record<string, unknown>): Promise<Reply> {
    const p = parseUpdate(body);
    if (!p.ok) return p;
    const req: UpdateRequest = p.request;
    if (req.after !== undefined) {
      const waited = await this.waitForToken(req.after, req.timeoutMs);
      if (waited) return waited;
      // The wait may have let a round start; re-check the mode before writing.
      if (this.mode !== 'Work') return this.guardWrite(() => this.update({ ...body, after: undefined }));
    }
    const time = this.hlc.now();
    const prepared = this.keys.prepare(req.key, req.type, req.options, req.ops, { replica: this.id, time });
    if (!prepared.ok) return errorReply(prepared.error.code, prepared.error.message);
    // A batch used one HLC reading per op; move the clock past them all.
    this.hlc.observe(time + req.ops.length - 1);
    const w = prepared.value;
    const event = this.makeEvent(req.key, w.type, w.options, w.ops, time);
    await this.commitOwn(event, w.applied);
    // The write's identity (replica, seq) and a token covering it go with every answer,
    // success or TIMEOUT, so a client can follow up with `after` instead of writing twice.
    const written = { key: req.key, type: w.type, replica: this.id, seq: event.seq, token: this.token() };
    if (req.ack === 'local') return { ok: true, ...written };
    const ready = req.ack === 'stream'
      ? () => this.outbox.publishedThrough >= event.seq
      : () => this.outbox.publishedThrough >= event.seq && this.peers.allApplied(this.id, event.seq, this.ports.clock.nowMs());
    const waited = await (this.waits.wait(ready, req.timeoutMs) ?? Promise.resolve(false));
    if (!waited) {
      return {
        ...errorReply('TIMEOUT', `the write is durable on replica ${this.id} (seq ${event.seq}) and will replicate, but ack "${req.ack}" did not come within ${req.timeoutMs} ms; do not resend it, follow up with "after": token`),
        ...written,
      };
    }
    return { ok: true, ...written };
  }

  private async get(body: Record<string, unknown>): Promise<Reply> {
    const p = parseGet(body);
    if (!p.ok) return p;
    const req: GetRequest = p.request;
    if (req.after !== undefined) {
      const waited = await this.waitForToken(req.after, req.timeoutMs);
      if (waited) return waited;
    }
    if (req.consistency === 'latest') {
      let target: number;
      try {
        target = await this.ports.stream.lastSeq();
      } catch (e) {
        return errorReply('TIMEOUT', `the stream did not answer, so "latest" cannot be established: ${String(e)}`);
      }
      const waited = this.waits.wait(() => this.streamSeq >= target && this.stuckSince === undefined, req.timeoutMs);
      if (!waited) return errorReply('OVERLOADED', 'too many requests are waiting');
      if (!(await waited)) return errorReply('NOT_CAUGHT_UP', `the replica did not reach stream position ${target} within ${req.timeoutMs} ms (at ${this.streamSeq})`);
    }
    const v = this.keys.get(req.key);
    if (!v) return errorReply('NOT_FOUND', `key ${JSON.stringify(req.key)} does not exist`);
    return { ok: true, key: req.key, type: v.type, value: v.impl.value(v.state), token: this.token() };
  }

  private async history(body: Record<string, unknown>): Promise<Reply> {
    const p = parseKeyOnly(body);
    if (!p.ok) return p;
    const v = this.keys.get(p.request.key);
    if (!v) return errorReply('NOT_FOUND', `key ${JSON.stringify(p.request.key)} does not exist`);
    await this.commits.flushed();
    const max = this.limits.historyEventsMax;
    const events = await this.ports.store.history(p.request.key, max + 1);
    return {
      ok: true,
      key: p.request.key,
      type: v.type,
      events: events.slice(0, max).map((e) => ({ origin: e.origin, seq: e.seq, time: e.time, type: e.type, ops: e.ops })),
      truncated: events.length > max,
      sinceRound: { ...this.round.lastCommitted() },
    };
  }

  private async beforeSync(body: Record<string, unknown>): Promise<Reply> {
    const p = parseKeyOnly(body);
    if (!p.ok) return p;
    const enc = await this.ports.store.snapshotKey(p.request.key);
    const round = this.round.lastCommitted();
    if (enc === undefined) return errorReply('NOT_FOUND', `key ${JSON.stringify(p.request.key)} did not exist at the last compaction round (${round.epoch}/${round.round})`);
    const v = KeySpace.valueOfEncoded(enc);
    if (!v) return errorReply('INTERNAL', 'the snapshot entry for this key does not decode');
    return { ok: true, key: p.request.key, type: v.type, value: v.value, round: { ...round } };
  }

  private async waitForToken(token: string, timeoutMs: number): Promise<ErrorReply | undefined> {
    const vv = decodeToken(token);
    if (!vv) return errorReply('BAD_REQUEST', '"after" is not a token this store issued');
    const waited = this.waits.wait(() => vvLeq(vv, this.buffer.deliveredVector()), timeoutMs);
    if (!waited) return errorReply('OVERLOADED', 'too many requests are waiting');
    if (!(await waited)) return errorReply('NOT_CAUGHT_UP', `the replica has not applied everything the token covers within ${timeoutMs} ms; retry or ask another replica`);
    return undefined;
  }

  private token(): string {
    return encodeToken(this.buffer.deliveredVector());
  }

  // ---------------------------------------------------------------- local events

  private makeEvent(key: string, type: ReplicatedEvent['type'], options: Json, ops: Json[], time = this.hlc.now()): ReplicatedEvent {
    const deps = this.buffer.deliveredVector();
    const seq = vvGet(deps, this.id) + 1;
    delete deps[this.id];
    return { v: EVENT_VERSION, origin: this.id, seq, time, deps, key, type, options, ops };
  }

  /** Applies an own event at once (later commands prepare against it), then waits until it is durable. */
  private async commitOwn(event: ReplicatedEvent, prepared?: unknown): Promise<void> {
    const applied = this.keys.apply(event, prepared);
    if (!applied.ok) throw new Error(`own event refused by its own key space: ${applied.reason}`);
    this.buffer.markDelivered(event.origin, event.seq);
    await this.commits.add([event]);
    this.outbox.push(event);
    this.notifyChanged(event);
    this.waits.poke();
  }

  private notifyChanged(e: ReplicatedEvent): void {
    // Every replica announces what it applied (`replica`); watchers that want one notice per write keep those with replica === origin.
    this.ports.notices.changed(e.key, { key: e.key, type: e.type, origin: e.origin, seq: e.seq, time: e.time, replica: this.id });
  }

  // ---------------------------------------------------------------- remote events

  /**
   * Takes one stream message. Events go through the causal buffer; whatever it releases
   * is applied and group-committed together with the stream position. The position only
   * moves past a message once none of its events still waits, so a crash never skips one.
   * Resolves when the message's effects are durable.
   */
  async receive(batch: EventBatch, streamSeq: number): Promise<void> {
    if (streamSeq <= this.streamSeq || this.resetting) return;
    this.lastReceiveMs = this.ports.clock.nowMs();
    const released: ReplicatedEvent[] = [];
    let skipped = false;
    for (const e of batch.events) {
      const r = this.buffer.offer(e);
      if (!r.ok) {
        // Too much waits for missing dependencies. Leave this event for a later pass and
        // read on: what the waiting events need may be further down the stream (after a
        // stream reset each origin republishes its events in one run, far from causal
        // order). The durable position stays before this message, and `tick` reads the
        // stream again from there (`rereadSkipped`).
        skipped = true;
        continue;
      }
      for (const d of r.value) {
        const applied = this.keys.apply(d);
        if (!applied.ok) this.ports.log.error('refused an invalid event from the stream', { origin: d.origin, seq: d.seq, key: d.key, reason: applied.reason });
        // Own events come back from the stream after a re-join; peers may ask for them again.
        if (d.origin === this.id) this.outbox.noteInStream(d.seq);
        this.hlc.observe(d.time + Math.max(0, d.ops.length - 1));
        released.push(d);
      }
    }
    if (skipped && this.skippedSince === undefined) {
      this.skippedSince = streamSeq;
      this.ports.log.warn('causal buffer full; reading on and reading this part of the stream again later', { streamSeq, waiting: this.buffer.waiting() });
      this.requestMissing(true);
    }
    this.streamSeq = streamSeq;
    if (this.buffer.waiting() > 0 || this.skippedSince !== undefined) {
      if (this.stuckSince === undefined) {
        this.stuckSince = this.skippedSince ?? streamSeq;
        this.stuckSinceMs = this.ports.clock.nowMs();
      }
    } else {
      this.stuckSince = undefined;
    }
    const durable = this.stuckSince === undefined ? streamSeq : this.stuckSince - 1;
    if (released.length === 0) {
      // Our own events coming back, duplicates, or events that must wait: nothing to make durable now.
      this.commits.notePosition(durable);
      this.waits.poke();
      return;
    }
    for (const d of released) this.notifyChanged(d);
    const done = this.commits.add(released, durable);
    this.waits.poke();
    if (released.length > 0) this.queueProgressBeat();
    await done;
  }

  /**
   * Reads the stream again from the first message with an event not yet delivered, once
   * events were left behind by a full causal buffer and there is room again (or the
   * consumer has gone quiet, so what was missing has either come or never will by reading
   * on). At most once per `resendAfterMs`. Each pass delivers at least the causally
   * earliest event missing, so passes end.
   */
  private rereadSkipped(now: number): void {
    if (this.skippedSince === undefined || now - this.lastRereadMs < this.limits.resendAfterMs) return;
    const quiet = now - this.lastReceiveMs >= this.limits.resendAfterMs;
    if (!quiet && this.buffer.waiting() > this.limits.causalPendingMax / 2) return;
    const from = Math.min(this.stuckSince ?? this.skippedSince, this.skippedSince);
    this.skippedSince = undefined;
    this.lastRereadMs = now;
    this.streamSeq = from - 1;
    this.ports.log.info('reading the stream again for events a full causal buffer left behind', { from, waiting: this.buffer.waiting() });
    this.ports.stream.consumeFrom(from);
  }

  /**
   * The stream was lost or reset (deleted, recreated, or it came back shorter after a
   * broker crash). Everyone publishes again what it has not had confirmed by a round, and
   * reads the stream again from `fromSeq`.
   */
  streamReset(fromSeq: number): void {
    if (!this.outbox) {
      // Before `start`: the position loaded from disk is used, and the adapter's next check sees the stream as it is.
      this.ports.log.warn('stream reset before the replica started; ignored', { fromSeq });
      return;
    }
    this.ports.log.warn('stream reset: republishing own events since the last round', { fromSeq, ownSince: vvGet(this.snapshotCut, this.id) });
    this.streamSeq = Math.max(0, fromSeq - 1);
    this.stuckSince = undefined;
    this.skippedSince = undefined;
    this.outbox.rewind(vvGet(this.snapshotCut, this.id));
    this.ports.stream.consumeFrom(fromSeq);
  }

  /** Another replica misses events of `origin` (ours when absent) from `fromSeq` on: publish again those held here. */
  resend(fromSeq: number, origin?: string): void {
    if (!this.outbox) return;
    if (origin !== undefined && origin !== this.id) {
      if (!this.resetting && !this.rejoining) this.peerResend.serve(origin, fromSeq, this.snapshotCut);
      return;
    }
    const floor = vvGet(this.snapshotCut, this.id);
    const seq = Math.max(floor, fromSeq - 1);
    // Several peers ask for the same events, and each asks again every `resendAfterMs`
    // until they arrive. A republish from at or before `seq` that is still under way (or
    // just finished, its copies still on their way) serves them all; restarting it for
    // every request would keep it from ever finishing while the stream fills with copies.
    const now = this.ports.clock.nowMs();
    const r = this.lastResend;
    if (r && seq >= r.seq && (this.outbox.publishedThrough < r.through || now - r.atMs < this.limits.resendAfterMs)) return;
    this.lastResend = { seq, through: this.outbox.lastOwnSeq, atMs: now };
    this.outbox.rewind(seq);
  }

  private requestMissing(force: boolean): void {
    const now = this.ports.clock.nowMs();
    // Events waiting, not `stuckSince`: a stream reset clears the position marker while
    // events still wait, and in a quiet stream nothing would set it again.
    if (!force && (this.buffer.waiting() === 0 || now - this.stuckSinceMs < this.limits.resendAfterMs)) return;
    if (now - this.lastResendMs < this.limits.resendAfterMs) return;
    this.lastResendMs = now;
    // Ask the origins of what is truly missing (not those whose next event waits here for
    // another origin's event: asking them again only grows the stream).
    for (const m of this.buffer.missing()) if (m.origin !== this.id) this.askFor(m.origin, m.nextSeq);
  }

  /** Asks whoever holds `origin`'s events from `nextSeq` on: the origin while it is live, else the peer that has most of them. */
  private askFor(origin: string, nextSeq: number): void {
    this.ports.notices.requestResend(origin, nextSeq, chooseHolder(origin, nextSeq, this.peers.live(this.ports.clock.nowMs())));
  }

  /**
   * Anti-entropy by version vectors (Bayou, seed 001): a live peer has applied events of an
   * origin that this replica has not, and this replica has not moved on that origin for
   * `resendAfterMs`. With nothing waiting on them the causal buffer would never ask (the
   * stream lost them, the consumer skipped them): ask their holder.
   */
  private askPeersAhead(now: number): void {
    if (this.resetting || this.rejoining) return;
    // While Starting, only own events this replica waits to get back before it writes
    // again (`ownSeqFloor`): peers that applied them may hold the last copies.
    const starting = this.mode === 'Starting';
    const mine = this.buffer.deliveredVector();
    const ahead = new Set<string>();
    const wanted = (o: string) => (o === this.id ? vvGet(mine, o) < this.ownSeqFloor : !starting);
    for (const b of this.peers.live(now)) {
      for (const o of Object.keys(b.applied)) if (wanted(o) && vvGet(b.applied, o) > vvGet(mine, o)) ahead.add(o);
    }
    for (const o of [...this.behindPeers.keys()]) if (!ahead.has(o)) this.behindPeers.delete(o);
    for (const o of ahead) {
      const have = vvGet(mine, o);
      const t = this.behindPeers.get(o);
      if (!t || t.seq !== have) {
        this.behindPeers.set(o, { seq: have, sinceMs: now, askedMs: 0 });
        continue;
      }
      if (now - t.sinceMs < this.limits.resendAfterMs || now - t.askedMs < this.limits.resendAfterMs) continue;
      t.askedMs = now;
      this.askFor(o, have + 1);
    }
  }

  // ---------------------------------------------------------------- membership

  /** Takes a peer's heartbeat. */
  heardPeer(beat: Heartbeat): void {
    this.peers.heard(beat, this.ports.clock.nowMs());
    this.waits.poke();
  }

  /** What this replica says of itself. */
  heartbeat(): Heartbeat {
    const r = this.round.current();
    return {
      v: 1,
      replica: this.id,
      mode: this.mode,
      applied: this.buffer.deliveredVector(),
      opLogLength: this.ports.store.opLogLength() + this.commits.depth,
      outboxDepth: this.outbox.depth,
      streamSeq: this.streamSeq,
      keys: this.keys.size,
      epoch: r.epoch,
      round: r.round,
      committed: { ...this.round.lastCommitted() },
      sentMs: this.ports.clock.nowMs(),
    };
  }

  /** Status for `crdtctl` and the `status` command. */
  status(): Record<string, Json> {
    const b = this.heartbeat();
    return {
      replica: b.replica,
      mode: b.mode,
      applied: b.applied,
      opLogLength: b.opLogLength,
      outboxDepth: b.outboxDepth,
      streamSeq: b.streamSeq,
      keys: b.keys,
      waiting: this.buffer.waiting(),
      heldWrites: this.held.length,
      lastRound: this.round.lastCommitted() as unknown as Json,
    };
  }

  private tick(): void {
    this.sendBeat();
    this.commits.flushLazy();
    this.requestMissing(false);
    this.rereadSkipped(this.ports.clock.nowMs());
    this.askPeersAhead(this.ports.clock.nowMs());
    this.outbox.pump();
    this.checkRoundAgreement();
  }

  /**
   * Replicas must end up holding the same round's snapshot, or their states differ (in
   * what compaction dropped) at every later cut and no round commits again. Two ways a
   * replica falls behind: it missed a committed round (down or cut off when the resume
   * was broadcast), or the round's snapshot never reached the snapshot store (its
   * publisher died mid-commit). So: a replica behind a live peer re-joins from the
   * snapshot store once it holds something newer; a replica ahead of a live peer makes
   * sure the store holds its round, publishing its own snapshot when it does not (any
   * member's snapshot of a round is a valid place to join: same state, and a stream
   * position the round's purge kept). Both retry with back-off.
   */
  private checkRoundAgreement(): void {
    if (this.mode !== 'Work' || this.rejoining || this.offeringSnapshot) return;
    const now = this.ports.clock.nowMs();
    if (now < this.roundCheckRetryAtMs) return;
    const mine = this.round.lastCommitted();
    const newest = this.peers.newestCommitted(now);
    const oldest = this.peers.oldestCommitted(now);
    const behind = newest !== undefined && compareRounds(newest, mine) > 0;
    const ahead = oldest !== undefined && compareRounds(oldest, mine) < 0;
    if (!behind && !ahead) {
      this.roundCheckBackoffMs = 0;
      return;
    }
    this.roundCheckBackoffMs = Math.min(Math.max(this.limits.peerTimeoutMs, this.roundCheckBackoffMs * 2), 60_000);
    this.roundCheckRetryAtMs = now + this.roundCheckBackoffMs;
    if (behind) void this.rejoin(`a peer committed round ${newest.epoch}/${newest.round}; this replica holds round ${mine.epoch}/${mine.round}`, true);
    else void this.offerSnapshot();
  }

  /** Publishes this replica's snapshot when the snapshot store holds an older round (see `checkRoundAgreement`). */
  private async offerSnapshot(): Promise<void> {
    const { log } = this.ports;
    this.offeringSnapshot = true;
    try {
      const mine = this.round.lastCommitted();
      const latest = await this.ports.snapshots.fetchLatest();
      if (latest && compareRounds(latest, mine) >= 0) return;
      const own = (await this.ports.store.load()).snapshot;
      if (!own || compareRounds(own, mine) !== 0) return;
      await this.ports.snapshots.publish(own);
      log.warn('published this replica\'s snapshot: the snapshot store lacked its round', { epoch: own.epoch, round: own.round, had: latest ? { epoch: latest.epoch, round: latest.round } : null });
    } catch (e) {
      log.warn('could not offer this replica\'s snapshot; retrying later', { error: String(e) });
    } finally {
      this.offeringSnapshot = false;
    }
  }

  /**
   * Publishes a heartbeat right after progress, so peers waiting on `ack: all` learn of it
   * at once, but no more often than every `progressBeatMs`, so a stream of writes does not
   * become a stream of heartbeats.
   */
  private queueProgressBeat(): void {
    if (this.progressBeatQueued) return;
    this.progressBeatQueued = true;
    const waitMs = Math.max(0, this.lastBeatMs + this.limits.progressBeatMs - this.ports.clock.nowMs());
    this.ports.clock.setTimer(waitMs, () => {
      this.progressBeatQueued = false;
      if (!this.stopped) this.sendBeat();
    });
  }

  private sendBeat(): void {
    this.lastBeatMs = this.ports.clock.nowMs();
    this.ports.notices.heartbeat(this.heartbeat());
  }

  // ---------------------------------------------------------------- for the round participant

  /** Sets the mode (the round participant drives Sync and Ready). */
  setMode(mode: ReplicaMode): void {
    const was = this.mode;
    this.mode = mode;
    if (mode === 'Work' && was !== 'Work') {
      this.releaseHeld();
      if (this.truncateAfterRound) {
        this.truncateCovered(this.truncateAfterRound);
        this.truncateAfterRound = undefined;
      }
    }
    this.ports.notices.heartbeat(this.heartbeat());
  }

  /** Own events not yet in the stream. */
  get outboxDepth(): number {
    return this.outbox.depth;
  }

  /** The own seq known to be in the stream. */
  get ownPublished(): number {
    return this.outbox.publishedThrough;
  }

  /** What has been applied. */
  applied(): VersionVector {
    return this.buffer.deliveredVector();
  }

  /** Last stream sequence processed. */
  consumedSeq(): number {
    return this.streamSeq;
  }

  /** Events waiting for a group commit. */
  pendingCommitEvents(): number {
    return this.commits.depth;
  }

  /** The stream position durably processed (nothing before it still waits). */
  durableStreamSeq(): number {
    return this.stuckSince === undefined ? this.streamSeq : this.stuckSince - 1;
  }

  /** Resolves true once `ready()` holds, false after `timeoutMs`. */
  waitUntil(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.waits.wait(ready, timeoutMs) ?? Promise.resolve(false);
  }

  /**
   * Asks the origins of the events `cut` names and this replica lacks to publish them
   * again: a broker crash or a skipped stream range can lose them, and then nothing else
   * would bring them (a round waiting for them would wait forever).
   */
  requestBehind(cut: VersionVector): void {
    const applied = this.buffer.deliveredVector();
    for (const origin of Object.keys(cut)) {
      const have = vvGet(applied, origin);
      if (origin !== this.id && cut[origin] > have) this.askFor(origin, have + 1);
    }
  }

  /** The newest round a live peer holds the snapshot of (undefined when no peer says). */
  newestPeerCommitted(): { epoch: number; round: number } | undefined {
    return this.peers.newestCommitted(this.ports.clock.nowMs());
  }

  /** Makes pending writes durable and starts publishing them (a freeze flushes everything). */
  async flushOutbox(): Promise<void> {
    await this.commits.flushed();
    this.outbox.pump();
  }

  /** Writes a snapshot at the current state (which equals the cut), compacts and truncates; undefined when the state is not at `cut`. */
  async takeSnapshot(epoch: number, round: number, cut?: VersionVector): Promise<SnapshotRecord | undefined> {
    await this.commits.flushed();
    // With `cut`: only exactly at it (undefined when more has been applied since).
    if (cut && vvCompare(this.buffer.deliveredVector(), cut) !== 'equal') return undefined;
    this.keys.compact();
    const snapshot: SnapshotRecord = {
      epoch,
      round,
      cut: this.buffer.deliveredVector(),
      streamSeq: this.durableStreamSeq(),
      keys: [...this.keys.encodedKeys()],
    };
    await this.ports.store.writeSnapshot(snapshot);
    this.snapshotCut = { ...snapshot.cut };
    // The events the snapshot covers go later, in bounded steps, once the round has let
    // writes go: deleting a long op log inside the round would hold them for as long as
    // the delete takes (and compete with publishing the snapshot).
    this.truncateAfterRound = snapshot.cut;
    this.outbox.skipThrough(vvGet(snapshot.cut, this.id));
    return snapshot;
  }

  /** Deletes op-log events covered by `cut`, a bounded step at a time, after any truncation already queued. */
  private truncateCovered(cut: VersionVector): void {
    const rowsMax = this.limits.truncateRowsPerStep;
    this.truncation = this.truncation
      .then(async () => {
        // Each step is one short transaction; the pause between steps leaves the event loop
        // to requests, and a round (Sync, Ready) pauses truncation so it never slows a freeze.
        const pause = () => new Promise<void>((resolve) => this.ports.clock.setTimer(this.limits.truncatePauseMs, resolve));
        // A re-join drops the whole op log anyway (and waits for this loop): stop then.
        const over = () => this.stopped || this.rejoining;
        for (;;) {
          while (!over() && this.mode !== 'Work') await pause();
          if (over() || (await this.ports.store.truncate(cut, rowsMax)) < rowsMax) return;
          await pause();
        }
      })
      .catch((e) => this.ports.log.error('op-log truncation failed; the next round retries', { error: String(e) }));
  }

  /** Publishes a snapshot for joiners. */
  publishSnapshot(snapshot: SnapshotRecord): Promise<void> {
    return this.ports.snapshots.publish(snapshot);
  }

  /**
   * Re-joins from the cluster's snapshot (this replica missed a round, or the stream no
   * longer reaches back far enough). Own events the snapshot does not hold are published
   * (again) first, so nothing acknowledged is lost; then state resets to the snapshot and
   * the stream is replayed after it. With `onlyIfNewer`, only when the snapshot is of a
   * newer round than the one this replica holds. False when postponed (or one is running).
   */
  async rejoin(reason: string, onlyIfNewer = false): Promise<boolean> {
    const { log } = this.ports;
    // Not before `start` has loaded the disk (the stream adapter checks the stream from attach on).
    if (this.rejoining || !this.outbox) return false;
    // Never in the middle of a round: the round would abort, and a freeze holds writes the
    // reset would strand. The round's end (or its lease) brings Work, and the next check retries.
    if (this.mode === 'Sync' || this.mode === 'Ready') {
      log.info('re-join postponed until the round ends', { reason });
      return false;
    }
    this.rejoining = true;
    try {
      log.warn('re-joining from the cluster snapshot', { reason });
      const snap = await this.ports.snapshots.fetchLatest().catch(() => undefined);
      if (!snap) {
        log.warn('re-join postponed: no snapshot available');
        return false;
      }
      if (onlyIfNewer && compareRounds(snap, this.round.lastCommitted()) <= 0) {
        log.warn('re-join postponed: the snapshot store holds nothing newer than this replica', { snapshot: { epoch: snap.epoch, round: snap.round } });
        return false;
      }
      // From here no new own write: it would be dropped with the op log below. A catch-up
      // still running from the last load must not switch back to Work either.
      const was = this.mode;
      this.mode = 'Starting';
      this.loadGeneration++;
      // Own events the snapshot does not hold must be in the stream before the op log is
      // dropped, or they are lost and their seqs get used again. `publishedThrough` does
      // not prove that (a broker crash may lose acknowledged messages), so publish them
      // all again; the replay below brings them back.
      // Own events this replica's own snapshot covers are no longer held as events (the
      // op log was truncated): they cannot be republished, and an outbox rewound below them
      // would wait for them for ever and postpone every re-join (seed 20670). Peers that
      // applied them bring them back (anti-entropy, see `askPeersAhead`).
      const ownCompacted = vvGet(this.snapshotCut, this.id);
      if (vvGet(snap.cut, this.id) < ownCompacted) {
        log.warn('the snapshot joined lacks own events this replica\'s own snapshot covered; asking peers for them', { snapshotHas: vvGet(snap.cut, this.id), ownSnapshotHas: ownCompacted });
      }
      this.outbox.rewind(Math.max(vvGet(snap.cut, this.id), ownCompacted));
      this.outbox.pump();
      const drained = (await this.waitUntil(() => this.outbox.depth === 0, this.limits.freezeFlushMs)) && (await this.republishOthersBeyond(snap.cut));
      if (!drained) {
        log.warn('re-join postponed: own events are not yet in the stream');
        if (was === 'Starting') void this.catchUp();
        else this.setMode('Work');
        return false;
      }
      // From here until the load, stream messages are dropped (the replay after the load
      // reads them again): an event applied now would be committed after the reset, into an
      // op log that no longer holds its causal past, and the next start would refuse it.
      this.resetting = true;
      await this.commits.flushed();
      const published = this.outbox.publishedThrough;
      this.ownSeqFloor = Math.max(this.ownSeqFloor, vvGet(this.buffer.deliveredVector(), this.id));
      await this.truncation;
      const at = await this.joinPoint(snap);
      // Own events the snapshot lacks stay on disk (a crash during the replay must not lose
      // them: their stream copies may be gone) and go back into the causal buffer, to be
      // applied as soon as the replay brings their causal past.
      const keep = { origin: this.id, afterSeq: vvGet(at.cut, this.id) };
      await this.ports.store.resetTo(at, at.streamSeq, keep);
      const own = await this.ports.store.ownEventsAfter(this.id, keep.afterSeq, Number.MAX_SAFE_INTEGER);
      this.loadFrom(at, own, at.streamSeq, Math.max(published, vvGet(snap.cut, this.id)));
      this.mode = 'Starting';
      this.outbox.noteExisting(Math.max(vvGet(this.buffer.deliveredVector(), this.id), own.length ? own[own.length - 1].seq : 0));
      void this.catchUp();
      return true;
    } finally {
      this.resetting = false;
      this.rejoining = false;
    }
  }

  /**
   * Other origins' events this replica holds beyond `cut` go to the stream again before a
   * re-join drops the op log: the snapshot's members may never have had them (they were
   * down, the stream lost them, the origin died) and this op log may be their last copy
   * (seed 40467). Receivers that have them drop the copies. False when a publish failed.
   */
  private async republishOthersBeyond(cut: VersionVector): Promise<boolean> {
    const applied = this.buffer.deliveredVector();
    try {
      for (const origin of Object.keys(applied)) {
        if (origin === this.id) continue;
        const from = Math.max(vvGet(cut, origin), vvGet(this.snapshotCut, origin));
        if (vvGet(applied, origin) > from) await this.peerResend.republishHeld(origin, from);
      }
      return true;
    } catch (e) {
      this.ports.log.warn('could not republish other origins\' events before a re-join', { error: String(e) });
      return false;
    }
  }

  /**
   * Where to read the stream after loading `snap`: after its position, unless the stream
   * now ends before that position. Then the stream lost messages after the snapshot was
   * taken (a broker crash before fsync) or was recreated, the sequence numbers past its
   * new end name other messages, and the whole stream is read instead (what the snapshot
   * holds is dropped as duplicate).
   */
  private async joinPoint(snap: SnapshotRecord): Promise<SnapshotRecord> {
    const end = await this.ports.stream.lastSeq().catch(() => undefined);
    if (end === undefined || end >= snap.streamSeq) {
      this.readAllJoin = undefined;
      return snap;
    }
    // Reading all of it again, from the same snapshot, without having consumed anything:
    // the stream was purged past its start, so its first message is past position 0 and
    // the stream adapter re-joins again, for ever (seeds 20600, 21177, 40583: an empty
    // stream purged to the snapshot's position after its tail was lost). What the purge
    // removed is in this snapshot (a purge follows a committed round, and rounds are one
    // chain), so read from the stream's end instead; anything a recreated stream held
    // before it is asked of the peers that applied it (anti-entropy).
    const id = `${snap.epoch}/${snap.round}/${snap.streamSeq}`;
    if (this.readAllJoin === id && this.streamSeq === 0) {
      this.ports.log.warn('the stream ends before the snapshot\'s position and was purged past its start; reading from its end', { streamSeq: snap.streamSeq, streamEnd: end });
      return { ...snap, streamSeq: end };
    }
    this.readAllJoin = id;
    this.ports.log.warn('the stream ends before the snapshot\'s position; reading all of it', { streamSeq: snap.streamSeq, streamEnd: end });
    return { ...snap, streamSeq: 0 };
  }

  /** Digest of the whole state (compared in a round). */
  digest(): string {
    return this.keys.digest();
  }

  // ---------------------------------------------------------------- helpers

  private every(ms: number, fn: () => void): () => void {
    let cancel = () => undefined as void;
    const loop = () => {
      if (this.stopped) return;
      fn();
      cancel = this.ports.clock.setTimer(ms, loop);
    };
    cancel = this.ports.clock.setTimer(ms, loop);
    return () => cancel();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.ports.clock.setTimer(ms, resolve));
  }
}
