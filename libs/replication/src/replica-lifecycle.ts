import { CausalBuffer, HybridLogicalClock, vvCompare, vvGet, type VersionVector } from '#crdt';
import { compareRounds } from '#protocol/round-messages';
import type { ReplicatedEvent } from '#protocol/replicated-event';
import { GroupCommit } from './group-commit';
import { Outbox } from './outbox';
import type { PeerLiveness } from './peer-liveness';
import type { ReplicaMode, SnapshotDelta, SnapshotKey, SnapshotRecord, SnapshotSummary, StrongPending } from './ports';
import type { ReplicaState } from './replica-state';
import type { RoundParticipant } from './round-participant';
import type { StreamIngest } from './stream-ingest';

/** What the lifecycle asks of the core that composes it. */
export interface LifecycleHost {
  /** Sets the mode with everything a mode change brings (held writes run, peers hear of it). */
  setMode(mode: ReplicaMode): void;
  /** The periodic work of a running replica (heartbeat, lazy flush, resend and re-read checks). */
  tick(): void;
  /** A strong write was pending on disk at start: learn its outcome before the next own seq is used (strong-commands.ts). */
  recoverStrong(pending: StrongPending): void;
}

/**
 * The snapshot, truncation and re-join lifecycle: loading the disk at start (or joining
 * from the cluster's snapshot), catching up with the stream before own writes resume,
 * taking a round's snapshot and truncating the op log behind it in bounded steps,
 * re-joining from the cluster's snapshot when this replica fell behind, and keeping the
 * replicas on one round's snapshot (`checkRoundAgreement`).
 */
export class ReplicaLifecycle {
  private stopHeartbeat: (() => void) | undefined;
  /** When the round-agreement check may next act, and its back-off. */
  private roundCheckRetryAtMs = 0;
  private roundCheckBackoffMs = 0;
  private offeringSnapshot = false;
  /** Op-log truncation after a round, running in the background (re-join waits for it). */
  private truncation: Promise<void> = Promise.resolve();
  /** The cut to truncate up to once the current round lets writes go. */
  private truncateAfterRound: VersionVector | undefined;
  /** The snapshot (epoch/round/streamSeq) the last join read the whole stream after (see `joinPoint`). */
  private readAllJoin: string | undefined;

  constructor(
    private readonly s: ReplicaState,
    private readonly ingest: StreamIngest,
    private readonly peers: PeerLiveness,
    private readonly round: RoundParticipant,
    private readonly host: LifecycleHost,
  ) {}

  /** Loads the disk state (or joins from the cluster's snapshot) and starts serving. */
  async start(): Promise<void> {
    const { store, log } = this.s.ports;
    let stored = await store.load();
    if (stored.replicaId && this.s.idConfigured && stored.replicaId !== this.s.id) {
      throw new Error(`the data directory belongs to replica ${stored.replicaId}, not ${this.s.id}; use another directory or the same id`);
    }
    const fresh = !stored.snapshot && stored.events.length === 0 && stored.publishedThrough === 0;
    let keysLoaded = false;
    if (!this.s.id) this.s.id = stored.replicaId ?? this.s.ports.newReplicaId();
    if (!stored.replicaId) await store.saveReplicaId(this.s.id);

    if (fresh) {
      // An empty disk joins from the cluster's latest snapshot, then replays the stream after it.
      const snap = await this.s.ports.snapshots.fetchLatest().catch((e) => {
        log.warn('no snapshot fetched; joining from the start of the stream', { error: String(e) });
        return undefined;
      });
      if (snap) {
        const at = await this.joinPoint(snap);
        const texts = encodingTexts(at);
        // The store writes the rows (a large snapshot on a thread of its own) while the keys
        // are decoded here; nothing reads the store or the stream until both are done.
        const written = store.resetTo(withTexts(at, texts), at.streamSeq);
        try {
          this.loadKeys(at, texts);
        } finally {
          await written;
        }
        keysLoaded = true;
        // What the disk now holds is exactly this (an empty op log): no need to read a
        // million keys back and parse them again.
        stored = { replicaId: this.s.id, snapshot: at, events: [], streamSeq: at.streamSeq, publishedThrough: 0 };
        log.info('joined from snapshot', { epoch: snap.epoch, round: snap.round, keys: snap.keys.length, streamSeq: snap.streamSeq });
      }
    }
    this.loadFrom(stored.snapshot, stored.events, stored.streamSeq, stored.publishedThrough, keysLoaded);
    // Before any write can take the next own seq.
    if (stored.strongPending) this.host.recoverStrong(stored.strongPending);
    // A crash may have cut the last round's truncation short; finish it in the background.
    if (stored.snapshot) this.truncateCovered(stored.snapshot.cut);
    this.stopHeartbeat = this.every(this.s.limits.heartbeatMs, () => this.host.tick());
    // A replica that kept its disk serves at once; one whose id was configured but whose
    // disk is empty must first learn its own last seq from the stream, or it could reuse it.
    // So must one that published own events its disk no longer holds (it crashed while a
    // re-join was replaying them): they come back from the stream before it writes again.
    this.s.ownSeqFloor = Math.max(this.s.ownSeqFloor, stored.publishedThrough);
    const ownBack = vvGet(this.s.buffer.deliveredVector(), this.s.id) >= this.s.ownSeqFloor;
    if (!(fresh && this.s.idConfigured) && ownBack) this.s.mode = 'Work';
    this.s.skewGuard.begin(this.s.ports.clock.nowMs(), Object.keys(this.s.buffer.deliveredVector()).some((o) => o !== this.s.id));
    void this.catchUp();
  }

  /**
   * Loads a snapshot's keys into a fresh key space. `texts`, from a join, are the
   * snapshot's encodings as JSON text, key by key (see `encodingTexts`).
   */
  private loadKeys(snapshot: SnapshotRecord | undefined, texts?: readonly string[]): void {
    this.s.clearKeys();
    const bad = snapshot && this.s.keys.loadKeys(snapshot.keys, texts);
    if (bad !== undefined) throw new Error(`snapshot key ${bad} does not decode`);
  }

  /**
   * Loads a snapshot and the events after it into a fresh key space (unless `keysLoaded`:
   * `loadKeys` loaded this snapshot's keys already), causal buffer, group commit and
   * outbox, and consumes the stream after them.
   */
  private loadFrom(snapshot: SnapshotRecord | undefined, events: readonly ReplicatedEvent[], streamSeq: number, publishedThrough: number, keysLoaded = false): void {
    this.s.loadGeneration++;
    if (!keysLoaded) this.loadKeys(snapshot);
    const cut = snapshot?.cut ?? {};
    this.s.snapshotCut = { ...cut };
    this.round.restore(snapshot);
    // Own events a re-join kept may all wait here for the replay to bring their causal past
    // (seeds 20025, 20174: more of them than `causalPendingMax` made the load throw). They
    // are in memory already (`events`), so the buffer takes them on top of its usual bound.
    const ownLoaded = events.reduce((n, e) => (e.origin === this.s.id ? n + 1 : n), 0);
    this.s.buffer = new CausalBuffer<ReplicatedEvent>({ pendingMax: this.s.limits.causalPendingMax + ownLoaded }, cut);
    this.s.hlc = new HybridLogicalClock(() => this.s.ports.clock.nowMs(), 0, { maxOffsetMs: this.s.limits.clockOffsetMaxMs });
    for (const e of events) {
      const r = this.s.buffer.offer(e);
      // Every logged event was applied in causal order, except own events a re-join kept
      // (the snapshot lacks them): those may wait here for the replay to bring their past.
      const waits = r.ok && !r.value.includes(e);
      if (!r.ok || (waits && e.origin !== this.s.id)) throw new Error(`op log is not in causal order at ${e.origin}#${e.seq}`);
      for (const d of r.value) {
        this.s.applyEvent(d);
        // This replica applied these times already: its clock moves past them whatever the bound.
        this.s.hlc.restore(d.time + d.ops.length);
      }
    }
    this.s.streamSeq = Math.max(streamSeq, snapshot?.streamSeq ?? 0);
    this.s.stuckSince = undefined;
    this.s.skippedSince = undefined;
    this.s.commits = new GroupCommit(this.s.ports.store, this.s.ports.clock, this.s.ports.onFatal, this.s.limits.eventsPerCommitMax, this.s.limits.remoteCommitDelayMs);
    this.s.outbox?.stop();
    const lastOwn = vvGet(this.s.buffer.deliveredVector(), this.s.id);
    this.ingest.forgetResend();
    this.s.outbox = new Outbox(
      this.s.id,
      this.s.ports.store,
      this.s.ports.stream,
      this.s.ports.clock,
      this.s.ports.log,
      {
        memoryEventsMax: this.s.limits.outboxMemoryEventsMax,
        batchEventsMax: this.s.limits.publishBatchEventsMax,
        batchBytesMax: this.s.limits.publishBatchBytesMax,
        retryMsMin: this.s.limits.publishRetryMsMin,
        retryMsMax: this.s.limits.publishRetryMsMax,
      },
      Math.max(publishedThrough, vvGet(cut, this.s.id)),
      lastOwn,
      (through) => {
        this.s.commits.notePublished(through);
        this.s.waits.poke();
      },
    );
    this.s.outbox.pump();
    this.s.ports.stream.consumeFrom((this.s.stuckSince ?? this.s.streamSeq + 1));
  }

  /** Waits (bounded, retried) until the consumer has reached the stream's end as of now. */
  private async catchUp(): Promise<void> {
    // A catch-up belongs to one load: one left over from the start (or an earlier re-join)
    // must not declare this load caught up, or own writes would resume before the replay
    // has brought back this replica's own events, and reuse their seqs.
    const generation = this.s.loadGeneration;
    const current = () => generation === this.s.loadGeneration && !this.s.stopped;
    for (let attempt = 0; current(); attempt++) {
      let target: number;
      try {
        target = await this.s.ports.stream.lastSeq();
      } catch (e) {
        if (this.s.mode !== 'Starting') return; // serving from disk; the stream will catch up when it returns
        await this.sleep(Math.min(100 * 2 ** attempt, 2_000));
        continue;
      }
      // Own writes resume only once every own event this replica made before a re-join is
      // applied here again (they come back from the stream): a write made before that would
      // reuse the seq of an event other replicas already hold.
      const reached = await this.s.waits.wait(() => this.s.streamSeq >= target && vvGet(this.s.buffer.deliveredVector(), this.s.id) >= this.s.ownSeqFloor, 10_000);
      if (!current()) return;
      if (reached || this.s.mode !== 'Starting') {
        // Through setMode: writes held meanwhile are released and peers hear of it at once.
        if (this.s.mode === 'Starting') this.host.setMode('Work');
        this.s.ports.log.info('caught up with the stream', { streamSeq: this.s.streamSeq, target });
        return;
      }
    }
  }

  /** Stops timers and the outbox (the adapters close their own connections). */
  async stop(): Promise<void> {
    this.s.stopped = true;
    this.stopHeartbeat?.();
    this.s.outbox?.stop();
    await this.s.commits?.flushed();
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
  checkRoundAgreement(): void {
    if (this.s.mode !== 'Work' || this.s.rejoining || this.offeringSnapshot) return;
    const now = this.s.ports.clock.nowMs();
    // Wall-clock time: should the clock have gone back since the retry was set, the retry is
    // due now, not once the clock has caught up again (seed 406: a clock 52 minutes ahead
    // set back left a replica that had missed a round un-rejoined for good).
    if (now < this.roundCheckRetryAtMs && this.roundCheckRetryAtMs - now <= this.roundCheckBackoffMs) return;
    const mine = this.round.lastCommitted();
    const newest = this.peers.newestCommitted(now);
    const oldest = this.peers.oldestCommitted(now);
    const behind = newest !== undefined && compareRounds(newest, mine) > 0;
    const ahead = oldest !== undefined && compareRounds(oldest, mine) < 0;
    if (!behind && !ahead) {
      this.roundCheckBackoffMs = 0;
      return;
    }
    this.roundCheckBackoffMs = Math.min(Math.max(this.s.limits.peerTimeoutMs, this.roundCheckBackoffMs * 2), 60_000);
    this.roundCheckRetryAtMs = now + this.roundCheckBackoffMs;
    if (behind) void this.rejoin(`a peer committed round ${newest.epoch}/${newest.round}; this replica holds round ${mine.epoch}/${mine.round}`, true);
    else void this.offerSnapshot();
  }

  /** Publishes this replica's snapshot when the snapshot store holds an older round (see `checkRoundAgreement`). */
  private async offerSnapshot(): Promise<void> {
    const { log } = this.s.ports;
    this.offeringSnapshot = true;
    try {
      const mine = this.round.lastCommitted();
      const latest = await this.s.ports.snapshots.fetchLatest();
      if (latest && compareRounds(latest, mine) >= 0) return;
      // The snapshot as published (no digest terms, encodings parsed), not as loaded.
      const own = await this.s.ports.store.latestSnapshot();
      if (!own || compareRounds(own, mine) !== 0) return;
      await this.s.ports.snapshots.publish(own);
      log.warn('published this replica\'s snapshot: the snapshot store lacked its round', { epoch: own.epoch, round: own.round, had: latest ? { epoch: latest.epoch, round: latest.round } : null });
    } catch (e) {
      log.warn('could not offer this replica\'s snapshot; retrying later', { error: String(e) });
    } finally {
      this.offeringSnapshot = false;
    }
  }

  /** Writes a snapshot at the current state (which equals the cut), compacts and truncates; undefined when the state is not at `cut`. */
  async takeSnapshot(epoch: number, round: number, cut?: VersionVector): Promise<SnapshotSummary | undefined> {
    await this.s.commits.flushed();
    // With `cut`: only exactly at it (undefined when more has been applied since).
    if (cut && vvCompare(this.s.buffer.deliveredVector(), cut) !== 'equal') return undefined;
    // Only the keys changed since the last snapshot are compacted, encoded and written (a
    // delta): the rest are in the store's snapshot already, compacted at their last change.
    const changed = this.s.keys.compactChanged();
    const delta: SnapshotDelta = { epoch, round, cut: this.s.buffer.deliveredVector(), streamSeq: this.s.durableStreamSeq(), changed };
    try {
      await this.s.ports.store.writeSnapshotDelta(delta);
    } catch (e) {
      this.s.keys.unwriteChanged(changed);
      throw e;
    }
    this.s.snapshotCut = { ...delta.cut };
    // The events the snapshot covers go later, in bounded steps, once the round has let
    // writes go: deleting a long op log inside the round would hold them for as long as
    // the delete takes (and compete with publishing the snapshot).
    this.truncateAfterRound = delta.cut;
    this.s.outbox.skipThrough(vvGet(delta.cut, this.s.id));
    return { epoch, round, cut: delta.cut, streamSeq: delta.streamSeq, keys: this.s.keys.size, changedKeys: changed.length };
  }

  /** Deletes op-log events covered by `cut`, a bounded step at a time, after any truncation already queued. */
  private truncateCovered(cut: VersionVector): void {
    const rowsMax = this.s.limits.truncateRowsPerStep;
    this.truncation = this.truncation
      .then(async () => {
        // Each step is one short transaction; the pause between steps leaves the event loop
        // to requests, and a round (Sync, Ready) pauses truncation so it never slows a freeze.
        const pause = () => new Promise<void>((resolve) => this.s.ports.clock.setTimer(this.s.limits.truncatePauseMs, resolve));
        // A re-join drops the whole op log anyway (and waits for this loop): stop then.
        const over = () => this.s.stopped || this.s.rejoining;
        for (;;) {
          while (!over() && this.s.mode !== 'Work') await pause();
          if (over() || (await this.s.ports.store.truncate(cut, rowsMax)) < rowsMax) return;
          await pause();
        }
      })
      .catch((e) => this.s.ports.log.error('op-log truncation failed; the next round retries', { error: String(e) }));
  }

  /** Publishes a snapshot for joiners. */
  async publishSnapshot(of: { readonly epoch: number; readonly round: number }): Promise<boolean> {
    const snapshot = await this.s.ports.store.latestSnapshot();
    if (!snapshot || compareRounds(snapshot, of) !== 0) return false;
    await this.s.ports.snapshots.publish(snapshot);
    return true;
  }

  /**
   * Re-joins from the cluster's snapshot (this replica missed a round, or the stream no
   * longer reaches back far enough). Own events the snapshot does not hold are published
   * (again) first, so nothing acknowledged is lost; then state resets to the snapshot and
   * the stream is replayed after it. With `onlyIfNewer`, only when the snapshot is of a
   * newer round than the one this replica holds. False when postponed (or one is running).
   */
  async rejoin(reason: string, onlyIfNewer = false): Promise<boolean> {
    const { log } = this.s.ports;
    // Not before `start` has loaded the disk (the stream adapter checks the stream from attach on).
    if (this.s.rejoining || !this.s.outbox) return false;
    // Never in the middle of a round: the round would abort, and a freeze holds writes the
    // reset would strand. The round's end (or its lease) brings Work, and the next check retries.
    if (this.s.mode === 'Sync' || this.s.mode === 'Ready') {
      log.info('re-join postponed until the round ends', { reason });
      return false;
    }
    this.s.rejoining = true;
    try {
      log.warn('re-joining from the cluster snapshot', { reason });
      const snap = await this.s.ports.snapshots.fetchLatest().catch(() => undefined);
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
      const was = this.s.mode;
      this.s.mode = 'Starting';
      this.s.loadGeneration++;
      // Own events the snapshot does not hold must be in the stream before the op log is
      // dropped, or they are lost and their seqs get used again. `publishedThrough` does
      // not prove that (a broker crash may lose acknowledged messages), so publish them
      // all again; the replay below brings them back.
      // Own events this replica's own snapshot covers are no longer held as events (the
      // op log was truncated): they cannot be republished, and an outbox rewound below them
      // would wait for them for ever and postpone every re-join (seed 20670). Peers that
      // applied them bring them back (anti-entropy, see `PeerLiveness.askPeersAhead`).
      const ownCompacted = vvGet(this.s.snapshotCut, this.s.id);
      if (vvGet(snap.cut, this.s.id) < ownCompacted) {
        log.warn('the snapshot joined lacks own events this replica\'s own snapshot covered; asking peers for them', { snapshotHas: vvGet(snap.cut, this.s.id), ownSnapshotHas: ownCompacted });
      }
      this.s.outbox.rewind(Math.max(vvGet(snap.cut, this.s.id), ownCompacted));
      this.s.outbox.pump();
      // Other origins' events only this op log may still hold go back to the stream too (seed 40467).
      const drained = (await this.waitUntil(() => this.s.outbox.depth === 0, this.s.limits.freezeFlushMs)) && (await this.ingest.republishOthersBeyond(snap.cut));
      if (!drained) {
        log.warn('re-join postponed: own events are not yet in the stream');
        if (was === 'Starting') void this.catchUp();
        else this.host.setMode('Work');
        return false;
      }
      // From here until the load, stream messages are dropped (the replay after the load
      // reads them again): an event applied now would be committed after the reset, into an
      // op log that no longer holds its causal past, and the next start would refuse it.
      this.s.resetting = true;
      await this.s.commits.flushed();
      const published = this.s.outbox.publishedThrough;
      this.s.ownSeqFloor = Math.max(this.s.ownSeqFloor, vvGet(this.s.buffer.deliveredVector(), this.s.id));
      await this.truncation;
      const at = await this.joinPoint(snap);
      // Own events the snapshot lacks stay on disk (a crash during the replay must not lose
      // them: their stream copies may be gone) and go back into the causal buffer, to be
      // applied as soon as the replay brings their causal past.
      const keep = { origin: this.s.id, afterSeq: vvGet(at.cut, this.s.id) };
      const texts = encodingTexts(at);
      await this.s.ports.store.resetTo(withTexts(at, texts), at.streamSeq, keep);
      const own = await this.s.ports.store.ownEventsAfter(this.s.id, keep.afterSeq, Number.MAX_SAFE_INTEGER);
      this.loadKeys(at, texts);
      this.loadFrom(at, own, at.streamSeq, Math.max(published, vvGet(snap.cut, this.s.id)), true);
      this.s.mode = 'Starting';
      this.s.outbox.noteExisting(Math.max(vvGet(this.s.buffer.deliveredVector(), this.s.id), own.length ? own[own.length - 1].seq : 0));
      void this.catchUp();
      return true;
    } finally {
      this.s.resetting = false;
      this.s.rejoining = false;
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
    const end = await this.s.ports.stream.lastSeq().catch(() => undefined);
    if (end === undefined || end >= snap.streamSeq) {
      this.readAllJoin = undefined;
      return snap;
    }
    // Reading all of it again, from the same snapshot, without having consumed anything:
    // the stream was purged past its start, so its first message is past position 0 and
    // the stream rules (`judgeStream`: purged-past) re-join again, for ever (seeds 20600,
    // 21177, 40583: an empty stream purged to the snapshot's position after its tail was
    // lost). What the purge removed is in this snapshot (a purge follows a committed
    // round, and rounds are one chain), so read from the stream's end instead; anything a
    // recreated stream held before it is asked of the peers that applied it (anti-entropy).
    const id = `${snap.epoch}/${snap.round}/${snap.streamSeq}`;
    if (this.readAllJoin === id && this.s.streamSeq === 0) {
      this.s.ports.log.warn('the stream ends before the snapshot\'s position and was purged past its start; reading from its end', { streamSeq: snap.streamSeq, streamEnd: end });
      return { ...snap, streamSeq: end };
    }
    this.readAllJoin = id;
    this.s.ports.log.warn('the stream ends before the snapshot\'s position; reading all of it', { streamSeq: snap.streamSeq, streamEnd: end });
    return { ...snap, streamSeq: 0 };
  }

  // ---------------------------------------------------------------- helpers

  private every(ms: number, fn: () => void): () => void {
    let cancel = () => undefined as void;
    const loop = () => {
      if (this.s.stopped) return;
      fn();
      cancel = this.s.ports.clock.setTimer(ms, loop);
    };
    cancel = this.s.ports.clock.setTimer(ms, loop);
    return () => cancel();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.s.ports.clock.setTimer(ms, resolve));
  }

  /** The round let writes go: truncate behind its snapshot now (see `takeSnapshot`). */
  roundEnded(): void {
    if (this.truncateAfterRound) {
      this.truncateCovered(this.truncateAfterRound);
      this.truncateAfterRound = undefined;
    }
  }

  /** Resolves true once `ready()` holds, false after `timeoutMs`. */
  private waitUntil(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.s.waits.wait(ready, timeoutMs) ?? Promise.resolve(false);
  }
}

/**
 * A fetched snapshot's encodings as JSON text, key by key, each stringified once: the
 * same text becomes the key's row in the store (`withTexts`) and its cold form in memory
 * (`KeySpace.loadKey`). Stringifying a million keys once for each costs a join a second.
 */
function encodingTexts(snapshot: SnapshotRecord): string[] {
  const texts = new Array<string>(snapshot.keys.length);
  for (let i = 0; i < texts.length; i++) {
    const encoded = snapshot.keys[i][1];
    texts[i] = typeof encoded === 'string' ? encoded : JSON.stringify(encoded);
  }
  return texts;
}

/** The snapshot with each key's encoding as its JSON text (see `SnapshotKey`), to write as it is. */
function withTexts(snapshot: SnapshotRecord, texts: readonly string[]): SnapshotRecord {
  return { ...snapshot, keys: snapshot.keys.map(([key, , term], i): SnapshotKey => (term ? [key, texts[i], term] : [key, texts[i]])) };
}
