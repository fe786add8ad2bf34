import { wallMsOf, type CausalBuffer, type HybridLogicalClock, type VersionVector } from '#crdt';
import type { ReplicatedEvent } from '#protocol/replicated-event';
import { BoundedWaits } from './bounded-waits';
import { ClockSkewGuard } from './clock/clock-skew-guard';
import { EventTimeGate, type ClockDoubt } from './clock/event-time-gate';
import type { GroupCommit } from './group-commit';
import { KeySpace } from './key-space';
import type { Outbox } from './outbox';
import type { ClockPort, LogPort, NoticePort, OpStreamPort, ReplicaMode, SnapshotSourcePort, StorePort } from './ports';
import { DEFAULT_REPLICA_LIMITS, type ReplicaLimits } from './replica-config';
import type { ReplicaObserver } from './replica-observer';

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

/** Options of a replica core. */
export interface ReplicaOptions {
  /** A configured id; when absent the one on disk, else a new random one. */
  readonly replicaId?: string;
  readonly limits?: Partial<ReplicaLimits>;
  /** Watches every apply to the key space (the simulator's checks; production's metrics count applies when HTTP is on). */
  readonly observer?: ReplicaObserver;
}

/**
 * The mutable state the parts of a replica core share (commands, ingest, lifecycle,
 * peers): one object, so no part keeps its own copy of the mode, the causal buffer, the
 * clock or the stream position. Each field is written by the parts its comment names;
 * what only one part uses stays in that part.
 */
export class ReplicaState {
  readonly keys = new KeySpace();
  readonly limits: ReplicaLimits;
  readonly waits: BoundedWaits;
  readonly observer: ReplicaObserver | undefined;
  id = '';
  idConfigured = false;
  /** Set by the lifecycle (start, catch-up, re-join) and the round (through the core's `setMode`). */
  mode: ReplicaMode = 'Starting';
  /** Replaced by every load (lifecycle); offered to by ingest and own writes. */
  buffer!: CausalBuffer<ReplicatedEvent>;
  hlc!: HybridLogicalClock;
  commits!: GroupCommit;
  /** Undefined until `start` has loaded the disk. */
  outbox!: Outbox;
  /** Last stream sequence processed. */
  streamSeq = 0;
  /** First stream sequence whose events still wait in the causal buffer (not yet durable as applied). */
  stuckSince: number | undefined;
  /** First stream message with an event a full causal buffer left behind (read again later). */
  skippedSince: number | undefined;
  /** A re-join is under way (the stream adapter, a resume and the missed-round check may all ask for one). */
  rejoining = false;
  /** A re-join is replacing the state: stream messages are dropped until the load (see `rejoin`). */
  resetting = false;
  /** Bumped by every load (start, re-join); see `catchUp`. */
  loadGeneration = 0;
  /** Own events up to this seq were made before a re-join dropped the op log; writes wait until they are back (see `catchUp`). */
  ownSeqFloor = 0;
  /** The cut of the latest snapshot (own events at or below it are never republished). */
  snapshotCut: VersionVector = {};
  stopped = false;
  /** Whether this replica's wall clock may time writes (`CLOCK_SKEW`): fed by the peers' heartbeats and the tick. */
  readonly skewGuard: ClockSkewGuard;
  /** Which remote events are too far ahead of this clock to apply yet (ingest). */
  readonly timeGate: EventTimeGate;
  /**
   * Per key, the highest revision (stream sequence) of a strong write applied here: set by
   * own strong writes when stored and by ingest when it applies one from its key's strong
   * subject; emptied by every load and stream reset (a linearizable read then learns the
   * revision from the stream). At most one entry per key.
   */
  readonly strongRevisions = new Map<string, number>();
  /**
   * The own seq of the strong write whose outcome is not known yet (pending on disk, see
   * strong-commands.ts), if any: the event that takes it is applied when the stream
   * answers, possibly after a freeze began (the freeze waits for it, bounded).
   */
  strongPendingSeq: number | undefined;

  constructor(
    readonly ports: ReplicaPorts,
    options: ReplicaOptions,
  ) {
    this.limits = { ...DEFAULT_REPLICA_LIMITS, ...options.limits };
    if (options.replicaId !== undefined) {
      this.id = options.replicaId;
      this.idConfigured = true;
    }
    this.observer = options.observer;
    this.waits = new BoundedWaits(ports.clock, this.limits.waitsMax);
    this.skewGuard = new ClockSkewGuard(this.limits);
    this.timeGate = new EventTimeGate(() => this.hlc, () => ports.clock.nowMs(), this.limits, ports.log);
  }

  /** Why this replica's clock must not time a write now (`CLOCK_SKEW`), or undefined. */
  clockRefusal(): string | undefined {
    return this.skewGuard.refusal(this.ports.clock.nowMs(), wallMsOf(this.hlc.peek()));
  }

  /** Whether this replica's clock is in doubt (it takes no writes), and what it knows of its peers' clocks then (the time gate). */
  clockDoubt(): ClockDoubt | undefined {
    if (this.clockRefusal() === undefined) return undefined;
    return { peerOffsetMs: this.skewGuard.peerOffsetMs(this.ports.clock.nowMs()) };
  }

  /** Applies one event to the key space, telling the observer (if any) before and after. */
  applyEvent(event: ReplicatedEvent, prepared?: unknown): { ok: true } | { ok: false; reason: string } {
    const after = this.observer?.applying(event);
    const result = this.keys.apply(event, prepared);
    after?.(result);
    return result;
  }

  /** Empties the key space for a load (start, re-join). */
  clearKeys(): void {
    this.observer?.cleared();
    this.keys.clear();
    this.strongRevisions.clear();
  }

  /** Records that the strong write at `revision` of `key` is applied here. */
  noteStrongRevision(key: string, revision: number): void {
    if (revision > (this.strongRevisions.get(key) ?? 0)) this.strongRevisions.set(key, revision);
  }

  /**
   * True when the strong write at `revision` of `key` (and so every strong write of the key
   * before it) is applied here: recorded as applied, or the stream is consumed through it
   * with nothing at or before it still waiting.
   */
  appliedThrough(key: string, revision: number): boolean {
    if (revision <= (this.strongRevisions.get(key) ?? 0)) return true;
    return this.streamSeq >= revision && (this.stuckSince === undefined || this.stuckSince > revision);
  }

  /** The stream position durably processed (nothing before it still waits). */
  durableStreamSeq(): number {
    return this.stuckSince === undefined ? this.streamSeq : this.stuckSince - 1;
  }

  /** Announces an applied event on `<prefix>.changes.<key>`. */
  notifyChanged(e: ReplicatedEvent): void {
    // Every replica announces what it applied (`replica`); watchers that want one notice per write keep those with replica === origin.
    this.ports.notices.changed(e.key, { key: e.key, type: e.type, origin: e.origin, seq: e.seq, time: e.time, replica: this.id, ...(e.delete ? { deleted: true } : {}) });
  }
}
