import { vvCompare, type Json, type VersionVector } from '#crdt';
import type { CommitBatch, SnapshotRecord } from '#replication/ports';
import type { ReplicatedEvent } from '#replication/replicated-event';
import type { DiskObserver } from './sim-store';
import type { Trace } from './trace';

/** An event as its origin created it, with what the simulator saw it change there. */
export interface CreatedEvent {
  readonly origin: string;
  readonly seq: number;
  readonly key: string;
  readonly type: string;
  /** The event's ops (a copy). */
  readonly ops: Json[];
  /** A key-level delete: the events on its key that `context` covers are removed. */
  readonly delete: boolean;
  /** What the event's origin had applied when it made it (its deps and its own earlier events). */
  readonly context: VersionVector;
  readonly time: number;
  /** The key's value at the origin just before and just after the event was applied there. */
  readonly before: Json | undefined;
  readonly after: Json | undefined;
  /** Virtual time of creation. */
  readonly atMs: number;
  /** Set once a commit holding it landed on the origin's disk. */
  durable: boolean;
  /** Set when the event was lost in a crash and its seq was used again by a later event. */
  replaced: boolean;
}

/** A round's cut as the coordinator sent it. */
interface RoundCut {
  readonly cut: VersionVector;
  readonly members: readonly string[];
}

/**
 * Watches the run for broken invariants as they happen, and keeps the ledgers the final
 * checker needs: every event each origin created (and whether it became durable), the
 * cut of every round, and counts for the report. A violation is recorded with the
 * virtual time and also written to the trace.
 */
export class Monitor implements DiskObserver {
  readonly violations: string[] = [];
  /** origin → seq → the event as created (a later creation of the same seq replaces a lost one). */
  readonly created = new Map<string, Map<number, CreatedEvent>>();
  /** key → every event created on it (replaced ones included, marked). */
  readonly byKey = new Map<string, CreatedEvent[]>();
  private readonly roundCuts = new Map<string, RoundCut>();
  readonly stats = {
    eventsCreated: 0,
    /** Key deletes made, and of those, ones whose origin had missed part of a round's cut (their keys are checked by convergence only). */
    deletesCreated: 0,
    deletesPastRound: 0,
    refusedEvents: 0,
    seqReusedAfterLoss: 0,
    snapshotsWritten: 0,
    resets: 0,
    appliedPastCut: 0,
    errorLogs: 0,
    digestMismatches: 0,
    /** Remote events held because their time was ahead of the replica's clock, and refused beyond the hard limit. */
    eventsHeldForTime: 0,
    eventsRefusedForTime: 0,
  };

  constructor(
    private readonly trace: Trace,
    private readonly now: () => number,
  ) {}

  /** Records a broken invariant. */
  violation(text: string): void {
    if (this.violations.length < 50) this.violations.push(`@${this.now()}ms ${text}`);
    this.trace.line(this.now(), `VIOLATION ${text}`);
  }

  /** A coordinator found replicas with different digests at one cut (judged by the simulation, which sees why). */
  noteDigestMismatch(text: string): void {
    this.stats.digestMismatches++;
    this.trace.line(this.now(), `digest mismatch: ${text}`);
  }

  /** A process logged a warning with a stable code. */
  noteLogCode(code: string): void {
    if (code === 'EVENT_TIME_AHEAD') this.stats.eventsHeldForTime++;
    else if (code === 'EVENT_TIME_BEYOND_LIMIT') this.stats.eventsRefusedForTime++;
  }

  /** True once anything broke. */
  get failed(): boolean {
    return this.violations.length > 0;
  }

  /** An origin created an event (seen where its key space applies it). */
  eventCreated(e: ReplicatedEvent, before: Json | undefined, after: Json | undefined): void {
    let bySeq = this.created.get(e.origin);
    if (!bySeq) this.created.set(e.origin, (bySeq = new Map()));
    const prior = bySeq.get(e.seq);
    if (prior) {
      if (prior.durable) this.violation(`${e.origin} created seq ${e.seq} again, but the first ${e.origin}#${e.seq} (key ${prior.key}) was already durable`);
      else this.stats.seqReusedAfterLoss++;
      prior.replaced = true;
    }
    this.stats.eventsCreated++;
    if (e.delete) this.stats.deletesCreated++;
    const record: CreatedEvent = {
      origin: e.origin,
      seq: e.seq,
      key: e.key,
      type: e.type,
      ops: JSON.parse(JSON.stringify(e.ops)) as Json[],
      delete: e.delete === true,
      context: { ...e.deps, [e.origin]: e.seq - 1 },
      time: e.time,
      before,
      after,
      atMs: this.now(),
      durable: false,
      replaced: false,
    };
    bySeq.set(e.seq, record);
    let list = this.byKey.get(e.key);
    if (!list) this.byKey.set(e.key, (list = []));
    list.push(record);
  }

  /** The created event `origin#seq`, if any. */
  event(origin: string, seq: number): CreatedEvent | undefined {
    return this.created.get(origin)?.get(seq);
  }

  /** Every round cut the coordinators sent (committed or not). */
  cuts(): VersionVector[] {
    return [...this.roundCuts.values()].map((r) => r.cut);
  }

  /** The coordinator sent the cut of a round. */
  roundCut(epoch: number, round: number, cut: VersionVector, members: readonly string[]): void {
    this.roundCuts.set(`${epoch}/${round}`, { cut: { ...cut }, members: [...members] });
  }

  // ---------------------------------------------------------------- disk observer

  committed(replica: string, batch: CommitBatch): void {
    for (const e of batch.events) {
      if (e.origin !== replica) continue;
      const c = this.event(e.origin, e.seq);
      if (!c) {
        this.violation(`${replica} committed own event #${e.seq} that the simulator never saw created`);
        continue;
      }
      if (c.key !== e.key || c.time !== e.time) this.violation(`${replica} committed own #${e.seq} for key ${e.key}, but created #${e.seq} was for ${c.key}`);
      c.durable = true;
    }
  }

  snapshotWritten(replica: string, snapshot: SnapshotRecord): void {
    this.stats.snapshotsWritten++;
    const r = this.roundCuts.get(`${snapshot.epoch}/${snapshot.round}`);
    if (!r) {
      this.violation(`${replica} wrote a snapshot for round ${snapshot.epoch}/${snapshot.round}, which no coordinator cut`);
      return;
    }
    if (vvCompare(snapshot.cut, r.cut) !== 'equal') {
      this.violation(`${replica} snapshot of round ${snapshot.epoch}/${snapshot.round} covers ${JSON.stringify(snapshot.cut)} but the round's cut was ${JSON.stringify(r.cut)}: compaction ran at a state the other members do not share`);
    }
  }

  reset(_replica: string, _snapshot: SnapshotRecord): void {
    this.stats.resets++;
  }
}
