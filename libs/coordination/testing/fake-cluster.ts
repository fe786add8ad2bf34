import { vvGet, vvSet, type VersionVector } from '#crdt/causality/version-vector';
import type { Json } from '#crdt/json';
import type { Heartbeat, ReplicaMode, SnapshotRecord, SnapshotSummary } from '#replication/ports';
import type { RoundHost } from '#replication/round-host';
import { RoundParticipant } from '#replication/round-participant';
import { CapturingLog } from '#testing/capturing-log';
import { ReplicaRequestError, type LeaseEntry, type LeaseRecord, type LeaseStorePort, type ReplicaPhase, type ResumeBroadcast, type RoundPorts } from '../src/ports';
import { ManualClock } from './manual-clock';

/**
 * In-memory replicas for the coordinator's specs. Each runs the real replica side of the
 * round protocol (`RoundParticipant` from libs/replication) over a small fake core: a
 * key → value map, a version vector, an outbox and a shared in-memory op stream with a
 * delivery delay. Faults: a replica can stay silent on chosen phases, refuse them, or
 * have its state corrupted behind the protocol's back.
 */

interface StreamEntry {
  readonly seq: number;
  readonly origin: string;
  readonly originSeq: number;
  readonly key: string;
  readonly value: string;
}

/** The fake core the real `RoundParticipant` drives, through the same narrow `RoundHost` the real core implements. */
export class FakeReplica implements RoundHost {
  readonly round: RoundParticipant;
  readonly limits = { freezeFlushMs: 3_000, cutWaitMs: 5_000, resendAfterMs: 1_000 };
  mode: ReplicaMode = 'Work';
  /** Phases this replica does not answer (the request times out). */
  readonly silentOn = new Set<ReplicaPhase>();
  /** Phases this replica refuses with this error. */
  readonly refuseOn = new Map<ReplicaPhase, { code: string; message: string }>();
  /** When true, own events stay in the outbox (the stream does not take them). */
  outboxStuck = false;
  readonly snapshots: SnapshotRecord[] = [];
  readonly publishedSnapshots: SnapshotRecord[] = [];
  readonly rejoins: string[] = [];
  readonly held: string[] = [];
  private readonly data = new Map<string, string>();
  private readonly vv: VersionVector = {};
  private outbox: StreamEntry[] = [];
  private ownSeq = 0;
  private published = 0;
  private streamSeq = 0;
  private waiters = new Set<{ ready: () => boolean; resolve: (ok: boolean) => void; cancel: () => void }>();

  constructor(
    readonly replicaId: string,
    private readonly cluster: FakeCluster,
  ) {
    this.round = new RoundParticipant(this, cluster.clock, cluster.log);
  }

  get currentMode(): ReplicaMode {
    return this.mode;
  }

  setMode(mode: ReplicaMode): void {
    this.mode = mode;
  }

  get outboxDepth(): number {
    return this.outbox.length;
  }

  get ownPublished(): number {
    return this.published;
  }

  applied(): VersionVector {
    return { ...this.vv };
  }

  /** The newest round a live peer holds (the fake has no peers: none). */
  newestPeerCommitted(): { epoch: number; round: number } | undefined {
    return undefined;
  }

  digest(): string {
    return JSON.stringify([...this.data].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  digestsByKey(): Record<string, string> {
    return Object.fromEntries([...this.data].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** The fake stream loses nothing, so there is never anything to ask for again. */
  requestBehind(): void {}

  async flushOutbox(): Promise<void> {
    this.pump();
  }

  waitUntil(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { ready, resolve, cancel: () => undefined as void };
      w.cancel = this.cluster.clock.setTimer(timeoutMs, () => {
        this.waiters.delete(w);
        resolve(false);
      });
      this.waiters.add(w);
    });
  }

  async takeSnapshot(epoch: number, round: number): Promise<SnapshotSummary> {
    const s: SnapshotRecord = { epoch, round, cut: this.applied(), streamSeq: this.streamSeq, keys: [...this.data].map(([k, v]) => [k, v as Json] as const) };
    this.snapshots.push(s);
    return { epoch, round, cut: s.cut, streamSeq: s.streamSeq, keys: s.keys.length, changedKeys: s.keys.length };
  }

  /** Publishes the latest snapshot taken when it is of round `of` (as the real core publishes the one on its disk). */
  async publishSnapshot(of: { epoch: number; round: number }): Promise<boolean> {
    const s = this.snapshots[this.snapshots.length - 1];
    if (!s || s.epoch !== of.epoch || s.round !== of.round) return false;
    this.publishedSnapshots.push(s);
    return true;
  }

  async rejoin(reason: string): Promise<boolean> {
    this.rejoins.push(reason);
    return true;
  }

  /** A client write: applied at once in Work, held (and recorded) otherwise. */
  write(key: string, value: string): boolean {
    if (this.mode !== 'Work') {
      this.held.push(key);
      return false;
    }
    this.ownSeq++;
    vvSet(this.vv, this.replicaId, this.ownSeq);
    this.data.set(key, value);
    this.outbox.push({ seq: 0, origin: this.replicaId, originSeq: this.ownSeq, key, value });
    this.pump();
    return true;
  }

  /** Changes state behind the protocol's back (a replication bug). */
  corrupt(key: string, value: string): void {
    this.data.set(key, value);
  }

  /** Publishes the outbox to the stream (unless stuck). */
  pump(): void {
    if (this.outboxStuck) return;
    for (const e of this.outbox) this.cluster.append(e);
    if (this.outbox.length > 0) this.published = this.outbox[this.outbox.length - 1].originSeq;
    this.outbox = [];
    this.poke();
  }

  /** Takes one stream entry (in stream order). */
  deliver(e: StreamEntry): void {
    if (e.seq <= this.streamSeq) return;
    this.streamSeq = e.seq;
    if (e.origin !== this.replicaId && e.originSeq > vvGet(this.vv, e.origin)) {
      vvSet(this.vv, e.origin, e.originSeq);
      this.data.set(e.key, e.value);
    }
    this.poke();
  }

  heartbeat(): Heartbeat {
    const r = this.round.current();
    return {
      v: 1,
      replica: this.replicaId,
      mode: this.mode,
      applied: this.applied(),
      opLogLength: this.ownSeq + Object.keys(this.vv).length,
      outboxDepth: this.outbox.length,
      streamSeq: this.streamSeq,
      keys: this.data.size,
      epoch: r.epoch,
      round: r.round,
      sentMs: this.cluster.clock.nowMs(),
    };
  }

  /** Answers one round request as the replica app would (refusals and silence as configured). */
  async handle(phase: ReplicaPhase, body: unknown): Promise<unknown> {
    const refusal = this.refuseOn.get(phase);
    if (refusal) return { ok: false, error: refusal };
    return this.round.answer(phase, body);
  }

  private poke(): void {
    for (const w of this.waiters) {
      if (w.ready()) {
        this.waiters.delete(w);
        w.cancel();
        w.resolve(true);
      }
    }
  }
}

/** A request the cluster saw. */
export interface SeenRequest {
  readonly replica: string;
  readonly phase: ReplicaPhase;
  readonly body: Record<string, unknown>;
}

/** Replicas sharing an in-memory op stream, and the round ports that reach them. */
export class FakeCluster {
  readonly clock: ManualClock;
  readonly log = new CapturingLog();
  readonly replicas = new Map<string, FakeReplica>();
  readonly requests: SeenRequest[] = [];
  readonly broadcasts: ResumeBroadcast[] = [];
  readonly events: Record<string, unknown>[] = [];
  readonly purges: number[] = [];
  private readonly stream: StreamEntry[] = [];
  private firstSeq = 1;

  constructor(
    ids: readonly string[],
    readonly deliveryDelayMs = 5,
    clock = new ManualClock(),
  ) {
    this.clock = clock;
    for (const id of ids) this.add(id);
  }

  add(id: string): FakeReplica {
    const r = new FakeReplica(id, this);
    this.replicas.set(id, r);
    return r;
  }

  get(id: string): FakeReplica {
    const r = this.replicas.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  /** Appends to the stream; every replica receives it after the delivery delay. */
  append(e: StreamEntry): void {
    const entry = { ...e, seq: this.firstSeq + this.stream.length };
    this.stream.push(entry);
    for (const r of this.replicas.values()) this.clock.setTimer(this.deliveryDelayMs, () => r.deliver(entry));
  }

  /** Round ports reaching these replicas; `log` receives the coordinator's log lines. */
  ports(log = this.log): RoundPorts {
    return {
      clock: this.clock,
      log,
      request: (replica, phase, body, timeoutMs) => {
        // JSON both ways, as on the wire.
        const wire = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
        this.requests.push({ replica, phase, body: wire });
        const r = this.replicas.get(replica);
        if (!r) return Promise.reject(new ReplicaRequestError('NO_RESPONDERS', `no responders for ${replica}.${phase}`));
        if (r.silentOn.has(phase)) {
          return new Promise((_, reject) => this.clock.setTimer(timeoutMs, () => reject(new ReplicaRequestError('TIMEOUT', `${replica}.${phase} timed out`))));
        }
        return r.handle(phase, wire).then((reply) => JSON.parse(JSON.stringify(reply)) as unknown);
      },
      broadcastResume: (body) => {
        this.broadcasts.push(body);
        for (const r of this.replicas.values()) r.round.resume(JSON.parse(JSON.stringify(body)));
      },
      purgeStream: async (keepFromSeq) => {
        this.purges.push(keepFromSeq);
        const drop = Math.max(0, Math.min(keepFromSeq - this.firstSeq, this.stream.length));
        this.stream.splice(0, drop);
        this.firstSeq += drop;
      },
      emit: (event) => {
        this.events.push(JSON.parse(JSON.stringify(event)) as Record<string, unknown>);
      },
    };
  }

  /** Requests of one phase. */
  requestsOf(phase: ReplicaPhase): SeenRequest[] {
    return this.requests.filter((r) => r.phase === phase);
  }
}

/** An in-memory compare-and-set register for the leader lease, shared by several coordinators. */
export class InMemoryLeaseStore implements LeaseStorePort {
  private entry: { value: LeaseRecord | undefined; revision: number } | undefined;
  private revisions = 0;
  /** When set, every call rejects with this (the store is unreachable). */
  failWith: Error | undefined;
  readonly writes: LeaseRecord[] = [];

  async read(): Promise<LeaseEntry | undefined> {
    if (this.failWith) throw this.failWith;
    return this.entry ? { value: this.entry.value ? { ...this.entry.value } : undefined, revision: this.entry.revision } : undefined;
  }

  async create(value: LeaseRecord): Promise<number | undefined> {
    if (this.failWith) throw this.failWith;
    if (this.entry && this.entry.value !== undefined) return undefined;
    return this.put(value);
  }

  async update(value: LeaseRecord, revision: number): Promise<number | undefined> {
    if (this.failWith) throw this.failWith;
    if (!this.entry || this.entry.revision !== revision) return undefined;
    return this.put(value);
  }

  /** The stored value now. */
  current(): LeaseRecord | undefined {
    return this.entry?.value;
  }

  /** Overwrites the entry regardless of revision (a test's hand on the bucket). */
  force(value: LeaseRecord | undefined): void {
    this.entry = { value, revision: ++this.revisions };
  }

  private put(value: LeaseRecord): number {
    this.writes.push({ ...value });
    this.entry = { value: { ...value }, revision: ++this.revisions };
    return this.entry.revision;
  }
}
