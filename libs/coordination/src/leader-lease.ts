import type { ClockPort, LeaseEntry, LeaseRecord, LeaseStorePort, LogPort } from './ports';

/** Settings of the leader lease. */
export interface LeaderLeaseConfig {
  /** How long a lease lasts without renewal; renewed every third of it. */
  readonly leaseMs: number;
  /**
   * The lowest epoch a new term may take, besides "previous + 1": the newest epoch the
   * replicas report, so a lost or reset KV bucket never restarts epochs below what
   * replicas have seen (they would refuse every round as stale).
   */
  readonly epochFloor: () => number;
}

/** Leadership changes, as the lease sees them. */
export interface LeaderLeaseEvents {
  elected(epoch: number): void;
  deposed(reason: string): void;
}

/** What this coordinator knows of the lease. */
export interface LeaseView {
  readonly leader: boolean;
  /** The holder as last read (undefined: nobody, or the lease has lapsed). */
  readonly holder: string | undefined;
  readonly epoch: number;
}

/**
 * Leader election by a lease in a compare-and-set register (a NATS KV key). The holder
 * renews every `leaseMs / 3` by compare-and-set on the revision it wrote last; a failed
 * compare-and-set means someone else holds it now. A standby reads the entry on the same
 * period and takes over, with epoch + 1, once the entry's revision has not moved for a
 * whole `leaseMs` of its own clock (so clock skew between coordinators does not matter),
 * or at once when the lease was released or its holder's wall-clock expiry is a whole
 * lease in the past.
 *
 * The holder counts itself leader only until two thirds of a lease after the start of
 * its last successful write: a standby cannot take over before a whole lease after that
 * write, so the two never both act. Even if they did, the epoch fences the old one: the
 * replicas refuse round messages of an older epoch.
 */
export class LeaderLease {
  private state: 'standby' | 'leader' = 'standby';
  private currentEpoch = 0;
  private holder: string | undefined;
  private revision = 0;
  /** Start of the last write that confirmed our lease (leader only). */
  private confirmedMs = 0;
  /** The entry revision a standby watches and since when it has not moved. */
  private watched: { revision: number; sinceMs: number } | undefined;
  private cancelTick: (() => void) | undefined;
  private running = false;
  /** Store operations run one at a time, so a renew and an epoch raise never race on the revision. */
  private queue: Promise<unknown> = Promise.resolve();
  private lookedOnce: () => void = () => undefined;
  private readonly firstLook = new Promise<void>((resolve) => (this.lookedOnce = resolve));

  constructor(
    private readonly id: string,
    private readonly store: LeaseStorePort,
    private readonly clock: ClockPort,
    private readonly log: LogPort,
    private readonly config: LeaderLeaseConfig,
    private readonly events: LeaderLeaseEvents,
  ) {}

  /** Starts contending: a first attempt now, then every `leaseMs / 3`. */
  /** Resolves once the lease has been looked at (read, taken or found held) for the first time. */
  looked(): Promise<void> {
    return this.firstLook;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      if (!this.running) return;
      void this.tick().finally(() => {
        this.lookedOnce();
        if (this.running) this.cancelTick = this.clock.setTimer(this.periodMs(), loop);
      });
    };
    loop();
  }

  /** Stops contending; releases the lease when held, so a standby takes over without waiting for it to lapse. */
  async stop(release = true): Promise<void> {
    this.running = false;
    this.cancelTick?.();
    this.cancelTick = undefined;
    if (release) {
      await this.serial(async () => {
        if (this.state !== 'leader') return;
        try {
          const rev = await this.store.update({ id: '', epoch: this.currentEpoch, expiresAtMs: 0 }, this.revision);
          if (rev !== undefined) this.log.info('leader lease released', { epoch: this.currentEpoch });
        } catch (e) {
          this.log.warn('leader lease not released; a standby takes over when it lapses', { error: String(e) });
        }
      });
    }
    if (this.state === 'leader') this.depose('stopping');
  }

  /** True while this coordinator holds a lease it has confirmed recently enough to act on. */
  isLeader(): boolean {
    return this.state === 'leader' && this.clock.nowMs() - this.confirmedMs < this.validMs();
  }

  /** The current epoch (ours when leader, else the holder's as last read). */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** What this coordinator knows of the lease. */
  view(): LeaseView {
    return { leader: this.isLeader(), holder: this.state === 'leader' ? this.id : this.holder, epoch: this.currentEpoch };
  }

  /**
   * Moves our term to epoch `min` (or keeps it when already there): replicas reported a
   * newer epoch than ours. False when we are not (or no longer) leader.
   */
  raiseEpoch(min: number): Promise<boolean> {
    return this.serial(async () => {
      if (this.state !== 'leader') return false;
      if (this.currentEpoch >= min) return true;
      const startMs = this.clock.nowMs();
      const rev = await this.write({ id: this.id, epoch: min, expiresAtMs: startMs + this.config.leaseMs }, this.revision).catch((e) => {
        this.log.warn('epoch not raised: the lease store failed', { error: String(e) });
        return 'error' as const;
      });
      if (rev === 'error') return false;
      if (rev === undefined) {
        this.depose('the lease changed hands while raising the epoch');
        return false;
      }
      this.log.warn('epoch raised above what replicas reported', { from: this.currentEpoch, to: min });
      this.currentEpoch = min;
      this.revision = rev;
      this.confirmedMs = startMs;
      return true;
    });
  }

  /** One step: renew when leader, else look at the lease and take it over when it lapsed. Public for tests. */
  tick(): Promise<void> {
    return this.serial(() => (this.state === 'leader' ? this.renew() : this.contend()));
  }

  private async renew(): Promise<void> {
    const startMs = this.clock.nowMs();
    let rev: number | undefined;
    try {
      rev = await this.write({ id: this.id, epoch: this.currentEpoch, expiresAtMs: startMs + this.config.leaseMs }, this.revision);
    } catch (e) {
      if (this.clock.nowMs() - this.confirmedMs >= this.validMs()) this.depose(`the lease could not be renewed for ${this.clock.nowMs() - this.confirmedMs} ms: ${String(e)}`);
      else this.log.warn('leader lease renewal failed; retrying', { error: String(e) });
      return;
    }
    if (rev === undefined) {
      this.depose('another coordinator took the lease over');
      return;
    }
    this.revision = rev;
    this.confirmedMs = startMs;
    if (this.clock.nowMs() - startMs >= this.validMs()) this.log.warn('leader lease renewal was slow', { ms: this.clock.nowMs() - startMs });
  }

  private async contend(): Promise<void> {
    const nowMs = this.clock.nowMs();
    let entry: LeaseEntry | undefined;
    try {
      entry = await this.store.read();
    } catch (e) {
      this.log.warn('leader lease not readable', { error: String(e) });
      return;
    }
    if (entry === undefined) {
      await this.acquire(undefined, 0);
      return;
    }
    const v = entry.value;
    if (v) this.currentEpoch = Math.max(this.currentEpoch, v.epoch);
    if (!this.watched || this.watched.revision !== entry.revision) this.watched = { revision: entry.revision, sinceMs: nowMs };
    const lapsed =
      v === undefined || // deleted or unreadable: nobody holds it
      v.id === '' || // released
      v.id === this.id || // our own lease from before a restart
      nowMs - this.watched.sinceMs >= this.config.leaseMs || // unchanged for a whole lease on our clock
      v.expiresAtMs + this.config.leaseMs < nowMs; // long expired by the holder's own clock
    if (!lapsed) {
      this.holder = v.id;
      return;
    }
    this.holder = undefined;
    await this.acquire(v, entry.revision);
  }

  private async acquire(previous: LeaseRecord | undefined, revision: number): Promise<void> {
    const epoch = Math.max(previous?.epoch ?? 0, this.currentEpoch, this.config.epochFloor()) + 1;
    const startMs = this.clock.nowMs();
    let rev: number | undefined;
    try {
      rev = await this.write({ id: this.id, epoch, expiresAtMs: startMs + this.config.leaseMs }, revision);
    } catch (e) {
      this.log.warn('leader lease not acquired: the lease store failed', { error: String(e) });
      return;
    }
    if (rev === undefined) return; // another standby was faster
    this.state = 'leader';
    this.currentEpoch = epoch;
    this.revision = rev;
    this.confirmedMs = startMs;
    this.holder = this.id;
    this.watched = undefined;
    this.events.elected(epoch);
  }

  private write(value: LeaseRecord, revision: number): Promise<number | undefined> {
    return revision === 0 ? this.store.create(value) : this.store.update(value, revision);
  }

  private depose(reason: string): void {
    if (this.state !== 'leader') return;
    this.state = 'standby';
    this.holder = undefined;
    this.watched = undefined;
    this.events.deposed(reason);
  }

  private periodMs(): number {
    return Math.max(1, Math.floor(this.config.leaseMs / 3));
  }

  private validMs(): number {
    return (this.config.leaseMs * 2) / 3;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
