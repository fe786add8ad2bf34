import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/**
 * The replicas a client has heard lately, from the heartbeats every replica publishes
 * (`<prefix>.heartbeat`, every 200 ms). Requests are spread over them round-robin, and a
 * retried update goes back to the replica that got the first attempt (its reply memory
 * is per replica). Bounded: at most `REPLICAS_MAX` ids.
 */

/** A replica counts as live this long after its last heartbeat, ms (the replicas' own peer timeout). */
export const REPLICA_LIVE_MS = 1_500;
/** How often replicas send heartbeats, ms (docs/protocol.md §12). */
const HEARTBEAT_PERIOD_MS = 200;
/** Most replicas remembered. */
const REPLICAS_MAX = 1_000;

interface Seen {
  readonly atMs: number;
  readonly mode: string;
}

/** Live replicas by heartbeat. */
export class ReplicaDirectory {
  private readonly seen = new Map<string, Seen>();
  private readonly sub: Subscription;
  private next = 0;
  private firstHeard: Promise<void>;
  private heard!: () => void;

  constructor(
    nc: NatsConnection,
    subject: string,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.firstHeard = new Promise((r) => (this.heard = r));
    this.sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let b: { replica?: unknown; mode?: unknown };
        try {
          b = msg.json();
        } catch {
          return;
        }
        if (typeof b?.replica !== 'string') return;
        if (!this.seen.has(b.replica) && this.seen.size >= REPLICAS_MAX) return;
        this.seen.set(b.replica, { atMs: this.nowMs(), mode: typeof b.mode === 'string' ? b.mode : '?' });
        this.heard();
      },
    });
  }

  /**
   * Waits until a first heartbeat arrives and then one heartbeat period more (so every
   * live replica has been heard), at most `ms` in all.
   */
  async waitForFirst(ms: number): Promise<void> {
    const deadline = this.nowMs() + ms;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstHeard, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    const rest = Math.min(HEARTBEAT_PERIOD_MS + 50, deadline - this.nowMs());
    if (rest > 0) await new Promise<void>((r) => setTimeout(r, rest));
  }

  /** Live replica ids, sorted; those in mode Work first when `forWrites`. */
  live(forWrites = false): string[] {
    const now = this.nowMs();
    const ids = [...this.seen].filter(([, s]) => now - s.atMs <= REPLICA_LIVE_MS && (!forWrites || s.mode === 'Work')).map(([id]) => id);
    return ids.sort();
  }

  /** The next live replica round-robin, skipping `avoid`; undefined when none is known. */
  pick(forWrites: boolean, avoid?: string): string | undefined {
    let ids = this.live(forWrites);
    if (ids.length === 0 && forWrites) ids = this.live(false);
    const others = ids.filter((id) => id !== avoid);
    const from = others.length > 0 ? others : ids;
    if (from.length === 0) return undefined;
    return from[this.next++ % from.length];
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
