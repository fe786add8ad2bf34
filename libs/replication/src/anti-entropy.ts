import { vvGet, type VersionVector } from '#crdt';
import type { ClockPort, Heartbeat, LogPort, OpStreamPort, StorePort } from './ports';
import { recent } from './recent';

/** Limits of the peer side of anti-entropy (units last). */
export interface AntiEntropyLimits {
  /** Events of another origin republished per request (a requester asks again for the rest). */
  readonly eventsPerRequestMax: number;
  /** Events in one republished message. */
  readonly batchEventsMax: number;
  /** Least time between two republishes of one origin's events by this replica. */
  readonly perOriginIntervalMs: number;
}

/**
 * Picks whom to ask for `origin`'s events from `nextSeq` on (after Bayou's anti-entropy,
 * seed 001): the origin itself while it is live, else the live peer that has applied the
 * most of them (ties by id, so every requester asks the same one). When nobody live holds
 * them the origin is asked anyway: it may come back.
 */
export function chooseHolder(origin: string, nextSeq: number, live: readonly Heartbeat[]): string {
  if (live.some((b) => b.replica === origin)) return origin;
  let best: { id: string; has: number } | undefined;
  for (const b of live) {
    const has = vvGet(b.applied, origin);
    if (has < nextSeq) continue;
    if (!best || has > best.has || (has === best.has && b.replica < best.id)) best = { id: b.replica, has };
  }
  return best ? best.id : origin;
}

/**
 * The peer side of anti-entropy: a replica asked for another origin's events (the origin
 * is gone, or the stream lost them) publishes again those it still holds in its op log.
 * What a round compacted is not held as events any more; a replica that lacks it is
 * behind a round and re-joins from the snapshot instead. The copies are ordinary stream
 * messages on the origin's subject with a republish tag of this replica in the message
 * id (so the duplicate window keeps them); receivers drop what they have already applied
 * (exactly once per (origin, seq)), so a copy can never be applied twice. One republish
 * at a time, bounded in events and in how often per origin.
 */
export class PeerResend {
  private busy = false;
  private readonly lastByOrigin = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly self: () => string,
    private readonly store: StorePort,
    private readonly stream: OpStreamPort,
    private readonly clock: ClockPort,
    private readonly log: LogPort,
    private readonly limits: AntiEntropyLimits,
  ) {}

  /** Publishes `origin`'s events from `fromSeq` on that this replica holds above `covered` (its snapshot's cut). */
  serve(origin: string, fromSeq: number, covered: VersionVector): void {
    const now = this.clock.nowMs();
    const last = this.lastByOrigin.get(origin);
    if (this.busy || (last !== undefined && recent(now, last, this.limits.perOriginIntervalMs))) return;
    this.busy = true;
    this.lastByOrigin.set(origin, now);
    const tag = `${this.self()}.${now}.${++this.count}`;
    void this.republish(origin, Math.max(fromSeq - 1, vvGet(covered, origin)), tag)
      .catch((e: unknown) => this.log.warn('could not republish a peer\'s events; the requester asks again', { origin, fromSeq, error: String(e) }))
      .finally(() => (this.busy = false));
  }

  /**
   * Before a re-join drops the op log: publishes every event of `origin` it holds after
   * `afterSeq` (what the snapshot joined lacks), page by page, and resolves once the stream
   * has them all (rejects when a publish fails). Other replicas may hold no other copy: the
   * origin died, the stream lost them, and the snapshot was made by members that never had
   * them (seed 40467).
   */
  async republishHeld(origin: string, afterSeq: number): Promise<number> {
    const tag = `${this.self()}.${this.clock.nowMs()}.${++this.count}`;
    let after = afterSeq;
    let total = 0;
    for (;;) {
      const n = await this.republish(origin, after, tag);
      if (n === 0) return total;
      total += n;
      after += n;
    }
  }

  /** Publishes the consecutive run of `origin`'s events after `afterSeq` (one page); resolves with how many. */
  private async republish(origin: string, afterSeq: number, tag: string): Promise<number> {
    const events = await this.store.ownEventsAfter(origin, afterSeq, this.limits.eventsPerRequestMax);
    if (events.length === 0) return 0;
    // Only a run of consecutive seqs: a receiver applies nothing past a gap anyway.
    let n = 1;
    while (n < events.length && events[n].seq === events[n - 1].seq + 1) n++;
    const run = events.slice(0, n);
    if (run[0].seq !== afterSeq + 1) return 0;
    this.log.info('republishing another origin\'s events', { origin, fromSeq: run[0].seq, throughSeq: run[run.length - 1].seq });
    for (let i = 0; i < run.length; i += this.limits.batchEventsMax) {
      await this.stream.publish(run.slice(i, i + this.limits.batchEventsMax), tag);
    }
    return run.length;
  }
}
