import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Prng } from '#simulation/prng';
import type { RoundRecord } from './checker';
import type { FaultCluster, Reply } from './fault-cluster';

/**
 * Rounds during the fault run: a loop asks the leading coordinator for a round every few
 * seconds (`crdt.coordinator.sync`), tolerating no answer while nobody leads and aborted
 * rounds while faults are active; and a subscription to the round events keeps every
 * result any coordinator announces, including those of a leader that is killed later.
 */

/** One `sync` request as the driver saw it. */
export interface SyncAttempt {
  readonly atMs: number;
  readonly durationMs: number;
  /** committed, aborted (with the code), or the transport failure. */
  readonly outcome: string;
}

/** Most cut failures diagnosed in one run (each costs a 2 s pause of the driver). */
const DIAGNOSES_MAX = 20;

/** Bounds of the round driver (units last). */
export interface RoundDriverLimits {
  readonly intervalMsMin: number;
  readonly intervalMsMax: number;
}

/** Defaults: a round every 2-5 s, so that several rounds meet every fault. */
export const DEFAULT_ROUND_DRIVER_LIMITS: RoundDriverLimits = { intervalMsMin: 2_000, intervalMsMax: 5_000 };

/** Turns a round result (from a reply or an event) into a record; undefined when it is not one. */
export function roundRecord(raw: unknown): RoundRecord | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.epoch !== 'number' || typeof r.round !== 'number' || (r.outcome !== 'committed' && r.outcome !== 'aborted')) return undefined;
  return {
    epoch: r.epoch,
    round: r.round,
    outcome: r.outcome,
    coordinator: String(r.coordinator ?? '?'),
    startedAtMs: typeof r.startedAtMs === 'number' ? r.startedAtMs : 0,
    code: typeof r.code === 'string' ? r.code : undefined,
    reason: typeof r.reason === 'string' ? r.reason : undefined,
    mismatchedKeys: Array.isArray(r.mismatchedKeys) ? (r.mismatchedKeys as string[]) : undefined,
    cut: r.cut && typeof r.cut === 'object' ? (r.cut as Record<string, number>) : undefined,
    members: Array.isArray(r.members) ? (r.members as string[]) : undefined,
    failedPhase: Array.isArray(r.failures) && r.failures.length > 0 ? String((r.failures[0] as { phase?: unknown }).phase) : undefined,
  };
}

/** Every round result seen, deduplicated by (coordinator, epoch, round, start). */
export class RoundLog {
  private readonly byId = new Map<string, RoundRecord>();
  private sub: Subscription | undefined;

  /** Listens to the round events (`crdt.rounds.events`, phase `done`). */
  listen(nc: NatsConnection): void {
    this.sub = nc.subscribe('crdt.rounds.events', {
      callback: (err, msg) => {
        if (err) return;
        try {
          const e = JSON.parse(msg.string()) as { phase?: string; result?: unknown };
          if (e.phase === 'done') this.add(e.result);
        } catch {
          // not an event of ours
        }
      },
    });
  }

  /** Adds a result (a `sync` reply's, or an event's). */
  add(raw: unknown): RoundRecord | undefined {
    const r = roundRecord(raw);
    if (r) this.byId.set(`${r.coordinator}/${r.epoch}/${r.round}/${r.startedAtMs}`, r);
    return r;
  }

  /** Every round, oldest first. */
  all(): RoundRecord[] {
    return [...this.byId.values()].sort((a, b) => a.startedAtMs - b.startedAtMs);
  }

  close(): void {
    this.sub?.unsubscribe();
  }
}

/** Asks for rounds in a loop until stopped. */
export class RoundDriver {
  readonly attempts: SyncAttempt[] = [];
  /** For rounds that failed at the cut: where each member stood against the cut just after (the first `DIAGNOSES_MAX`). */
  readonly diagnoses: string[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cluster: FaultCluster,
    private readonly log: RoundLog,
    private readonly prng: Prng,
    private readonly limits: RoundDriverLimits = DEFAULT_ROUND_DRIVER_LIMITS,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** The newest committed round that started at or after `sinceMs` (from every announcement seen). */
  newestCommittedSince(sinceMs: number): RoundRecord | undefined {
    return this.log.all().filter((r) => r.outcome === 'committed' && r.startedAtMs >= sinceMs).pop();
  }

  /** Stops asking and waits for the request in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** One `sync` request, recorded; resolves with its round (undefined when nobody answered). */
  async syncOnce(): Promise<{ reply: Reply | undefined; record: RoundRecord | undefined; outcome: string }> {
    const atMs = Date.now();
    let outcome: string;
    let reply: Reply | undefined;
    let record: RoundRecord | undefined;
    try {
      reply = await this.cluster.sync();
      record = this.log.add(reply.result);
      outcome = record ? (record.outcome === 'committed' ? 'committed' : `aborted ${record.code ?? ''}`.trim()) : `refused ${reply.error?.code ?? '?'}`;
      if (record?.outcome === 'aborted' && record.failedPhase === 'cut' && record.code !== 'DIGEST_MISMATCH' && this.diagnoses.length < DIAGNOSES_MAX) {
        this.diagnoses.push(await this.diagnoseCut(record));
      }
    } catch (e) {
      const text = String((e as Error)?.message ?? e) + String((e as { cause?: unknown })?.cause ?? '');
      outcome = /no responders/i.test(text) ? 'no leader (no responders)' : /timeout/i.test(text) ? 'no reply' : `failed: ${text.slice(0, 100)}`;
    }
    this.attempts.push({ atMs, durationMs: Date.now() - atMs, outcome });
    return { reply, record, outcome };
  }

  /**
   * Where each member stands against the cut of a round that failed at the cut, now and
   * 2 s later: a member still behind after that is stuck (a missing event), not slow.
   */
  private async diagnoseCut(r: RoundRecord): Promise<string> {
    const sample = async () => {
      const parts: string[] = [];
      for (const id of r.members ?? []) {
        const s = await this.cluster.status(id).catch(() => undefined);
        if (!s?.ok) {
          parts.push(`${id}: no status`);
          continue;
        }
        const applied = (s.applied ?? {}) as Record<string, number>;
        const behind = Object.entries(r.cut ?? {}).filter(([o, n]) => (applied[o] ?? 0) < n).map(([o, n]) => `${o} ${applied[o] ?? 0}<${n}`);
        parts.push(`${id}: ${behind.length > 0 ? `behind ${behind.join(',')}` : 'at or past the cut'} (streamSeq ${String(s.streamSeq)}, waiting ${String(s.waiting)}, mode ${String(s.mode)})`);
      }
      const last = await this.cluster.streamLastSeq().catch(() => undefined);
      return `${parts.join('; ')}; stream last ${last ?? '?'}`;
    };
    const now = await sample();
    await new Promise((res) => setTimeout(res, 2_000));
    return `round ${r.epoch}/${r.round} cut ${JSON.stringify(r.cut)}: just after: ${now} | 2 s later: ${await sample()}`;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, this.prng.int(this.limits.intervalMsMin, this.limits.intervalMsMax));
        // Stopping ends the wait and its timer, so nothing outlives the test.
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (!this.running) return;
      await this.syncOnce();
    }
  }
}
