import type { Json, VersionVector } from '#crdt';
import { commandSpec, REPLICA_EVENTS, type EventName, type RoundCommandName } from '#protocol/commands';
import type { EventBatch } from '#protocol/replicated-event';
import type { RoundId } from '#protocol/round-messages';
import { ClientCommands, type Reply } from './client-commands';
import { PeerLiveness } from './peer-liveness';
import type { Heartbeat, ReplicaMode, SnapshotSummary, StreamReceiver } from './ports';
import type { ReplicaLimits } from './replica-config';
import { ReplicaLifecycle } from './replica-lifecycle';
import { ReplicaState, type ReplicaOptions, type ReplicaPorts } from './replica-state';
import type { RoundHost } from './round-host';
import { RoundParticipant } from './round-participant';
import { StreamIngest } from './stream-ingest';

export type { Reply, ReplicaOptions, ReplicaPorts };

/**
 * The replica core: pure replication logic behind ports. It turns client writes into
 * events (prepare at the origin, apply everywhere), applies remote events in causal order
 * exactly once through the causal buffer, group-commits everything with the consumer
 * position, publishes its own events through the outbox, answers bounded waits for causal
 * tokens and acknowledgements, and takes part in compaction rounds.
 *
 * It only composes its parts, which share one `ReplicaState`:
 * - `ClientCommands` (client-commands.ts): the client protocol, held writes during a round;
 * - `StreamIngest` (stream-ingest.ts): the op stream, causal delivery, resend and re-read;
 * - `ReplicaLifecycle` (replica-lifecycle.ts): start, catch-up, snapshots, truncation, re-join;
 * - `PeerLiveness` (peer-liveness.ts): heartbeats and what peers say;
 * - `RoundParticipant` (round-participant.ts): a compaction round, through `RoundHost`.
 */
export class ReplicaCore implements RoundHost, StreamReceiver {
  readonly round: RoundParticipant;
  private readonly s: ReplicaState;
  private readonly peers: PeerLiveness;
  private readonly commands: ClientCommands;
  private readonly ingest: StreamIngest;
  private readonly lifecycle: ReplicaLifecycle;

  constructor(ports: ReplicaPorts, options: ReplicaOptions = {}) {
    const s = new ReplicaState(ports, options);
    this.s = s;
    this.round = new RoundParticipant(this, ports.clock, ports.log);
    this.peers = new PeerLiveness(s, this.round);
    this.commands = new ClientCommands(s, this.peers, this.round);
    this.ingest = new StreamIngest(s, this.peers);
    this.lifecycle = new ReplicaLifecycle(s, this.ingest, this.peers, this.round, {
      setMode: (mode) => this.setMode(mode),
      tick: () => this.tick(),
      recoverStrong: (pending) => this.commands.recoverStrong(pending),
    });
  }

  /** The key space (read by the simulator's checker; writes go through commands and ingest). */
  get keys(): ReplicaState['keys'] {
    return this.s.keys;
  }

  /** The limits in force. */
  get limits(): ReplicaLimits {
    return this.s.limits;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads the disk state (or joins from the cluster's snapshot) and starts serving. */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /** Stops timers and the outbox (the adapters close their own connections). */
  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  /** This replica's id. */
  get replicaId(): string {
    return this.s.id;
  }

  /** Current mode. */
  get currentMode(): ReplicaMode {
    return this.s.mode;
  }

  /** The cut of the snapshot last loaded or written (own events at or below it are never republished). */
  get snapshotCut(): VersionVector {
    return this.s.snapshotCut;
  }

  // ---------------------------------------------------------------- the command table

  /**
   * Answers one request of the protocol's command table: client commands go to `handle`,
   * the coordinator's round commands to the round participant. The transport (and the
   * simulator) route every request through here, so no routing is written twice.
   */
  answer(command: string, body: Record<string, unknown>): Promise<Json> | Json {
    const spec = commandSpec(command);
    if (spec?.kind === 'round') return this.round.answer(spec.name as RoundCommandName, body);
    return this.handle(command, body) as Promise<Json>;
  }

  /** Takes one event of the table (a heartbeat, a resend request, the round's resume broadcast); malformed ones are dropped. */
  hear(event: EventName, body: unknown): void {
    switch (event) {
      case 'heartbeat': {
        const beat = REPLICA_EVENTS.heartbeat.parse(body);
        if (beat) this.heardPeer(beat);
        return;
      }
      case 'resend': {
        const req = REPLICA_EVENTS.resend.parse(body);
        if (req) this.resend(req.fromSeq, req.origin);
        return;
      }
      case 'round-resume':
        this.round.resume(body);
        return;
    }
  }

  // ---------------------------------------------------------------- client commands

  /** Answers one client command. Never throws: every failure is an error reply. */
  handle(command: string, body: Record<string, unknown>): Promise<Reply> {
    return this.commands.handle(command, body);
  }

  /** Runs writes held during a round, in arrival order (called when the replica returns to Work). */
  releaseHeld(): void {
    this.commands.releaseHeld();
  }

  /** Status for `crdtctl` and the `status` command. */
  status(): Record<string, Json> {
    return this.commands.status();
  }

  // ---------------------------------------------------------------- the op stream (StreamReceiver)

  /** Takes one stream message; resolves when its effects are durable (see `StreamIngest.receive`). */
  receive(batch: EventBatch, streamSeq: number, strongKey?: string): Promise<void> {
    return this.ingest.receive(batch, streamSeq, strongKey);
  }

  /** The stream was lost or reset: republish own events since the last round and read again from `fromSeq`. */
  streamReset(fromSeq: number): void {
    this.ingest.streamReset(fromSeq);
  }

  /** Another replica misses events of `origin` (ours when absent) from `fromSeq` on: publish again those held here (anti-entropy). */
  resend(fromSeq: number, origin?: string): void {
    this.ingest.resend(fromSeq, origin);
  }

  /** Re-joins from the cluster's snapshot (see `ReplicaLifecycle.rejoin`). False when postponed. */
  rejoin(reason: string, onlyIfNewer = false): Promise<boolean> {
    return this.lifecycle.rejoin(reason, onlyIfNewer);
  }

  /** Last stream sequence processed. */
  consumedSeq(): number {
    return this.s.streamSeq;
  }

  /** The origins the causal buffer waits on, with the seq each needs next (read by the simulator's convergence check). */
  waitingGaps(): Array<{ origin: string; nextSeq: number }> {
    return this.s.buffer.gaps();
  }

  /** Events waiting for a group commit. */
  pendingCommitEvents(): number {
    return this.s.commits.depth;
  }

  /** The stream position durably processed (nothing before it still waits). */
  durableStreamSeq(): number {
    return this.s.durableStreamSeq();
  }

  // ---------------------------------------------------------------- peers

  /** Takes a peer's heartbeat. */
  heardPeer(beat: Heartbeat): void {
    this.s.skewGuard.heard(beat.replica, beat.sentMs, this.s.ports.clock.nowMs(), beat.clockStepUnconfirmed === true);
    this.peers.heardPeer(beat);
  }

  /** What this replica says of itself. */
  heartbeat(): Heartbeat {
    return this.peers.heartbeat();
  }

  private tick(): void {
    this.s.skewGuard.read(this.s.ports.clock.nowMs());
    this.peers.sendBeat();
    this.s.commits.flushLazy();
    this.ingest.requestMissing(false);
    this.ingest.rereadSkipped(this.s.ports.clock.nowMs());
    this.peers.askPeersAhead(this.s.ports.clock.nowMs());
    this.s.outbox.pump();
    this.lifecycle.checkRoundAgreement();
    // Per-key digest terms out of date since their last change, a bounded step per beat (so a cut pays only for recent changes).
    if (this.s.mode === 'Work') this.s.keys.refreshStale(this.s.limits.digestRefreshKeysPerBeat);
  }

  // ---------------------------------------------------------------- RoundHost (for the round participant)

  /** Sets the mode (the round participant drives Sync and Ready). */
  setMode(mode: ReplicaMode): void {
    const was = this.s.mode;
    this.s.mode = mode;
    if (mode === 'Work' && was !== 'Work') {
      this.commands.releaseHeld();
      this.lifecycle.roundEnded();
    }
    this.peers.announceMode();
  }

  /** Own events not yet in the stream (a strong write whose outcome is not known yet counts: a freeze waits for it). */
  get outboxDepth(): number {
    return this.s.outbox.depth + (this.s.strongPendingSeq === undefined ? 0 : 1);
  }

  /** The own seq of a strong write whose outcome is not known yet (strong-commands.ts), if any. */
  get strongPendingSeq(): number | undefined {
    return this.s.strongPendingSeq;
  }

  /** The own seq known to be in the stream. */
  get ownPublished(): number {
    return this.s.outbox.publishedThrough;
  }

  /** What has been applied. */
  applied(): VersionVector {
    return this.s.buffer.deliveredVector();
  }

  /** Resolves true once `ready()` holds, false after `timeoutMs`. */
  waitUntil(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.s.waits.wait(ready, timeoutMs) ?? Promise.resolve(false);
  }

  /** Asks the holders of what `cut` names and this replica lacks to publish it again. */
  requestBehind(cut: VersionVector): void {
    this.ingest.requestBehind(cut);
  }

  /** The newest round a live peer holds the snapshot of (undefined when no peer says). */
  newestPeerCommitted(): RoundId | undefined {
    return this.peers.newestCommitted(this.s.ports.clock.nowMs());
  }

  /** Makes pending writes durable and starts publishing them (a freeze flushes everything). */
  async flushOutbox(): Promise<void> {
    // A strong write whose publish is out becomes an own event (or none) when the stream answers: wait for it, bounded.
    await this.commands.strongSettled(this.s.limits.freezeFlushMs);
    await this.s.commits.flushed();
    this.s.outbox.pump();
  }

  /** Writes a snapshot at the current state (a delta of the changed keys), compacts and truncates; undefined when the state is not at `cut`. */
  takeSnapshot(epoch: number, round: number, cut?: VersionVector): Promise<SnapshotSummary | undefined> {
    return this.lifecycle.takeSnapshot(epoch, round, cut);
  }

  /** Publishes the snapshot on disk for joiners if it is still of round `of`; false when a newer round replaced it. */
  publishSnapshot(of: { readonly epoch: number; readonly round: number }): Promise<boolean> {
    return this.lifecycle.publishSnapshot(of);
  }

  /** Digest of the whole state (compared in a round). */
  digest(): string {
    return this.s.keys.digest();
  }

  /** Per-key digests (named when a round finds a mismatch). */
  digestsByKey(): Record<string, string> {
    return this.s.keys.digestsByKey();
  }
}
