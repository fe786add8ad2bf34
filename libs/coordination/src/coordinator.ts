import { isNat, isObject } from '#crdt/json';
import type { Heartbeat } from '#protocol/heartbeat';
import type { CoordinatorConfig } from './coordinator-config';
import { coordinationError, type CoordinationErrorCode, type CoordinationErrorReply } from './error-codes';
import { LeaderLease } from './leader-lease';
import { Membership, parseHeartbeat } from './membership';
import type { LeaseStorePort, RoundPorts } from './ports';
import { parseRoundResult, RoundHistory, type RoundHistoryPort } from './round-history';
import { scheduledRoundNeed } from './round-need';
import { compareRoundIds, type RoundResult, type RoundTrigger } from './round-result';
import { runRound } from './round-runner';
import { RoundScheduler } from './round-scheduler';

export type { CoordinatorConfig };

/** Every port a coordinator needs. */
export interface CoordinatorPorts extends RoundPorts {
  readonly lease: LeaseStorePort;
  /** Keeps round results across restarts; without it they live in memory only. */
  readonly history?: RoundHistoryPort;
  /** Called when this coordinator becomes leader or stops being it (the adapter (un)subscribes the leader-only subjects). */
  leadershipChanged(leader: boolean, epoch: number): void;
}

/** A member as `status` lists it: its latest heartbeat and how old it is. */
export type MemberStatus = Heartbeat & { readonly ageMs: number };

/** The reply to `status`. */
export interface StatusReply {
  readonly ok: true;
  readonly coordinator: string;
  /** The leader's id as this coordinator knows it; null when no lease is held. */
  readonly leader: string | null;
  readonly isLeader: boolean;
  readonly epoch: number;
  readonly members: readonly MemberStatus[];
  /** A round running now, if any. */
  readonly running: { readonly epoch: number; readonly round: number } | null;
  /** Newest first. */
  readonly lastRounds: readonly RoundResult[];
  /** Freeze-time figures over the kept history. */
  readonly freeze: {
    readonly committedRounds: number;
    readonly abortedRounds: number;
    /** Of the newest committed round. */
    readonly lastWritesHeldMs: number | null;
    readonly maxWritesHeldMs: number | null;
    readonly meanWritesHeldMs: number | null;
  };
  readonly schedule: { readonly intervalMs: number; readonly opLogThreshold: number };
}

/** The reply to `sync`: the round's result; `ok: false` with a stable code when it aborted. */
export type SyncReply = { readonly ok: true; readonly result: RoundResult } | (CoordinationErrorReply & { readonly result?: RoundResult });

/** The reply to `rounds`. */
export interface RoundsReply {
  readonly ok: true;
  /** Newest first. */
  readonly rounds: readonly RoundResult[];
}

const ROUNDS_LIMIT_DEFAULT = 20;

/**
 * The coordinator: membership from heartbeats, leadership by lease, and compaction
 * rounds run by the leader only (on a schedule, on an op-log threshold, or by hand, one
 * at a time). Pure logic behind ports; apps/coordinator binds them to NATS.
 *
 * A new leader first waits one heartbeat timeout (so it knows every live replica), then
 * resumes every live member under its new epoch: that ends whatever round a dead leader
 * left, and from then on replicas refuse the old leader's messages as stale.
 */
export class Coordinator {
  private readonly membership: Membership;
  private readonly lease: LeaderLease;
  private readonly scheduler: RoundScheduler;
  private readonly history: RoundHistory;
  private startedMs = 0;
  private roundNo = 0;
  /** Counts terms of leadership, so a late continuation of an old term does nothing. */
  private term = 0;
  private current: { epoch: number; round: number } | undefined;
  /** Resolves when a new leader has warmed up and cleaned up after its predecessor. */
  private ready: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly ports: CoordinatorPorts,
  ) {
    this.membership = new Membership({ silenceMsMax: config.heartbeatTimeoutMs, membersMax: config.membersMax });
    this.history = new RoundHistory({ resultsMax: config.historyMax, storedBytesMax: config.historyStoredBytesMax }, ports.log, ports.history);
    this.scheduler = new RoundScheduler(
      ports.clock,
      config.schedule,
      (t) => this.runOne(t),
      () => this.scheduledRoundWorthIt(),
    );
    this.lease = new LeaderLease(
      config.id,
      ports.lease,
      ports.clock,
      ports.log,
      { leaseMs: config.leaseMs, epochFloor: () => this.membership.newestRoundSeen().epoch },
      { elected: (e) => this.elected(e), deposed: (r) => this.deposed(r) },
    );
  }

  /** This coordinator's id. */
  get id(): string {
    return this.config.id;
  }

  /** Reads the round history kept by earlier coordinators (call before `start`); resolves with how many rounds it restored. */
  async restoreHistory(): Promise<number> {
    const n = await this.history.restore();
    if (n > 0) this.ports.log.info('round history restored', { rounds: n });
    return n;
  }

  /** Starts contending for leadership. */
  start(): void {
    this.startedMs = this.ports.clock.nowMs();
    this.lease.start();
  }

  /** Resolves once this coordinator has looked at the lease, so its status can name the leader. */
  leaseKnown(): Promise<void> {
    return this.lease.looked();
  }

  /** Stops: no new rounds, waits for a running one, releases the lease. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.scheduler.disable();
    // A round left running is ended by the next leader's take-over resume, or by the freeze leases.
    let cancel = () => undefined as void;
    const waited = await Promise.race([
      this.scheduler.idle().then(() => true),
      new Promise<boolean>((r) => (cancel = this.ports.clock.setTimer(this.config.stopRoundWaitMs, () => r(false)))),
    ]);
    cancel();
    if (!waited) this.ports.log.warn('stopping with a round still running', { round: this.current });
    await this.history.flushed();
    await this.lease.stop(true);
  }

  /** True while this coordinator holds the lease. */
  isLeader(): boolean {
    return this.lease.isLeader();
  }

  /** The current epoch. */
  get epoch(): number {
    return this.lease.epoch;
  }

  /** Takes one heartbeat off the wire (malformed ones are dropped). */
  heard(raw: unknown): void {
    const beat = parseHeartbeat(raw);
    if (!beat) return;
    const nowMs = this.ports.clock.nowMs();
    if (!this.membership.heard(beat, nowMs)) return;
    if (this.lease.isLeader() && !this.stopping) this.scheduler.checkThreshold([{ beat, heardAtMs: nowMs }]);
  }

  /** Takes a round event off the wire: standbys keep the leader's results, so any coordinator can report them. */
  observed(raw: unknown): void {
    if (!isObject(raw) || raw.phase !== 'done' || raw.coordinator === this.config.id) return;
    const r = parseRoundResult(raw.result);
    if (r) this.history.add(r, false);
  }

  /** Runs a round now (or right after the running one) and answers with its result. */
  async sync(): Promise<SyncReply> {
    if (this.stopping) return coordinationError('STOPPING', 'the coordinator is shutting down');
    if (!this.lease.isLeader()) return this.notLeaderReply();
    const result = await this.scheduler.requestNow();
    if (result.outcome === 'committed') return { ok: true, result };
    return { ...coordinationError(result.code ?? 'REFUSED', result.reason ?? 'the round aborted'), result };
  }

  /** The last rounds, newest first (`limit` 1..historyMax, default 20). */
  rounds(body: Record<string, unknown>): RoundsReply | CoordinationErrorReply {
    const limit = body.limit ?? ROUNDS_LIMIT_DEFAULT;
    if (!isNat(limit) || limit < 1 || limit > this.config.historyMax) {
      return coordinationError('BAD_REQUEST', `"limit" must be an integer from 1 to ${this.config.historyMax}`);
    }
    return { ok: true, rounds: this.newestFirst(limit) };
  }

  /** Who leads, who is a member, and how the last rounds went. */
  status(): StatusReply {
    const nowMs = this.ports.clock.nowMs();
    const view = this.lease.view();
    const all = this.history.all();
    const held = all.filter((r) => r.outcome === 'committed').map((r) => r.timings.writesHeldMs);
    const last = held.length > 0 ? held[held.length - 1] : null;
    return {
      ok: true,
      coordinator: this.config.id,
      leader: view.holder ?? null,
      isLeader: view.leader,
      epoch: view.epoch,
      members: this.membership.live(nowMs).map((m) => ({ ...m.beat, ageMs: nowMs - m.heardAtMs })),
      running: this.current ? { ...this.current } : null,
      lastRounds: this.newestFirst(this.config.statusRoundsMax),
      freeze: {
        committedRounds: held.length,
        abortedRounds: all.length - held.length,
        lastWritesHeldMs: last,
        maxWritesHeldMs: held.length > 0 ? Math.max(...held) : null,
        meanWritesHeldMs: held.length > 0 ? Math.round(held.reduce((a, b) => a + b, 0) / held.length) : null,
      },
      schedule: { intervalMs: this.config.schedule.intervalMs, opLogThreshold: this.config.schedule.opLogThreshold },
    };
  }

  private notLeaderReply(): CoordinationErrorReply {
    const holder = this.lease.view().holder;
    return coordinationError('NOT_LEADER', holder ? `coordinator ${holder} leads; ask it` : 'no coordinator holds the leader lease right now; retry shortly');
  }

  private elected(epoch: number): void {
    const term = ++this.term;
    this.roundNo = 0;
    this.ports.log.info('leader', { coordinator: this.config.id, epoch });
    this.ports.leadershipChanged(true, epoch);
    this.ready = this.takeOver(term);
    void this.ready.then(() => {
      if (this.term === term && this.lease.isLeader() && !this.stopping) this.scheduler.enable();
    });
  }

  private deposed(reason: string): void {
    this.scheduler.disable();
    (this.stopping ? this.ports.log.info : this.ports.log.warn).call(this.ports.log, 'standby', { coordinator: this.config.id, reason, epoch: this.lease.epoch });
    this.ports.leadershipChanged(false, this.lease.epoch);
  }

  /**
   * A new term starts by resuming every live member under the new epoch: a round the
   * previous leader left half-done ends here (its members return to Work with
   * `committed: false`), and the replicas now refuse that leader's messages. The lease
   * may have been taken before any heartbeat was heard (a fresh start), so the epoch is
   * first moved above whatever the replicas report.
   */
  private async takeOver(term: number): Promise<void> {
    const { clock, log } = this.ports;
    const warmupLeftMs = this.startedMs + this.config.heartbeatTimeoutMs - clock.nowMs();
    if (warmupLeftMs > 0) await new Promise<void>((r) => clock.setTimer(warmupLeftMs, r));
    if (this.term !== term || !this.lease.isLeader()) return;
    const newest = this.membership.newestRoundSeen();
    if (newest.epoch >= this.lease.epoch && !(await this.lease.raiseEpoch(newest.epoch + 1))) return;
    const epoch = this.lease.epoch;
    const members = this.membership.live(clock.nowMs()).map((m) => m.beat.replica);
    const body = { epoch, round: 0, committed: false };
    try {
      this.ports.broadcastResume(body);
    } catch (e) {
      log.warn('resume broadcast failed', { error: String(e) });
    }
    const timeoutMs = this.config.round.controlTimeoutMs;
    const replies = await Promise.all(
      members.map((m) =>
        this.ports.request(m, 'resume', body, timeoutMs).then(
          (r) => (isObject(r) && r.ok === true ? undefined : `${m}: ${JSON.stringify(r).slice(0, 200)}`),
          (e: unknown) => `${m}: ${String((e as Error)?.message ?? e)}`,
        ),
      ),
    );
    const failed = replies.filter((r): r is string => r !== undefined);
    log.info('new term: members resumed', { epoch, members, notConfirmed: failed });
  }

  private async runOne(trigger: RoundTrigger): Promise<RoundResult> {
    await this.ready;
    const { clock } = this.ports;
    if (this.stopping) return this.notRun(trigger, 0, 'STOPPING', 'the coordinator is shutting down', []);
    if (!this.lease.isLeader()) return this.notRun(trigger, 0, 'NOT_LEADER', this.notLeaderReply().error.message, []);
    // Replicas refuse round ids older than the newest they have seen; never reuse one.
    const newest = this.membership.newestRoundSeen();
    if (newest.epoch > this.lease.epoch) {
      if (!(await this.lease.raiseEpoch(newest.epoch + 1))) return this.notRun(trigger, 0, 'NOT_LEADER', 'lost the lease while moving past an epoch the replicas reported', []);
      this.roundNo = 0;
    }
    const epoch = this.lease.epoch;
    const round = Math.max(this.roundNo, newest.epoch === epoch ? newest.round : 0) + 1;
    this.roundNo = round;
    const live = this.membership.live(clock.nowMs());
    const members = live.map((m) => m.beat.replica);
    if (members.length === 0) return this.notRun(trigger, round, 'NO_MEMBERS', 'no replica has sent a heartbeat recently', members);
    const starting = live.filter((m) => m.beat.mode === 'Starting').map((m) => m.beat.replica);
    if (starting.length > 0) {
      return this.notRun(trigger, round, 'REPLICA_STARTING', `replica(s) ${starting.join(', ')} still catching up with the stream; no write was held`, members);
    }
    // Members must hold the newest committed round: a round run by members that missed it
    // would compact a state that lacks what that round covered (and the stream has since
    // been purged of it), and its snapshot would replace the newer one in the snapshot
    // store, so those events would be lost for good (seed 2578); members that hold
    // different rounds also differ at every cut (a digest mismatch). Each member checks
    // this at freeze and re-joins when it is behind.
    const seen = this.membership.newestCommittedSeen();
    const known = this.history.newestCommitted();
    const committedFloor = compareRoundIds(seen, known) > 0 ? seen : known;
    this.current = { epoch, round };
    try {
      const result = await runRound(
        this.ports,
        { coordinator: this.config.id, epoch, round, trigger, members, committedFloor, stillLeader: () => this.lease.isLeader() && this.lease.epoch === epoch },
        this.config.round,
      );
      this.remember(result);
      return result;
    } finally {
      this.current = undefined;
    }
  }

  /** The result of a round that never froze anyone. */
  private notRun(trigger: RoundTrigger, round: number, code: CoordinationErrorCode, reason: string, members: string[]): RoundResult {
    const nowMs = this.ports.clock.nowMs();
    const result: RoundResult = {
      epoch: this.lease.epoch,
      round,
      outcome: 'aborted',
      trigger,
      reason,
      code,
      failures: [{ phase: 'start', code, message: reason }],
      members,
      cut: {},
      timings: { freezeMs: 0, cutMs: 0, commitMs: 0, totalMs: 0, writesHeldMs: 0 },
      startedAtMs: nowMs,
      coordinator: this.config.id,
    };
    if (code === 'NOT_LEADER' || code === 'STOPPING') return result;
    this.ports.log.warn('round not started', { epoch: result.epoch, round, code, reason, trigger });
    this.remember(result);
    try {
      this.ports.emit({ v: 1, coordinator: this.config.id, epoch: result.epoch, round, phase: 'done', atMs: nowMs, result });
    } catch {
      // events are best effort
    }
    return result;
  }

  /** A round this coordinator ran (or refused to start): kept, and saved for the next coordinator. */
  private remember(r: RoundResult): void {
    this.history.add(r, true);
  }

  private newestFirst(limit: number): RoundResult[] {
    return this.history.newestFirst(limit);
  }

  /** Asked by the schedule: skip the round when no live member applied an event past the last committed cut. */
  private scheduledRoundWorthIt(): boolean {
    const need = scheduledRoundNeed(this.membership.live(this.ports.clock.nowMs()), this.history.lastCommittedCut());
    if (!need.needed) this.ports.log.info('scheduled round skipped', { reason: need.reason });
    return need.needed;
  }
}
