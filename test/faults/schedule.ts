import { Prng } from '#simulation/prng';

/**
 * The seeded fault schedule of the real-process fault suite: which fault comes next, on
 * which process, how long it lasts and how long the cluster runs clean before it. Pure:
 * the same seed gives the same sequence of faults (wall-clock timings of the real
 * processes still vary from run to run, so a seed replays the faults, not the exact
 * interleaving).
 */

/**
 * The kinds of fault injected. The last one overlaps two: a NATS node is down while a
 * replica crashes and starts again (a replica must start with any one node down).
 */
export type FaultKind = 'kill-replica' | 'kill-nats' | 'pause-replica' | 'kill-leader' | 'kill-replica-nats-down' | 'partition' | 'isolate-host';

/** Every kind, in a fixed order (the schedule shuffles it per seed). */
export const FAULT_KINDS: readonly FaultKind[] = ['kill-replica', 'kill-nats', 'pause-replica', 'kill-leader', 'kill-replica-nats-down', 'partition', 'isolate-host'];

/**
 * The kinds that need real network partitions between hosts (a network lab: network
 * namespaces, root only). `partition` cuts one host (its NATS node, replica and
 * coordinator) from the other two while clients on every side still reach their own
 * host; `isolate-host` takes the host off the network entirely (everything dropped).
 */
export const NETWORK_KINDS: readonly FaultKind[] = ['partition', 'isolate-host'];

/** One planned fault. */
export interface FaultStep {
  /** Position in the schedule, from 1. */
  readonly n: number;
  readonly kind: FaultKind;
  /** The replica it hits (kill-replica, pause-replica, kill-replica-nats-down; for partition and isolate-host, the replica whose host is cut off). */
  readonly replica?: string;
  /** The NATS node it hits, from 0 (kill-nats, kill-replica-nats-down). kill-leader names no target: the leader is whoever holds the lease when it fires. */
  readonly node?: number;
  /** Clean time before the fault starts. */
  readonly gapMs: number;
  /**
   * How long the fault lasts before it is healed: the process stays dead (or stopped)
   * this long. For pause-replica it is counted from the moment the coordinator no longer
   * sees the replica, so that a round really runs without it.
   */
  readonly holdMs: number;
}

/** Bounds of the schedule (units last). */
export interface ScheduleLimits {
  readonly gapMsMin: number;
  readonly gapMsMax: number;
  readonly holdMsMin: number;
  readonly holdMsMax: number;
}

/** Defaults for a cluster whose leases and heartbeats are 1.5 s: long enough to matter, short enough for many faults a minute. */
export const DEFAULT_SCHEDULE_LIMITS: ScheduleLimits = {
  gapMsMin: 500,
  gapMsMax: 3_000,
  holdMsMin: 1_000,
  holdMsMax: 4_000,
};

/** Relative weights of the kinds once each has appeared once. */
const WEIGHTS: Readonly<Record<FaultKind, number>> = {
  'kill-replica': 3,
  'kill-nats': 3,
  'pause-replica': 2,
  'kill-leader': 2,
  'kill-replica-nats-down': 1,
  partition: 2,
  'isolate-host': 1,
};

/**
 * An endless, seeded sequence of faults. The first ones are every kind once, in a
 * seeded order, so that even a short run covers them all; after that kinds are drawn by
 * weight, never the same target twice in a row for the same kind (a fault on a process
 * that only just came back tests less).
 */
export function* faultSchedule(
  seed: number,
  replicaIds: readonly string[],
  natsNodes: number,
  kinds: readonly FaultKind[] = FAULT_KINDS,
  limits: ScheduleLimits = DEFAULT_SCHEDULE_LIMITS,
): Generator<FaultStep, never, void> {
  if (kinds.length === 0) throw new Error('a fault schedule needs at least one kind of fault');
  const prng = new Prng(seed).fork('fault-schedule');
  const firstRound = prng.shuffle(kinds);
  const weights = Object.fromEntries(kinds.map((k) => [k, WEIGHTS[k]])) as Record<FaultKind, number>;
  const lastTarget = new Map<string, string | number>();
  const pickAvoiding = <T extends string | number>(slot: string, options: readonly T[]): T => {
    const previous = lastTarget.get(slot);
    const pool = options.length > 1 ? options.filter((o) => o !== previous) : options;
    const chosen = prng.pick(pool);
    lastTarget.set(slot, chosen);
    return chosen;
  };
  const nodeIndexes = Array.from({ length: natsNodes }, (_, i) => i);
  for (let n = 1; ; n++) {
    const kind = n <= firstRound.length ? firstRound[n - 1] : prng.weighted(weights);
    const replica =
      kind === 'kill-replica' || kind === 'pause-replica' || kind === 'kill-replica-nats-down' || kind === 'partition' || kind === 'isolate-host'
        ? pickAvoiding(`${kind}/replica`, replicaIds)
        : undefined;
    const node = kind === 'kill-nats' || kind === 'kill-replica-nats-down' ? pickAvoiding(`${kind}/node`, nodeIndexes) : undefined;
    yield {
      n,
      kind,
      ...(replica !== undefined ? { replica } : {}),
      ...(node !== undefined ? { node } : {}),
      gapMs: prng.int(limits.gapMsMin, limits.gapMsMax),
      holdMs: prng.int(limits.holdMsMin, limits.holdMsMax),
    };
  }
}

/** Parses a comma-separated list of kinds (FAULTS_KINDS); every kind when empty. Throws naming an unknown kind. */
export function parseKinds(raw: string | undefined): FaultKind[] {
  const names = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) return [...FAULT_KINDS];
  for (const n of names) if (!FAULT_KINDS.includes(n as FaultKind)) throw new Error(`unknown fault kind ${JSON.stringify(n)}; kinds: ${FAULT_KINDS.join(', ')}`);
  return names as FaultKind[];
}

/** The first `count` steps of a schedule (for printing the plan and for tests). */
export function firstSteps(seed: number, replicaIds: readonly string[], natsNodes: number, count: number, kinds: readonly FaultKind[] = FAULT_KINDS): FaultStep[] {
  const out: FaultStep[] = [];
  const it = faultSchedule(seed, replicaIds, natsNodes, kinds);
  while (out.length < count) out.push(it.next().value);
  return out;
}

/** One line describing a step. */
export function describeStep(step: FaultStep): string {
  const targets = [step.replica, step.node !== undefined ? `n${step.node + 1}` : undefined].filter((t) => t !== undefined);
  return `#${step.n} ${step.kind}${targets.length > 0 ? ` ${targets.join(' + ')}` : ''} (after ${step.gapMs} ms clean, held ${step.holdMs} ms)`;
}
