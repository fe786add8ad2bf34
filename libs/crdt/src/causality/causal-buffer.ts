import type { ReplicaId } from '../crdt-type';
import { err, ok, type Result } from '../result';
import { vvGet, vvSet, type VersionVector } from './version-vector';

/**
 * What the buffer needs to know of an event: its origin, its place in the origin's
 * sequence (from 1), and the events of other replicas it depends on (`deps[r]` = how many
 * of r's events the origin had delivered when it made this one). The origin's own
 * predecessor, `seq - 1`, is implied.
 */
export interface CausalEvent {
  readonly origin: ReplicaId;
  readonly seq: number;
  readonly deps: VersionVector;
}

/** Limits of the buffer. */
export interface CausalBufferLimits {
  /** Events held back waiting for their dependencies, at most. */
  readonly pendingMax: number;
}

/**
 * Accepts events in any order, with duplicates, and releases each exactly once, only
 * after everything it depends on (causal delivery, as in Birman's CBCAST). Events that
 * arrive early wait; duplicates of delivered or waiting events are dropped. The number
 * of waiting events is bounded: at the bound, `offer` answers `BUFFER_FULL` and keeps
 * nothing of the new event, so the caller can slow down and offer it again later.
 */
export class CausalBuffer<E extends CausalEvent> {
  private readonly delivered: VersionVector;
  private readonly pending = new Map<ReplicaId, Map<number, E>>();
  private pendingCount = 0;

  constructor(
    private readonly limits: CausalBufferLimits,
    delivered: VersionVector = {},
  ) {
    this.delivered = { ...delivered };
  }

  /**
   * Takes an event. Returns, in a causal order, the events that became deliverable (the
   * new one and any it unblocked); an empty list when it must wait or was a duplicate.
   */
  offer(e: E): Result<E[]> {
    if (e.seq <= vvGet(this.delivered, e.origin)) return ok([]);
    let queue = this.pending.get(e.origin);
    if (queue?.has(e.seq)) return ok([]);
    if (!this.isDeliverable(e)) {
      if (this.pendingCount >= this.limits.pendingMax) {
        return err('BUFFER_FULL', `causal buffer holds ${this.pendingCount} events waiting for dependencies (limit ${this.limits.pendingMax}); offer ${e.origin}#${e.seq} again once missing events arrive`);
      }
      if (!queue) this.pending.set(e.origin, (queue = new Map()));
      queue.set(e.seq, e);
      this.pendingCount++;
      return ok([]);
    }
    const out: E[] = [e];
    vvSet(this.delivered, e.origin, e.seq);
    this.drain(out);
    return ok(out);
  }

  /** Records an event made by this replica itself; it must be the next of its origin. */
  markDelivered(origin: ReplicaId, seq: number): void {
    if (seq !== vvGet(this.delivered, origin) + 1) {
      throw new Error(`causal buffer: local event ${origin}#${seq} is not next (delivered ${vvGet(this.delivered, origin)})`);
    }
    vvSet(this.delivered, origin, seq);
  }

  /** What has been delivered so far (a copy). */
  deliveredVector(): VersionVector {
    return { ...this.delivered };
  }

  /** How many events wait for dependencies. */
  waiting(): number {
    return this.pendingCount;
  }

  /** For each origin with waiting events, the sequence number it waits for next. */
  gaps(): Array<{ origin: ReplicaId; nextSeq: number; waiting: number }> {
    const out: Array<{ origin: ReplicaId; nextSeq: number; waiting: number }> = [];
    for (const [origin, q] of this.pending) out.push({ origin, nextSeq: vvGet(this.delivered, origin) + 1, waiting: q.size });
    return out;
  }

  /**
   * What the waiting events are missing: for each origin whose next event is not here but
   * is needed (events of that origin wait, or a waiting event depends on it), the seq to
   * ask for. Unlike `gaps`, an origin whose next event is here, waiting only for other
   * origins' events, is not listed, and those other origins are: asking an origin to
   * resend what already waits here brings nothing.
   */
  missing(): Array<{ origin: ReplicaId; nextSeq: number }> {
    const out = new Map<ReplicaId, number>();
    for (const [origin, q] of this.pending) {
      const next = vvGet(this.delivered, origin) + 1;
      const head = q.get(next);
      if (!head) {
        out.set(origin, next);
        continue;
      }
      for (const r in head.deps) {
        if (r === origin || head.deps[r] <= vvGet(this.delivered, r)) continue;
        const rNext = vvGet(this.delivered, r) + 1;
        // When r's next event waits here too, r's own entry names what it needs.
        if (!this.pending.get(r)?.has(rNext)) out.set(r, rNext);
      }
    }
    return [...out].map(([origin, nextSeq]) => ({ origin, nextSeq }));
  }

  /**
   * Moves the delivered frontier forward to at least `vv` (after loading a snapshot) and
   * drops waiting events it covers. Returns events that became deliverable.
   */
  advanceTo(vv: VersionVector): E[] {
    for (const r of Object.keys(vv)) if (vv[r] > vvGet(this.delivered, r)) vvSet(this.delivered, r, vv[r]);
    for (const [origin, q] of this.pending) {
      const floor = vvGet(this.delivered, origin);
      for (const seq of q.keys()) if (seq <= floor) { q.delete(seq); this.pendingCount--; }
      if (q.size === 0) this.pending.delete(origin);
    }
    const out: E[] = [];
    this.drain(out);
    return out;
  }

  private isDeliverable(e: E): boolean {
    if (e.seq !== vvGet(this.delivered, e.origin) + 1) return false;
    const deps = e.deps;
    for (const r in deps) if (r !== e.origin && deps[r] > vvGet(this.delivered, r)) return false;
    return true;
  }

  private drain(out: E[]): void {
    let progress = true;
    while (progress && this.pendingCount > 0) {
      progress = false;
      for (const [origin, q] of this.pending) {
        let next = q.get(vvGet(this.delivered, origin) + 1);
        while (next && this.isDeliverable(next)) {
          q.delete(next.seq);
          this.pendingCount--;
          vvSet(this.delivered, origin, next.seq);
          out.push(next);
          progress = true;
          next = q.get(next.seq + 1);
        }
        if (q.size === 0) this.pending.delete(origin);
      }
    }
  }
}
