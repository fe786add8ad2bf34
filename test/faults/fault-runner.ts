import type { FaultCluster } from './fault-cluster';
import { sleep } from './fault-cluster';
import type { RoundRecord } from './checker';
import type { RoundDriver } from './rounds';
import { describeStep, type FaultStep } from './schedule';

/**
 * Carries out the scheduled faults on the real processes, one at a time, each healed
 * before the next, and records what happened: when it started and was healed, and what
 * the cluster did meanwhile (how fast a standby took over, whether a round ran without a
 * stopped replica and whether that replica caught up with it afterwards).
 */

/** What one fault did. */
export interface FaultRecord {
  readonly step: FaultStep;
  /** The coordinator killed (kill-leader). */
  target?: string;
  startedMs: number;
  healedMs: number;
  /** What the cluster did, for the report. */
  readonly notes: string[];
  /** Things that went wrong that the final checks would not see (a process that did not come back in time). */
  readonly problems: string[];
}

/** Bounds of the fault runner (units last). */
export interface FaultRunnerLimits {
  /** A stopped replica must drop out of the leader's members within this. */
  readonly memberDropMs: number;
  /** After it continues, a replica that missed a committed round must hold it within this. */
  readonly catchUpMs: number;
  /** A replica started while a NATS node is down must serve within this. */
  readonly replicaReadyNodeDownMs: number;
}

/** Defaults: a few heartbeat timeouts (1.5 s) and missed-round back-offs. */
export const DEFAULT_FAULT_RUNNER_LIMITS: FaultRunnerLimits = {
  memberDropMs: 10_000,
  catchUpMs: 30_000,
  replicaReadyNodeDownMs: 20_000,
};

export class FaultRunner {
  readonly records: FaultRecord[] = [];

  constructor(
    private readonly cluster: FaultCluster,
    private readonly rounds: RoundDriver,
    private readonly t0Ms: number,
    private readonly limits: FaultRunnerLimits = DEFAULT_FAULT_RUNNER_LIMITS,
  ) {}

  /** Seconds since the run started, for log lines. */
  private at(ms = Date.now()): string {
    return `+${((ms - this.t0Ms) / 1000).toFixed(1)}s`;
  }

  /** Waits the step's gap, injects the fault, holds it, heals it. Never throws: failures become problems. */
  async run(step: FaultStep): Promise<FaultRecord> {
    await sleep(step.gapMs);
    const record: FaultRecord = { step, startedMs: Date.now(), healedMs: 0, notes: [], problems: [] };
    this.records.push(record);
    process.stdout.write(`[faults] ${this.at()} ${describeStep(step)}\n`);
    try {
      switch (step.kind) {
        case 'kill-replica':
          await this.killReplica(step.replica!, step.holdMs, record);
          break;
        case 'kill-nats':
          await this.killNats(step.node!, step.holdMs, record);
          break;
        case 'pause-replica':
          await this.pauseReplica(step.replica!, step.holdMs, record);
          break;
        case 'kill-leader':
          await this.killLeader(step.holdMs, record);
          break;
        case 'kill-replica-nats-down':
          await this.killReplicaNatsDown(step.replica!, step.node!, step.holdMs, record);
          break;
        case 'partition':
        case 'isolate-host':
          await this.cutOff(step.kind, step.replica!, step.holdMs, record);
          break;
      }
    } catch (e) {
      record.problems.push(`${describeStep(step)} failed: ${String((e as Error)?.message ?? e)}`);
      // Whatever it left down comes back, so that the next fault starts from a whole cluster.
      const healed = await this.cluster.healAll();
      if (healed.done.length > 0) record.notes.push(`healed after the failure: ${healed.done.join(', ')}`);
      for (const f of healed.failed) record.problems.push(`healing after #${step.n}: ${f}`);
    }
    record.healedMs = Date.now();
    process.stdout.write(`[faults] ${this.at()} healed #${step.n}: ${[...record.notes, ...record.problems.map((p) => `PROBLEM ${p.split('\n')[0]}`)].join('; ')}\n`);
    return record;
  }

  private async killReplica(id: string, holdMs: number, record: FaultRecord): Promise<void> {
    const app = this.cluster.replicas.get(id)!;
    await this.cluster.crash(app);
    await sleep(holdMs);
    const restartMs = Date.now();
    await this.cluster.startReplica(id);
    record.notes.push(`${id} back in Work ${Date.now() - restartMs} ms after the restart`);
  }

  private async killNats(node: number, holdMs: number, record: FaultRecord): Promise<void> {
    const server = this.cluster.nats.nodes[node];
    await server.kill();
    await sleep(holdMs);
    const restartMs = Date.now();
    await server.restart();
    await this.jetStreamHealthy(restartMs, record);
  }

  private async jetStreamHealthy(sinceMs: number, record: FaultRecord, after = 'the node restart'): Promise<void> {
    const unhealthy = await this.cluster.waitJetStreamHealthy();
    if (unhealthy.length === 0) record.notes.push(`JetStream assets current ${Date.now() - sinceMs} ms after ${after}`);
    // Not a defect of this product, but the next node fault may then find no quorum: say so.
    else record.notes.push(`WARNING JetStream still not current after ${Date.now() - sinceMs} ms: ${JSON.stringify(unhealthy)}`);
  }

  /**
   * Stops a replica until the leader no longer counts it, runs a round without it, holds
   * a while longer, then continues it: it must notice the round it missed and catch up.
   */
  private async pauseReplica(id: string, holdMs: number, record: FaultRecord): Promise<void> {
    const app = this.cluster.replicas.get(id)!;
    app.pause();
    this.cluster.paused.add(id);
    await this.untilDropped(id, Date.now(), 'SIGSTOP', record);
    const { record: round, outcome } = await this.rounds.syncOnce();
    record.notes.push(`round while ${id} stopped: ${round ? `${round.epoch}/${round.round} ${outcome}` : outcome}`);
    await sleep(holdMs);
    app.resume();
    this.cluster.paused.delete(id);
    await this.holdsMissedRound(id, round, Date.now(), 'SIGCONT', record);
  }

  /** Waits until the leader no longer counts `id` as a member (bounded); notes how long it took. */
  private async untilDropped(id: string, sinceMs: number, how: string, record: FaultRecord): Promise<void> {
    let answered = false;
    while (Date.now() - sinceMs < this.limits.memberDropMs) {
      const members = await this.cluster.members();
      answered ||= members !== undefined;
      if (members && !members.includes(id)) {
        record.notes.push(`${id} dropped from the members ${Date.now() - sinceMs} ms after ${how}`);
        return;
      }
      await sleep(200);
    }
    record.notes.push(answered ? `${id} still a member ${this.limits.memberDropMs} ms after ${how}` : `no leader answered within ${this.limits.memberDropMs} ms after ${how}`);
  }

  /** A replica that was away while `round` committed must hold it (or a newer one) and serve in Work within `catchUpMs`. */
  private async holdsMissedRound(id: string, round: RoundRecord | undefined, sinceMs: number, how: string, record: FaultRecord): Promise<void> {
    if (round?.outcome !== 'committed') return;
    // It missed a committed round: it must re-join from that round's snapshot (or a newer one).
    let held: { epoch: number; round: number } | undefined;
    while (Date.now() - sinceMs < this.limits.catchUpMs) {
      const s = await this.cluster.status(id).catch(() => undefined);
      held = s?.ok ? (s.lastRound as { epoch: number; round: number }) : held;
      if (held && (held.epoch > round.epoch || (held.epoch === round.epoch && held.round >= round.round)) && s?.mode === 'Work') {
        record.notes.push(`${id} holds round ${held.epoch}/${held.round} ${Date.now() - sinceMs} ms after ${how}`);
        return;
      }
      await sleep(200);
    }
    record.notes.push(`WARNING ${id} did not hold the missed round ${round.epoch}/${round.round} within ${this.limits.catchUpMs} ms after ${how} (holds ${held ? `${held.epoch}/${held.round}` : '?'})`);
  }

  /**
   * A real network partition (network lab): the host of replica `id` (its NATS node, the
   * replica, and the coordinator living there) is cut off from the other hosts
   * (`partition`; clients beside it still reach it and keep writing to it) or taken off
   * the network entirely (`isolate-host`). The majority side must drop the replica, run a
   * round without it and keep serving; when the network heals, the cut-off replica must
   * publish what it took meanwhile, hold the round it missed and serve again.
   */
  private async cutOff(kind: 'partition' | 'isolate-host', id: string, holdMs: number, record: FaultRecord): Promise<void> {
    const lab = this.cluster.lab;
    if (!lab) throw new Error(`${kind} needs a network lab (network namespaces, root)`);
    const host = this.cluster.hostOf(id);
    const others = this.cluster.replicaIds.map((r) => this.cluster.hostOf(r)).filter((h) => h !== host);
    const cutMs = Date.now();
    // The test's control requests go through a client on the majority side meanwhile.
    this.cluster.steerControlTo(this.cluster.replicaIds.find((r) => r !== id));
    if (kind === 'partition') lab.split([[host], others]);
    else lab.isolate(host);
    try {
      await this.untilDropped(id, cutMs, kind === 'partition' ? `${host} was cut from ${others.join(', ')}` : `${host} went off the network`, record);
      const { record: round, outcome } = await this.rounds.syncOnce();
      record.notes.push(`round while ${host} was cut off: ${round ? `${round.epoch}/${round.round} ${outcome}` : outcome}`);
      await sleep(holdMs);
    } finally {
      if (kind === 'partition') lab.healSplit();
      else lab.reconnect(host);
    }
    const healedMs = Date.now();
    // Any round that committed while the host was cut off (the driver keeps asking for rounds too).
    try {
      await this.holdsMissedRound(id, this.rounds.newestCommittedSince(cutMs), healedMs, 'the network healed', record);
      await this.jetStreamHealthy(healedMs, record, 'the network healed');
    } finally {
      this.cluster.steerControlTo(undefined);
    }
  }

  /** Kills whoever leads; the standby must take over; the killed one comes back as the standby. */
  private async killLeader(holdMs: number, record: FaultRecord): Promise<void> {
    const leader = await this.cluster.leader();
    if (!leader) {
      record.problems.push('no coordinator reported a leader within 10 s');
      return;
    }
    record.target = leader;
    const app = this.cluster.coordinators.get(leader)!;
    const standby = [...this.cluster.coordinators.entries()].find(([id, a]) => id !== leader && a.running);
    const since = standby?.[1].lineCount() ?? 0;
    const killedMs = Date.now();
    await this.cluster.crash(app);
    if (standby) {
      const [sid, sapp] = standby;
      try {
        const took = await sapp.waitForLog((e) => e.msg === 'leader', this.cluster.limits.takeoverMs, since);
        record.notes.push(`killed leader ${leader}; ${sid} leads epoch ${String(took.epoch)} ${Date.now() - killedMs} ms later`);
      } catch (e) {
        record.problems.push(`standby ${sid} did not take over within ${this.cluster.limits.takeoverMs} ms: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
      }
    } else record.notes.push(`killed leader ${leader}; no standby was running`);
    await sleep(holdMs);
    await this.cluster.startCoordinator(leader);
    const now = await this.cluster.leader();
    record.notes.push(`${leader} restarted; leader now ${now ?? 'none'}`);
  }

  /** A NATS node is down while a replica crashes and restarts: the replica must start and serve through the other two. */
  private async killReplicaNatsDown(id: string, node: number, holdMs: number, record: FaultRecord): Promise<void> {
    const server = this.cluster.nats.nodes[node];
    await server.kill();
    await this.cluster.crash(this.cluster.replicas.get(id)!);
    await sleep(holdMs);
    const restartMs = Date.now();
    try {
      await this.cluster.startReplica(id, this.limits.replicaReadyNodeDownMs);
      record.notes.push(`${id} back in Work ${Date.now() - restartMs} ms after the restart, with n${node + 1} down`);
    } catch (e) {
      record.problems.push(
        `${id} restarted while NATS n${node + 1} (${server.url}) was down did not serve within ${this.limits.replicaReadyNodeDownMs} ms: ` +
          String((e as Error)?.message ?? e).split('\n').slice(0, 4).join(' | '),
      );
    }
    const nodeRestartMs = Date.now();
    await server.restart();
    const app = this.cluster.replicas.get(id)!;
    if (app.running) {
      await this.cluster.untilWork(id, app).then(
        () => record.notes.push(`${id} in Work ${Date.now() - nodeRestartMs} ms after n${node + 1} came back`),
        async () => {
          await this.cluster.crash(app);
          await this.cluster.startReplica(id);
          record.notes.push(`${id} restarted again after n${node + 1} came back`);
        },
      );
    }
    await this.jetStreamHealthy(nodeRestartMs, record);
  }
}
