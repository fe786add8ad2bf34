import { DEFAULT_COORDINATOR_CONFIG, type CoordinatorConfig } from '#coordination/coordinator-config';
import { canonicalJson, vvGet, type Json } from '#crdt';
import { migratedSchema, type MigratedSchema } from '#store-sqlite';
import type { ReplicaLimits } from '#replication/replica-config';
import { CoordinatorNode } from './coordinator-node';
import { CALM, FaultSchedule, fullProfile, NO_FAULTS, randomProfile, type FaultCounts, type FaultProfile, type FaultTargets } from './faults';
import { checkValue, deletedBy, eventsAt, familyOf, pastRound } from './model';
import { Monitor } from './monitor';
import { Prng } from './prng';
import { ReplicaNode } from './replica-node';
import { SimBroker } from './sim-broker';
import { SimNetwork } from './sim-network';
import type { StreamFaults } from './sim-op-stream';
import { Scheduler } from './scheduler';
import { Trace } from './trace';
import { Workload } from './workload';
import type { Listener, ProcessTimings, ReplicaEndpoint, World } from './world';

/** What to simulate. */
export interface SimOptions {
  readonly seed: number;
  /** Scheduler steps (tasks run) in the chaos phase; more steps, a longer run. */
  readonly steps: number;
  /** Longest quiet period (everything healed) allowed for convergence, virtual milliseconds. */
  readonly quietMsMax?: number;
  /** Trace lines kept for a failure report. */
  readonly traceTailLines?: number;
  /** Overrides the seed's cluster size. */
  readonly replicas?: number;
  /** Overrides the seed's fault profile (`random`: the seed's own draw). */
  readonly faults?: FaultProfile | 'random' | 'all' | 'none';
  /**
   * Clients also delete the strong registers, with strong deletes (blind and compare-and-sets).
   * Off by default, so the named regression seeds keep the workload they were found with.
   */
  readonly strongDeletes?: boolean;
  /** Stop at the first violation (default true: the trace tail then ends at it). */
  readonly stopOnViolation?: boolean;
  /** Called with every trace line as it is written (streaming `--verbose`). */
  readonly onTraceLine?: (line: string) => void;
}

/** What a run found. */
export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly string[];
  /** SHA-256 of the whole trace: equal for two runs of one seed. */
  readonly traceHash: string;
  readonly traceTail: readonly string[];
  readonly converged: boolean;
  readonly virtualMs: number;
  readonly steps: number;
  readonly replicas: number;
  readonly profile: FaultProfile;
  readonly faults: FaultCounts;
  readonly stats: Record<string, number>;
  /** Client replies by error code. */
  readonly errorCodes: Record<string, number>;
}

const QUIET_MS_MAX_DEFAULT = 40_000;
const PROBE_MS = 100;

/**
 * One deterministic run of a whole cluster in one process: replicas (the real
 * `ReplicaCore`), coordinators (the real `Coordinator`), the broker, the network, disks
 * and clients, all on one virtual clock and one seed. A chaos phase injects faults
 * while clients write; then everything is healed and the cluster must converge, and the
 * checker compares every replica with the model and every acknowledged write with what
 * the replicas hold.
 */
export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const sim = new Simulation(options, await migratedSchema());
  try {
    return await sim.run();
  } finally {
    sim.close();
  }
}

class Simulation implements World, FaultTargets {
  readonly trace: Trace;
  readonly scheduler: Scheduler;
  readonly monitor: Monitor;
  readonly net: SimNetwork;
  readonly broker: SimBroker;
  readonly streamFaults: StreamFaults = { ackLossP: 0 };
  readonly timings: ProcessTimings;
  private readonly root: Prng;
  private readonly nodes: ReplicaNode[] = [];
  private readonly coords: CoordinatorNode[] = [];
  private readonly byId = new Map<string, ReplicaNode>();
  private readonly replicasMax: number;
  private readonly profile: FaultProfile;
  private readonly faults: FaultSchedule;
  private readonly workload: Workload;
  private readonly coordinatorConfig: Omit<CoordinatorConfig, 'id'>;
  /** Replicas that died for good → the most of their events any live peer had applied then (what must survive them). */
  private readonly heldOfDead = new Map<string, number>();

  constructor(
    private readonly options: SimOptions,
    readonly storeSchema: MigratedSchema,
  ) {
    this.root = new Prng(options.seed);
    this.trace = new Trace(options.traceTailLines ?? 60, options.onTraceLine);
    this.scheduler = new Scheduler(this.trace, (label, err) => this.monitor.violation(`a task threw (${label}): ${String((err as Error)?.stack ?? err)}`));
    this.monitor = new Monitor(this.trace, () => this.scheduler.nowMs);
    this.net = new SimNetwork(this.scheduler, this.prng('network'));
    Object.assign(this.net.conditions, CALM);
    this.broker = new SimBroker(120_000, (text) => this.monitor.violation(`an origin published two different events under one (origin, seq): ${text}`));
    const shape = this.prng('shape');
    this.timings = {
      replicaLimits: replicaLimits(shape),
      publishTimeoutMs: 400,
      streamCheckMs: shape.pick([300, 500, 1_000]),
      commitBacklogMax: shape.pick([5, 20_000]),
      snapshotTimeoutMs: 500,
    };
    const n = options.replicas ?? shape.int(3, 5);
    this.replicasMax = n + 2;
    for (let i = 1; i <= n; i++) this.addNode();
    const coordinators = shape.int(1, 2);
    this.coordinatorConfig = {
      ...DEFAULT_COORDINATOR_CONFIG,
      leaseMs: 1_500,
      heartbeatTimeoutMs: 1_500,
      schedule: {
        intervalMs: shape.pick([500, 1_000, 2_000, 4_000]),
        opLogThreshold: shape.pick([0, 30, 200]),
        gapMsMin: 200,
        abortBackoffMsMin: 300,
        abortBackoffMsMax: 3_000,
      },
      round: {
        freezeTimeoutMs: 1_500,
        cutTimeoutMs: 2_000,
        commitTimeoutMs: 2_000,
        controlTimeoutMs: 500,
        freezeLeaseMs: 4_000,
        mismatchedKeysMax: 20,
      },
    };
    for (let i = 0; i < coordinators; i++) {
      this.coords.push(new CoordinatorNode(`coord-${'ab'[i]}`, this, this.coordinatorConfig, (e) => this.onRoundEvent(e)));
    }
    const f = options.faults ?? 'random';
    this.profile = f === 'random' ? randomProfile(this.prng('profile')) : f === 'all' ? fullProfile() : f === 'none' ? { ...NO_FAULTS } : f;
    this.faults = new FaultSchedule(this, this.profile, this.prng('faults'), 100);
    this.workload = new Workload(this, this.prng('clients'), () => this.nodes.map((r) => r.id), {
      clients: shape.int(2, 4),
      thinkMsMin: 5,
      thinkMsMax: shape.pick([30, 80, 200]),
      replyTimeoutMs: 3_000,
      strongDeletes: options.strongDeletes === true,
    });
  }

  // ---------------------------------------------------------------- World

  prng(label: string): Prng {
    return this.root.fork(label);
  }

  replicas(): readonly ReplicaEndpoint[] {
    return this.nodes;
  }

  replica(id: string): ReplicaEndpoint | undefined {
    return this.byId.get(id);
  }

  coordinators(): readonly Listener[] {
    return this.coords;
  }

  note(text: string): void {
    this.trace.line(this.scheduler.nowMs, text);
  }

  // ---------------------------------------------------------------- FaultTargets

  get world(): World {
    return this;
  }

  replicaNodes(): readonly ReplicaNode[] {
    return this.nodes;
  }

  coordinatorNodes(): readonly CoordinatorNode[] {
    return this.coords;
  }

  replicaDied(r: ReplicaNode): void {
    let held = 0;
    for (const n of this.nodes) if (n !== r && n.ready && n.core) held = Math.max(held, vvGet(n.core.applied(), r.id));
    this.heldOfDead.set(r.id, held);
    this.note(`${r.id} dies for good; live peers hold its events through #${held}`);
  }

  /** Replicas that run to the end (not dead for good). */
  private survivors(): ReplicaNode[] {
    return this.nodes.filter((r) => !r.gone);
  }

  addReplica(): ReplicaNode | undefined {
    if (this.nodes.length >= this.replicasMax) return undefined;
    const r = this.addNode();
    r.start();
    return r;
  }

  private addNode(): ReplicaNode {
    const r = new ReplicaNode(`r${this.nodes.length + 1}`, this);
    this.nodes.push(r);
    this.byId.set(r.id, r);
    return r;
  }

  // ---------------------------------------------------------------- the run

  /** Frees every replica's disk. */
  close(): void {
    for (const r of this.nodes) r.disk.close();
  }

  async run(): Promise<SimResult> {
    const stopOnViolation = this.options.stopOnViolation ?? true;
    const onRejection = (reason: unknown) => this.monitor.violation(`unhandled promise rejection: ${String((reason as Error)?.stack ?? reason)}`);
    process.on('unhandledRejection', onRejection);
    let converged = false;
    try {
      this.note(`seed ${this.options.seed}: ${this.nodes.length} replicas, ${this.coords.length} coordinators, faults ${JSON.stringify(this.profile)}`);
      for (const r of this.nodes) this.scheduler.after(this.root.int(0, 50), `boot ${r.id}`, () => r.start());
      for (const c of this.coords) this.scheduler.after(this.root.int(0, 50), `boot ${c.id}`, () => c.start());
      this.scheduler.after(300, 'clients start', () => this.workload.start());
      this.scheduler.after(500, 'faults start', () => this.faults.start());
      const failedNow = () => stopOnViolation && this.monitor.failed;

      await this.scheduler.run({ untilMs: Number.POSITIVE_INFINITY, stepsMax: this.options.steps, stop: failedNow });

      if (!this.monitor.failed || !stopOnViolation) {
        this.workload.stop();
        this.faults.healAll();
        const quietStart = this.scheduler.nowMs;
        const probe = () => {
          converged = this.converged();
          if (!converged) this.scheduler.after(PROBE_MS, 'probe', probe);
        };
        this.scheduler.after(PROBE_MS, 'probe', probe);
        await this.scheduler.run({
          untilMs: quietStart + (this.options.quietMsMax ?? QUIET_MS_MAX_DEFAULT),
          stepsMax: Number.MAX_SAFE_INTEGER,
          stop: () => converged || failedNow(),
        });
        if (converged) this.finalChecks();
        else if (!this.monitor.failed) this.monitor.violation(`no convergence within ${this.options.quietMsMax ?? QUIET_MS_MAX_DEFAULT} ms of quiet: ${this.describeReplicas()}`);
      }
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    return this.result(converged);
  }

  /** Every replica up and idle in Work, with the same applied vector and the same digest. */
  private converged(): boolean {
    let applied: string | undefined;
    let digest: string | undefined;
    for (const r of this.survivors()) {
      const core = r.core;
      if (!r.up || !r.ready || !core || core.currentMode !== 'Work') return false;
      if (core.outboxDepth > 0 || core.pendingCommitEvents() > 0 || !this.onlyDeadWait(core)) return false;
      const a = canonicalJson(core.applied() as unknown as Json);
      if (applied === undefined) applied = a;
      else if (a !== applied) return false;
    }
    for (const r of this.survivors()) {
      const d = r.core!.digest();
      if (digest === undefined) digest = d;
      else if (d !== digest) return false;
    }
    return true;
  }

  /**
   * Nothing waits in the causal buffer, except events of a replica that died for good
   * behind a gap nobody can fill (the event before them was lost with it and the stream):
   * they can never be applied anywhere, and every survivor leaves them out alike.
   */
  private onlyDeadWait(core: NonNullable<ReplicaNode['core']>): boolean {
    if (core.status().waiting === 0) return true;
    return core.waitingGaps().every((g) => this.heldOfDead.has(g.origin));
  }

  /** After convergence: every replica against the model, and every durable or acknowledged write present. */
  private finalChecks(): void {
    const m = this.monitor;
    const live = this.survivors();
    const applied = live[0].core!.applied();
    this.note(`converged: applied ${JSON.stringify(applied)}`);
    const keys = new Set<string>(m.byKey.keys());
    for (const r of live) for (const k of r.core!.keys.list('', 100_000).keys) keys.add(k.key);
    // Events of a replica that died for good: what live peers held of it must be everywhere
    // (anti-entropy brings it from them, the stream lost it); what only it held is gone with it.
    const lostWithDead = (origin: string, seq: number): boolean => {
      const held = this.heldOfDead.get(origin);
      return held !== undefined && seq > held;
    };
    for (const [origin, held] of this.heldOfDead) {
      if (vvGet(applied, origin) < held) m.violation(`${origin} died for good after live peers applied its events through #${held}, but the survivors hold only #${vvGet(applied, origin)}: they were not recovered from the peers`);
      else if (held > 0) this.note(`${origin}'s events through #${held} survived its death (survivors hold #${vvGet(applied, origin)})`);
    }
    for (const r of live) {
      for (const key of keys) {
        if (familyOf(key) === 'free') continue;
        const v = r.core!.keys.get(key);
        const wrong = checkValue(m, key, applied, v ? (v.impl.value(v.state) as Json) : undefined);
        if (wrong) m.violation(`${r.id} final state differs from the model: ${wrong}`);
      }
    }
    const cuts = m.cuts();
    for (const list of m.byKey.values()) for (const e of list) if (e.delete && !e.replaced && pastRound(e, cuts)) m.stats.deletesPastRound++;
    // Every seq an origin used up to the final vector was created; every durable event is in it.
    for (const [origin, bySeq] of m.created) {
      const top = vvGet(applied, origin);
      for (let s = 1; s <= top; s++) {
        const e = bySeq.get(s);
        if (!e) m.violation(`every replica applied ${origin}#${s}, which ${origin} never created`);
      }
      for (const e of bySeq.values()) {
        if (e.durable && !e.replaced && e.seq > top && !lostWithDead(origin, e.seq)) m.violation(`${origin}#${e.seq} (key ${e.key}) was durable on ${origin} but no replica has it: an acknowledged write was lost`);
      }
    }
    for (const w of this.workload.writes) {
      // Acknowledged writes, and writes a TIMEOUT said are durable: both must be everywhere.
      if ((w.outcome !== 'ok' && w.code !== 'TIMEOUT') || w.seq === undefined || lostWithDead(w.replica, w.seq)) continue;
      const e = m.event(w.replica, w.seq);
      if (w.seq > vvGet(applied, w.replica)) m.violation(`write ${w.id} (${w.key} at ${w.replica}#${w.seq}) was acknowledged but is not applied anywhere`);
      else if (!e || e.replaced || e.key !== w.key) m.violation(`write ${w.id} was acknowledged as ${w.replica}#${w.seq}, but that event is ${e ? `${e.key}${e.replaced ? ' (replaced)' : ''}` : 'unknown'}`);
      else if (!e.durable) m.violation(`write ${w.id} (${w.replica}#${w.seq}) was acknowledged before it was durable`);
      else if (w.elements.length > 0) {
        const added = new Set<string>();
        for (const op of e.ops) if (op && typeof op === 'object' && !Array.isArray(op) && Array.isArray(op.values)) for (const v of op.values) added.add(String(v));
        if (w.elements.some((x) => !added.has(x))) m.violation(`write ${w.id} added ${JSON.stringify(w.elements)} but ${w.replica}#${w.seq} adds ${JSON.stringify([...added])}`);
        // In place: every replica shows the elements, unless a delete that saw the write removed them (observed-remove).
        const deletes = eventsAt(m, w.key, applied).filter((x) => x.delete);
        const cuts = m.cuts();
        if (!deletedBy(e, deletes) && !deletes.some((d) => pastRound(d, cuts))) {
          for (const r of live) {
            const v = r.core!.keys.get(w.key);
            const shown = new Set(v ? (v.impl.value(v.state) as Json[]).map((x) => String(x)) : []);
            if (w.elements.some((x) => !shown.has(x))) m.violation(`write ${w.id} added ${JSON.stringify(w.elements)} to ${w.key}, no delete saw it, but ${r.id} does not show them`);
          }
        }
      }
    }
  }

  private onRoundEvent(event: Record<string, unknown>): void {
    if (event.phase === 'mismatch') this.judgeMismatch(event);
    this.faults.onRoundEvent(event);
  }

  /**
   * Replicas at one cut with different digests: always a bug. Members that hold different
   * rounds' snapshots (whose compactions differ) never reach the cut: the round aborts at
   * the freeze and the one behind re-joins (round-runner.ts `membersBehind`).
   */
  private judgeMismatch(event: Record<string, unknown>): void {
    const digests = (event.digests ?? {}) as Record<string, string>;
    // The round each member holds: its core's, or for a member that died since its cut
    // reply, the one on its disk.
    const held: Record<string, string> = {};
    for (const id of Object.keys(digests)) {
      const node = this.byId.get(id);
      const r = node?.core ? node.core.round.lastCommitted() : node?.disk.snapshotRound();
      held[id] = r ? `${r.epoch}/${r.round}` : '0/0';
    }
    this.monitor.violation(`replicas differ at one cut (rounds held: ${JSON.stringify(held)}): ${JSON.stringify(event).slice(0, 800)}`);
  }

  private describeReplicas(): string {
    return this.nodes
      .map((r) => {
        const c = r.core;
        if (!r.up || !c) return `${r.id}: down`;
        const s = c.status();
        // The outbox's insides, for a failure report (the split core keeps it in its shared state).
        const o = (c as unknown as { s?: { outbox?: Record<string, unknown> } }).s?.outbox;
        const ob = s.outboxDepth && o ? ` [outbox queue=${(o.queue as unknown[] | undefined)?.length ?? '?'} queuedThrough=${String(o.queuedThrough)} published=${String(o.publishedThrough)} last=${String(o.lastSeq)} spilled=${String(o.spilled)} inFlight=${String(o.inFlight)} retry=${o.cancelRetry ? 'armed' : 'none'}]` : '';
        return `${r.id}: ${r.ready ? '' : 'not ready, '}mode=${s.mode} applied=${JSON.stringify(s.applied)} outbox=${s.outboxDepth}${ob} waiting=${s.waiting} streamSeq=${s.streamSeq} lastRound=${JSON.stringify(s.lastRound)} digest=${c.digest().slice(0, 10)}`;
      })
      .join('; ');
  }

  private result(converged: boolean): SimResult {
    const m = this.monitor;
    const w = this.workload;
    const rounds = { committed: 0, aborted: 0, mismatches: 0 };
    for (const c of this.coords) {
      rounds.committed += c.rounds.committed;
      rounds.aborted += c.rounds.aborted;
      rounds.mismatches += c.rounds.mismatches;
    }
    return {
      seed: this.options.seed,
      ok: !m.failed && converged,
      violations: [...m.violations],
      traceHash: this.trace.digest(),
      traceTail: this.trace.tail(),
      converged,
      virtualMs: this.scheduler.nowMs,
      steps: this.scheduler.steps,
      replicas: this.nodes.length,
      profile: this.profile,
      faults: { ...this.faults.counts },
      stats: {
        ...m.stats,
        writesSent: w.stats.sent,
        repliesOk: w.stats.ok,
        repliesError: w.stats.errors,
        repliesLost: w.stats.lost,
        writesAcked: w.writes.filter((x) => x.outcome === 'ok').length,
        roundsCommitted: rounds.committed,
        roundsAborted: rounds.aborted,
        roundMismatches: rounds.mismatches,
        crashes: this.nodes.reduce((a, r) => a + r.crashes, 0),
        streamPublished: this.broker.stats.published,
        streamDuplicates: this.broker.stats.duplicates,
        streamLostTail: this.broker.stats.lostTail,
        streamPurged: this.broker.stats.purged,
        netSent: this.net.sent,
        netDropped: this.net.dropped,
      },
      errorCodes: Object.fromEntries(w.errorCodes),
    };
  }
}

/** The replica's limits for this seed: production defaults scaled to a short run, some bounds made tiny to reach their edge cases. */
function replicaLimits(p: Prng): Partial<ReplicaLimits> {
  return {
    heartbeatMs: 200,
    peerTimeoutMs: 1_500,
    resendAfterMs: 500,
    holdMs: 1_000,
    freezeFlushMs: 1_000,
    cutWaitMs: 1_500,
    publishRetryMsMin: 20,
    publishRetryMsMax: 500,
    causalPendingMax: p.pick([8, 64, 100_000]),
    publishBatchEventsMax: p.pick([1, 3, 1_000]),
    outboxMemoryEventsMax: p.pick([2, 50_000]),
    eventsPerCommitMax: p.pick([2, 10_000]),
    historyEventsMax: 100,
  };
}
