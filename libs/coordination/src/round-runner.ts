import { vvGet, vvMerge, vvSet, type VersionVector } from '#crdt/causality/version-vector';
import { isReplicaRequestError, type ReplicaPhase, type RoundPorts } from './ports';
import { parseReply, type ParsedReply, type ReplyOf } from './round-messages';
import { compareRoundIds, type RoundEventPhase, type RoundFailure, type RoundId, type RoundResult, type RoundTimings, type RoundTrigger } from './round-result';

/** Bounds of one round (units last). */
export interface RoundLimits {
  /** Wait for every freeze reply (a replica drains its outbox first: `freezeFlushMs`, 3 s by default). */
  readonly freezeTimeoutMs: number;
  /** Wait for every cut reply (a replica waits up to `cutWaitMs`, 5 s by default, to reach the cut). */
  readonly cutTimeoutMs: number;
  /** Wait for every commit reply (snapshot written, op log truncated, snapshot published). */
  readonly commitTimeoutMs: number;
  /** Wait for resume and per-key digest replies. */
  readonly controlTimeoutMs: number;
  /**
   * The freeze lease sent with every phase: a replica that hears nothing more for this
   * long returns to Work on its own. Longer than any phase wait, or a slow but healthy
   * phase would thaw replicas mid-round.
   */
  readonly freezeLeaseMs: number;
  /** Most differing keys named in a mismatch report. */
  readonly mismatchedKeysMax: number;
}

/** Defaults sized against the replica's defaults (libs/replication/src/replica-config.ts). */
export const DEFAULT_ROUND_LIMITS: RoundLimits = {
  freezeTimeoutMs: 4_000,
  cutTimeoutMs: 6_000,
  commitTimeoutMs: 10_000,
  controlTimeoutMs: 2_000,
  freezeLeaseMs: 12_000,
  mismatchedKeysMax: 100,
};

/** What to run: the round id, its members, and who runs it. */
export interface RoundPlan {
  readonly coordinator: string;
  readonly epoch: number;
  readonly round: number;
  readonly trigger: RoundTrigger;
  /** Member replica ids, sorted; the first publishes the snapshot. */
  readonly members: readonly string[];
  /**
   * The newest round known to be committed: sent with the freeze, so a member that does
   * not hold it refuses (and re-joins) instead of compacting a state that lacks that round.
   */
  readonly committedFloor?: { readonly epoch: number; readonly round: number };
  /** False once this coordinator may no longer act (it lost the lease); checked before each phase. */
  readonly stillLeader: () => boolean;
}

/** A request's own time bound is the port's; this grace covers a port that overruns it. */
const PORT_GRACE_MS = 250;

/** Marks a digest missing on one replica when per-key digests are compared. */
const ABSENT = '(absent)';

/**
 * Runs one compaction round (Work → Sync → Ready → Work) against the members:
 *
 * 1. freeze every member (in parallel) and learn what each has published and applied;
 * 2. send the cut: the entry-wise maximum of every member's applied vector and of each
 *    member's own published seq, which everyone can reach from the stream alone;
 * 3. compare the digests at the cut; on a mismatch ask for per-key digests, name the
 *    differing keys loudly and abort;
 * 4. commit (the first member in sorted order publishes the snapshot for joiners);
 * 5. resume everyone (and broadcast it, so non-members that missed a committed round
 *    re-join), then purge the stream below the oldest member's snapshot position.
 *
 * Any failure in phases 1-4 aborts: every member is resumed with `committed: false`, and
 * the result names each failing replica and why. A phase waits for every reply (each
 * bounded) before acting, so a resume never overtakes a freeze still in flight. The
 * purge runs after resume because it is safe then (members keep everything after their
 * snapshots) and writes need not wait for it. Never throws.
 */
export function runRound(ports: RoundPorts, plan: RoundPlan, limits: RoundLimits = DEFAULT_ROUND_LIMITS): Promise<RoundResult> {
  return new RoundRun(ports, plan, limits).run();
}

class RoundRun {
  private readonly startedMs: number;
  private readonly startedAtMs: number;
  private heldFromMs: number | undefined;
  private timings: { -readonly [K in keyof RoundTimings]: number } = { freezeMs: 0, cutMs: 0, commitMs: 0, totalMs: 0, writesHeldMs: 0 };
  private cut: VersionVector = {};

  constructor(
    private readonly ports: RoundPorts,
    private readonly plan: RoundPlan,
    private readonly limits: RoundLimits,
  ) {
    this.startedMs = ports.clock.nowMs();
    this.startedAtMs = this.startedMs;
  }

  async run(): Promise<RoundResult> {
    const { plan, limits, ports } = this;
    const id = { epoch: plan.epoch, round: plan.round };
    const leaseMs = limits.freezeLeaseMs;
    this.emit('started', { members: plan.members, trigger: plan.trigger });
    this.ports.log.info('round started', { ...id, members: plan.members, trigger: plan.trigger });
    if (!plan.stillLeader()) return this.notLeader('start');

    // 1. Freeze.
    this.heldFromMs = this.now();
    const floor = plan.committedFloor;
    const frozen = await this.askAll('freeze', () => ({ ...id, leaseMs, ...(floor ? { committed: { epoch: floor.epoch, round: floor.round } } : {}) }), limits.freezeTimeoutMs);
    this.timings.freezeMs = this.now() - this.heldFromMs;
    if (!frozen.ok) return this.abort(frozen.failures);
    // Members holding different rounds' snapshots differ at every cut, and the ones behind
    // lack what the newer round covered (the stream was purged of it): they re-join first.
    const behind = membersBehind(plan.members, frozen.replies);
    if (behind.length > 0) return this.abort(behind);
    this.cut = cutOf(plan.members, frozen.replies);
    this.emit('frozen', { cut: this.cut, freezeMs: this.timings.freezeMs });
    if (!plan.stillLeader()) return this.notLeader('cut');

    // 2. Cut.
    const cutStart = this.now();
    const cut = await this.askAll('cut', () => ({ ...id, cut: this.cut, leaseMs }), limits.cutTimeoutMs);
    this.timings.cutMs = this.now() - cutStart;
    if (!cut.ok) return this.abort(cut.failures);
    const digests: Record<string, string> = {};
    plan.members.forEach((m, i) => (digests[m] = cut.replies[i].digest));
    const distinct = new Set(Object.values(digests));
    this.emit('cut', { cutMs: this.timings.cutMs, digests: distinct.size === 1 ? undefined : digests, digest: distinct.size === 1 ? [...distinct][0] : undefined });

    // 3. Consensus. On a mismatch a strict majority that agrees commits alone; the others
    // re-join from its snapshot (the resume tells them the round committed without them),
    // keeping the own events only they hold, so a mismatch never stalls compaction for good.
    let committers = plan.members;
    let mismatch: Partial<RoundResult> = {};
    if (distinct.size > 1) {
      const found = await this.mismatch(digests);
      const majority = majorityOf(plan.members, digests);
      if (!majority) return this.abort([{ phase: 'cut', code: 'DIGEST_MISMATCH', message: found.reason }], found.extra);
      committers = majority;
      mismatch = { ...found.extra, repaired: plan.members.filter((m) => !majority.includes(m)) };
      ports.log.warn('digest mismatch: the majority commits; the others re-join from its snapshot', { ...id, majority, repaired: mismatch.repaired });
    }
    const digest = digests[committers[0]];
    if (!plan.stillLeader()) return this.notLeader('commit');

    // 4. Commit.
    const publisher = committers[0];
    const commitStart = this.now();
    const committed = await this.askAll('commit', () => ({ ...id, publisher, leaseMs }), limits.commitTimeoutMs, committers);
    this.timings.commitMs = this.now() - commitStart;
    if (!committed.ok) return this.abort(committed.failures, { ...mismatch, digest, publisher });
    this.emit('committed', { commitMs: this.timings.commitMs, publisher });

    // 5. Resume, then purge.
    await this.resumeAll(true);
    const keepFromSeq = Math.min(...committed.replies.map((r) => r.streamSeq)) + 1;
    let purgeError: string | undefined;
    if (keepFromSeq > 1) {
      try {
        await this.ports.purgeStream(keepFromSeq);
        this.emit('purged', { keepFromSeq });
      } catch (e) {
        purgeError = String((e as Error)?.message ?? e);
        this.ports.log.warn('stream purge failed; the next committed round purges again', { ...id, keepFromSeq, error: purgeError });
      }
    }
    const result = this.result('committed', { ...mismatch, digest, publisher, keepFromSeq: keepFromSeq > 1 ? keepFromSeq : undefined, purgeError });
    this.ports.log.info('round committed', { ...id, members: plan.members, writesHeldMs: result.timings.writesHeldMs, timings: result.timings, keepFromSeq });
    this.emit('done', { result });
    return result;
  }

  /** Asks every member in parallel; waits for every reply (each bounded) before judging. */
  private async askAll<P extends ReplicaPhase>(
    phase: P,
    body: (member: string) => Record<string, unknown>,
    timeoutMs: number,
    members: readonly string[] = this.plan.members,
  ): Promise<{ ok: true; replies: ReplyOf<P>[] } | { ok: false; failures: RoundFailure[] }> {
    const parsed = await Promise.all(members.map((m) => this.ask(m, phase, body(m), timeoutMs)));
    const failures = parsed.flatMap((p) => (p.ok ? [] : [p.failure]));
    if (failures.length > 0) return { ok: false, failures };
    return { ok: true, replies: parsed.map((p) => (p as { value: ReplyOf<P> }).value) };
  }

  /** One request, never rejecting: a reply, a refusal or a transport failure, within `timeoutMs` (+ grace). */
  private ask<P extends ReplicaPhase>(member: string, phase: P, body: Record<string, unknown>, timeoutMs: number): Promise<ParsedReply<ReplyOf<P>>> {
    const { clock } = this.ports;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (r: ParsedReply<ReplyOf<P>>) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(r);
      };
      const cancel = clock.setTimer(timeoutMs + PORT_GRACE_MS, () =>
        settle({ ok: false, failure: { replica: member, phase, code: 'TIMEOUT', message: `${member} did not answer ${phase} within ${timeoutMs} ms` } }),
      );
      let sent: Promise<unknown>;
      try {
        sent = this.ports.request(member, phase, body, timeoutMs);
      } catch (e) {
        sent = Promise.reject(e);
      }
      sent.then(
        (raw) => settle(parseReply(phase, member, raw)),
        (e: unknown) => {
          const timedOut = isReplicaRequestError(e) && e.failure === 'TIMEOUT';
          const message = timedOut
            ? `${member} did not answer ${phase} within ${timeoutMs} ms`
            : `${member} could not be asked to ${phase}: ${String((e as Error)?.message ?? e)}`;
          settle({ ok: false, failure: { replica: member, phase, code: timedOut ? 'TIMEOUT' : 'UNREACHABLE', message } });
        },
      );
    });
  }

  /** Names the differing keys (loudly); the caller aborts or lets a majority commit. */
  private async mismatch(digests: Record<string, string>): Promise<{ reason: string; extra: Partial<RoundResult> }> {
    const { plan, limits, ports } = this;
    // Ask while everyone is still held at the cut, so the per-key digests are comparable.
    const perKey = await Promise.all(plan.members.map((m) => this.ask(m, 'digests', {}, limits.controlTimeoutMs)));
    const tables = new Map<string, Readonly<Record<string, string>>>();
    const unanswered: string[] = [];
    plan.members.forEach((m, i) => {
      const p = perKey[i];
      if (p.ok) tables.set(m, p.value.digests);
      else unanswered.push(m);
    });
    const differing = differingKeys(tables);
    const mismatchedKeys = differing.slice(0, limits.mismatchedKeysMax);
    const reason =
      `replicas reached the same cut with different states (${describeDigests(digests)}); ` +
      (differing.length > 0 ? `${differing.length} key(s) differ: ${mismatchedKeys.slice(0, 10).join(', ')}${differing.length > 10 ? ', ...' : ''}` : 'no per-key difference found') +
      (unanswered.length > 0 ? `; no per-key digests from ${unanswered.join(', ')}` : '');
    ports.log.error('DIGEST MISMATCH: replicas disagree at the same cut; round aborted', {
      epoch: plan.epoch,
      round: plan.round,
      cut: this.cut,
      digests,
      mismatchedKeys,
      mismatchedKeysTotal: differing.length,
      noPerKeyDigestsFrom: unanswered,
    });
    this.emit('mismatch', { digests, mismatchedKeys, mismatchedKeysTotal: differing.length });
    return { reason, extra: { digests, mismatchedKeys, mismatchedKeysTotal: differing.length } };
  }

  private notLeader(phase: 'start' | 'cut' | 'commit'): Promise<RoundResult> {
    const message = `this coordinator lost the leader lease before ${phase === 'start' ? 'the round started' : `the ${phase} phase`}`;
    return this.abort([{ phase: phase === 'start' ? 'start' : phase, code: 'NOT_LEADER', message }]);
  }

  private async abort(failures: RoundFailure[], extra: Partial<RoundResult> = {}): Promise<RoundResult> {
    const { plan, ports } = this;
    if (this.heldFromMs !== undefined) await this.resumeAll(false);
    const first = failures[0];
    const reason = failures.length === 1 ? first.message : `${first.message} (and ${failures.length - 1} more failure(s))`;
    const result = this.result('aborted', { ...extra, reason, code: first.code, failures });
    ports.log.warn('round aborted', { epoch: plan.epoch, round: plan.round, code: first.code, reason, failures, writesHeldMs: result.timings.writesHeldMs });
    this.emit('done', { result });
    return result;
  }

  /** Sends resume to every member and the broadcast; waits (bounded) for the members' replies. */
  private async resumeAll(committed: boolean): Promise<void> {
    const { plan, ports, limits } = this;
    const id = { epoch: plan.epoch, round: plan.round };
    const sentMs = this.now();
    this.timings.writesHeldMs = this.heldFromMs === undefined ? 0 : sentMs - this.heldFromMs;
    try {
      ports.broadcastResume({ ...id, committed });
    } catch (e) {
      ports.log.warn('resume broadcast failed; members are resumed one by one', { ...id, error: String(e) });
    }
    const replies = await Promise.all(plan.members.map((m) => this.ask(m, 'resume', { ...id, committed }, limits.controlTimeoutMs)));
    const failed = replies.flatMap((r) => (r.ok ? [] : [r.failure]));
    // A member that missed its resume returns to Work when its freeze lease runs out.
    if (failed.length > 0) ports.log.warn('resume not confirmed by every member; their freeze leases will release them', { ...id, failures: failed });
    this.emit('resumed', { committed, writesHeldMs: this.timings.writesHeldMs });
  }

  private result(outcome: RoundResult['outcome'], extra: Partial<RoundResult>): RoundResult {
    const { plan } = this;
    this.timings.totalMs = this.now() - this.startedMs;
    return {
      epoch: plan.epoch,
      round: plan.round,
      outcome,
      trigger: plan.trigger,
      members: [...plan.members],
      cut: this.cut,
      ...stripUndefined(extra),
      timings: { ...this.timings },
      startedAtMs: this.startedAtMs,
      coordinator: plan.coordinator,
    };
  }

  private emit(phase: RoundEventPhase, fields: Record<string, unknown>): void {
    try {
      this.ports.emit({ v: 1, coordinator: this.plan.coordinator, epoch: this.plan.epoch, round: this.plan.round, phase, atMs: this.now(), ...stripUndefined(fields) });
    } catch (e) {
      this.ports.log.warn('round event not published', { phase, error: String(e) });
    }
  }

  private now(): number {
    return this.ports.clock.nowMs();
  }
}

/**
 * The cut: for every origin the highest seq any member has applied, and for each member
 * at least what it says it has published. Every event below the cut is in the stream (a
 * member applied it, so it was published or is the member's own and now published), so
 * every member can reach it while nobody writes.
 */
export function cutOf(members: readonly string[], replies: readonly { readonly published: number; readonly applied: VersionVector }[]): VersionVector {
  let cut: VersionVector = {};
  for (const r of replies) cut = vvMerge(cut, r.applied);
  members.forEach((m, i) => {
    if (replies[i].published > vvGet(cut, m)) vvSet(cut, m, replies[i].published);
  });
  const out: VersionVector = {};
  for (const r of Object.keys(cut).sort()) if (cut[r] > 0) vvSet(out, r, cut[r]);
  return out;
}

/**
 * Members whose freeze reply names an older committed round than another member's: one
 * failure each (a member that does not say is taken at its word).
 */
export function membersBehind(members: readonly string[], replies: readonly { readonly committed?: RoundId }[]): RoundFailure[] {
  let newest: RoundId | undefined;
  for (const r of replies) if (r.committed && (!newest || compareRoundIds(r.committed, newest) > 0)) newest = r.committed;
  if (!newest) return [];
  const n = newest;
  return members.flatMap((m, i) => {
    const c = replies[i].committed;
    if (!c || compareRoundIds(c, n) >= 0) return [];
    return [{ replica: m, phase: 'freeze' as const, code: 'REFUSED' as const, replicaCode: 'NOT_CAUGHT_UP', message: `${m} holds round ${c.epoch}/${c.round}, another member holds ${n.epoch}/${n.round}; it re-joins before it takes part` }];
  });
}

/** The members sharing one digest when they are a strict majority (sorted as given); undefined otherwise. */
export function majorityOf(members: readonly string[], digests: Readonly<Record<string, string>>): string[] | undefined {
  const counts = new Map<string, number>();
  for (const m of members) counts.set(digests[m], (counts.get(digests[m]) ?? 0) + 1);
  for (const [d, n] of counts) if (n * 2 > members.length) return members.filter((m) => digests[m] === d);
  return undefined;
}

/** Keys whose digest is not the same on every replica (a key missing somewhere differs), sorted. */
export function differingKeys(tables: ReadonlyMap<string, Readonly<Record<string, string>>>): string[] {
  const all = new Set<string>();
  for (const t of tables.values()) for (const k of Object.keys(t)) all.add(k);
  const out: string[] = [];
  for (const k of all) {
    let first: string | undefined;
    let differs = false;
    for (const t of tables.values()) {
      const d = Object.prototype.hasOwnProperty.call(t, k) ? t[k] : ABSENT;
      if (first === undefined) first = d;
      else if (d !== first) differs = true;
    }
    if (differs) out.push(k);
  }
  return out.sort();
}

function describeDigests(digests: Record<string, string>): string {
  const groups = new Map<string, string[]>();
  for (const [m, d] of Object.entries(digests)) groups.set(d, [...(groups.get(d) ?? []), m]);
  return [...groups].map(([d, ms]) => `${ms.join('+')}: ${d.slice(0, 12)}`).join(' vs ');
}

function stripUndefined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
