import { timestampFromWallMs, vvGet } from '#crdt';
import type { CoordinatorNode } from './coordinator-node';
import type { Prng } from './prng';
import type { ReplicaNode } from './replica-node';
import { SIM_EPOCH_MS } from './scheduler';
import { BROKER, type NetworkConditions } from './sim-network';
import type { World } from './world';

/**
 * How likely each fault is on one tick of the fault schedule (0: never). Each seed draws
 * its own profile, so some runs hammer one fault and others mix many (swarm testing).
 */
export interface FaultProfile {
  /** Kill a replica (kill -9) and restart it from its disk a little later. */
  crash: number;
  /** Split replicas and coordinators into two groups that cannot talk. */
  partition: number;
  /** Cut one replica off the broker (its publishes fail, its consumer stalls). */
  brokerLink: number;
  /** The broker is down for everyone for a while. */
  brokerOutage: number;
  /** Publish acks get lost for a while (the batch is stored; the outbox retries it). */
  ackLoss: number;
  /** The broker crashes before fsync and loses the tail of the stream. */
  tailLoss: number;
  /** The stream is deleted (sometimes recreated at once by an operator). */
  streamDelete: number;
  /** A consumer re-delivers messages it had delivered. */
  redeliver: number;
  /** A process's wall clock jumps (skew of up to ±5 s). */
  clockSkew: number;
  /** Notices and requests are dropped, duplicated and delayed more for a while. */
  noticeChaos: number;
  /** A replica's disk stalls. */
  diskStall: number;
  /** A replica's disk fails a commit (the core stops; it is restarted from disk). */
  diskFailure: number;
  /** A coordinator dies (a standby takes the lease over) and comes back. */
  coordinatorCrash: number;
  /** A member of the next round dies during it. */
  midRoundCrash: number;
  /** A new replica with an empty disk joins. */
  join: number;
  /**
   * One replica's wall clock jumps far ahead, beyond the maximum clock offset (seconds to
   * ten years), for a while: it must stop taking writes (`CLOCK_SKEW`) and no replica may
   * apply an event with a poisoned time.
   */
  clockSkewFar: number;
  /**
   * Someone publishes a forged batch on the op stream: the next seq of a live replica,
   * timed twenty years ahead, raising its total of a counter to a million (a well-formed
   * event, so only its time gives it away). No replica may apply it, and the origin's real
   * event with that seq must still be applied everywhere.
   */
  forgedEvent: number;
  /**
   * A replica dies for good, and the broker loses the stream's tail with it (the last
   * messages, often its own): peers that hold its events must bring them to the others
   * (anti-entropy). At most one per run, and never the last two replicas up.
   */
  death: number;
}

/** Every fault off. */
export const NO_FAULTS: FaultProfile = {
  crash: 0,
  partition: 0,
  brokerLink: 0,
  brokerOutage: 0,
  ackLoss: 0,
  tailLoss: 0,
  streamDelete: 0,
  redeliver: 0,
  clockSkew: 0,
  noticeChaos: 0,
  diskStall: 0,
  diskFailure: 0,
  coordinatorCrash: 0,
  midRoundCrash: 0,
  join: 0,
  clockSkewFar: 0,
  forgedEvent: 0,
  death: 0,
};

/** Typical rates per tick when a fault is enabled. */
const RATES: FaultProfile = {
  crash: 0.04,
  partition: 0.03,
  brokerLink: 0.03,
  brokerOutage: 0.01,
  ackLoss: 0.03,
  tailLoss: 0.01,
  streamDelete: 0.004,
  redeliver: 0.05,
  clockSkew: 0.03,
  noticeChaos: 0.03,
  diskStall: 0.04,
  diskFailure: 0.01,
  coordinatorCrash: 0.01,
  midRoundCrash: 0.1,
  join: 0.005,
  clockSkewFar: 0.01,
  forgedEvent: 0.005,
  death: 0.004,
};

/** A random profile: each fault on with probability one half, at a rate from a tenth to twice the typical one. */
export function randomProfile(prng: Prng): FaultProfile {
  const out = { ...NO_FAULTS };
  for (const k of Object.keys(RATES) as (keyof FaultProfile)[]) {
    if (prng.chance(0.5)) out[k] = RATES[k] * (0.1 + prng.float() * 1.9);
  }
  return out;
}

/** Every fault at its typical rate. */
export function fullProfile(): FaultProfile {
  return { ...RATES };
}

/** The network's calm conditions (restored after chaos and in the quiet period). */
export const CALM: NetworkConditions = { delayMsMin: 1, delayMsMax: 8, noticeDropP: 0, noticeDupP: 0, requestDropP: 0 };

/** What the fault schedule acts on. */
export interface FaultTargets {
  readonly world: World;
  replicaNodes(): readonly ReplicaNode[];
  coordinatorNodes(): readonly CoordinatorNode[];
  /** Adds a replica with an empty disk; undefined when the cluster is at its size limit. */
  addReplica(): ReplicaNode | undefined;
  /** `r` has died for good (it is never restarted; the checks hold the others to what they held of it). */
  replicaDied(r: ReplicaNode): void;
}

/** Counts of injected faults, for the report. */
export type FaultCounts = Record<keyof FaultProfile | 'restart', number>;

/**
 * The seeded fault schedule: every `tickMs` of virtual time it may inject each enabled
 * fault, and it undoes each one after a random while (restarts, heals, restores). At
 * the end of the chaos phase `healAll` undoes everything at once for the quiet period.
 */
export class FaultSchedule {
  readonly counts: FaultCounts = { ...NO_FAULTS, restart: 0 };
  private active = false;
  private armedMidRound = false;
  private forged = 0;
  /** Draws for `death` only (a fork: enabling it does not reshuffle the other faults of a seed). */
  private readonly deathPrng: Prng;

  constructor(
    private readonly targets: FaultTargets,
    private readonly profile: FaultProfile,
    private readonly prng: Prng,
    private readonly tickMs: number,
  ) {
    this.deathPrng = prng.fork('death');
  }

  /** Starts injecting faults. */
  start(): void {
    this.active = true;
    this.tick();
  }

  /** Stops injecting, and undoes every fault: every process up, every link healed, the broker whole. */
  healAll(): void {
    this.active = false;
    this.armedMidRound = false;
    const w = this.targets.world;
    w.net.healAll();
    Object.assign(w.net.conditions, CALM);
    w.broker.up = true;
    w.streamFaults.ackLossP = 0;
    for (const r of this.targets.replicaNodes()) {
      r.disk.behaviour.commitFailureP = 0;
      r.disk.behaviour.stalledUntilMs = 0;
      if (!r.up && !r.gone) {
        r.start();
        this.counts.restart++;
      }
    }
    for (const c of this.targets.coordinatorNodes()) if (!c.up) c.start();
    w.note('FAULT heal all: quiet period');
  }

  /** A round progressed: maybe kill one of its members now (armed by `midRoundCrash`). */
  onRoundEvent(event: Record<string, unknown>): void {
    if (!this.active || !this.armedMidRound) return;
    const phase = event.phase;
    if (phase !== 'started' && phase !== 'frozen' && phase !== 'cut' && phase !== 'committed') return;
    if (!this.prng.chance(0.5)) return;
    this.armedMidRound = false;
    const members = this.targets.replicaNodes().filter((r) => r.up);
    if (members.length === 0) return;
    const victim = this.prng.pick(members);
    // A few milliseconds later, so the crash can land inside the next phase (mid-commit too).
    this.after(this.prng.int(0, 6), () => this.crashReplica(victim, `mid-round (${String(phase)} of ${String(event.epoch)}/${String(event.round)})`));
  }

  private tick(): void {
    if (!this.active) return;
    const p = this.profile;
    const prng = this.prng;
    const w = this.targets.world;
    const replicas = this.targets.replicaNodes();
    const up = replicas.filter((r) => r.up);
    if (prng.chance(p.crash) && up.length > 0) this.crashReplica(prng.pick(up), 'scheduled');
    if (prng.chance(p.partition)) {
      const names = [...replicas.map((r) => r.id), ...this.targets.coordinatorNodes().map((c) => c.id), BROKER];
      const side = names.filter(() => prng.chance(0.5));
      if (side.length > 0 && side.length < names.length) {
        w.net.partition([side]);
        this.counts.partition++;
        w.note(`FAULT partition ${w.net.describe()}`);
        this.after(prng.int(300, 3_000), () => {
          w.net.partition([]);
          w.note('FAULT partition healed');
        });
      }
    }
    if (prng.chance(p.brokerLink) && replicas.length > 0) {
      const r = prng.pick(replicas);
      w.net.cut(r.id, BROKER);
      this.counts.brokerLink++;
      w.note(`FAULT ${r.id} cut off the broker`);
      this.after(prng.int(200, 2_500), () => {
        w.net.restore(r.id, BROKER);
        w.note(`FAULT ${r.id} reaches the broker again`);
      });
    }
    if (prng.chance(p.brokerOutage) && w.broker.up) {
      w.broker.up = false;
      this.counts.brokerOutage++;
      w.note('FAULT broker down');
      this.after(prng.int(100, 1_500), () => {
        w.broker.up = true;
        w.note('FAULT broker up');
      });
    }
    if (prng.chance(p.ackLoss)) {
      w.streamFaults.ackLossP = 0.2 + prng.float() * 0.5;
      this.counts.ackLoss++;
      w.note(`FAULT publish acks lost with p=${w.streamFaults.ackLossP.toFixed(2)}`);
      this.after(prng.int(300, 3_000), () => {
        w.streamFaults.ackLossP = 0;
        w.note('FAULT publish acks reliable again');
      });
    }
    if (prng.chance(p.tailLoss) && w.broker.up) {
      const lost = w.broker.loseTail(prng.int(1, 5));
      w.broker.up = false;
      this.counts.tailLoss++;
      w.note(`FAULT broker crash before fsync: lost the last ${lost} stream messages`);
      this.after(prng.int(50, 600), () => {
        w.broker.up = true;
        w.note('FAULT broker back after crash');
      });
    }
    if (prng.chance(p.streamDelete) && w.broker.exists) {
      w.broker.deleteStream();
      this.counts.streamDelete++;
      const recreate = prng.chance(0.5);
      if (recreate) w.broker.create();
      w.note(`FAULT stream deleted${recreate ? ' and recreated by an operator' : ''}`);
    }
    if (prng.chance(p.redeliver) && up.length > 0) {
      const r = prng.pick(up);
      const back = prng.int(1, 10);
      r.brokerPort?.redeliver(back);
      this.counts.redeliver++;
      w.note(`FAULT ${r.id} consumer re-delivers the last ${back} messages`);
    }
    if (prng.chance(p.clockSkew)) {
      const nodes: { id: string; skew: { ms: number } }[] = [...replicas, ...this.targets.coordinatorNodes()];
      const n = prng.pick(nodes);
      n.skew.ms = prng.int(-5_000, 5_000);
      this.counts.clockSkew++;
      w.note(`FAULT clock of ${n.id} now off by ${n.skew.ms} ms`);
    }
    if (prng.chance(p.clockSkewFar) && replicas.length > 0) {
      const r = prng.pick(replicas);
      const was = r.skew.ms;
      const far = prng.pick([prng.int(2_000, 10_000), prng.int(60_000, 3_600_000), 10 * 365 * 24 * 3_600_000]);
      r.skew.ms = was + far;
      this.counts.clockSkewFar++;
      w.note(`FAULT clock of ${r.id} jumps ${far} ms ahead (off by ${r.skew.ms} ms)`);
      const skewed = r.skew.ms;
      this.after(prng.int(300, 3_000), () => {
        if (r.skew.ms !== skewed) return;
        r.skew.ms = was;
        w.note(`FAULT clock of ${r.id} back to ${was} ms off`);
      });
    }
    const serving = up.filter((r) => r.ready && r.core);
    if (prng.chance(p.forgedEvent) && w.broker.exists && serving.length > 0) {
      const r = prng.pick(serving);
      const seq = vvGet(r.core!.applied(), r.id) + 1;
      const time = timestampFromWallMs(SIM_EPOCH_MS + w.scheduler.nowMs + 20 * 365 * 24 * 3_600_000);
      const forged = { v: 1, origin: r.id, seq, time, deps: {}, key: 'c.0', type: 'pn-counter', options: null, ops: [{ type: 'increment', replica: r.id, total: 1_000_000 }] };
      const stored = w.broker.publish(`forged-${++this.forged}`, `crdt.ops.${r.id}`, JSON.stringify({ v: 1, events: [forged] }), w.scheduler.nowMs, 'forger');
      this.counts.forgedEvent++;
      w.note(`FAULT forged event ${r.id}#${seq} timed 20 years ahead${stored.ok ? ` at #${stored.seq}` : ' (not stored)'}`);
    }
    if (prng.chance(p.noticeChaos)) {
      const c = w.net.conditions;
      c.noticeDropP = prng.float() * 0.5;
      c.noticeDupP = prng.float() * 0.5;
      c.requestDropP = prng.float() * 0.2;
      c.delayMsMax = prng.int(8, 120);
      this.counts.noticeChaos++;
      w.note(`FAULT network chaos ${JSON.stringify(c)}`);
      this.after(prng.int(500, 3_000), () => {
        Object.assign(w.net.conditions, CALM);
        w.note('FAULT network calm');
      });
    }
    if (prng.chance(p.diskStall) && replicas.length > 0) {
      const r = prng.pick(replicas);
      r.disk.behaviour.stalledUntilMs = w.scheduler.nowMs + prng.int(50, 800);
      this.counts.diskStall++;
      w.note(`FAULT ${r.id} disk stalls until ${r.disk.behaviour.stalledUntilMs}`);
    }
    if (prng.chance(p.diskFailure) && up.length > 0) {
      const r = prng.pick(up);
      r.disk.behaviour.commitFailureP = 0.5;
      this.counts.diskFailure++;
      w.note(`FAULT ${r.id} disk fails commits`);
      this.after(prng.int(20, 300), () => {
        r.disk.behaviour.commitFailureP = 0;
      });
    }
    if (prng.chance(p.coordinatorCrash)) {
      const live = this.targets.coordinatorNodes().filter((c) => c.up);
      if (live.length > 0) {
        const c = prng.pick(live);
        c.crash('scheduled');
        this.counts.coordinatorCrash++;
        this.after(prng.int(200, 3_000), () => c.start());
      }
    }
    if (prng.chance(p.midRoundCrash) && !this.armedMidRound) {
      this.armedMidRound = true;
      this.counts.midRoundCrash++;
    }
    if (prng.chance(p.join)) {
      const r = this.targets.addReplica();
      if (r) {
        this.counts.join++;
        w.note(`FAULT new replica ${r.id} joins with an empty disk`);
      }
    }
    if (this.deathPrng.chance(p.death)) this.death();
    this.after(this.tickMs, () => this.tick());
  }

  /** `death`: the origin of the stream's last message dies for good as the broker loses the tail. */
  private death(): void {
    const w = this.targets.world;
    const replicas = this.targets.replicaNodes();
    if (replicas.some((r) => r.gone) || !w.broker.up) return;
    const info = w.broker.info();
    const last = info && info.last_seq >= info.first_seq ? w.broker.messageFrom(info.last_seq) : undefined;
    const victim = last ? replicas.find((r) => r.id === last.msgId.split(':')[0]) : undefined;
    if (!victim || !victim.up || replicas.filter((r) => r.up && r !== victim).length < 2) return;
    this.targets.replicaDied(victim);
    victim.gone = true;
    victim.crash('died for good');
    const lost = w.broker.loseTail(this.deathPrng.int(1, 4));
    w.broker.up = false;
    this.counts.death++;
    w.note(`FAULT ${victim.id} died for good; broker crash before fsync lost the last ${lost} stream messages`);
    this.after(this.deathPrng.int(50, 600), () => {
      w.broker.up = true;
      w.note('FAULT broker back after crash');
    });
  }

  private crashReplica(r: ReplicaNode, why: string): void {
    if (!r.up) return;
    r.crash(why);
    this.counts.crash++;
    this.after(this.prng.int(50, 3_000), () => {
      if (!r.up && !r.gone) {
        r.start();
        this.counts.restart++;
      }
    });
  }

  private after(ms: number, fn: () => void): void {
    this.targets.world.scheduler.after(ms, 'fault', () => {
      if (this.active) fn();
    });
  }
}
