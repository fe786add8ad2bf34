import { isVersionVector, type VersionVector } from '#crdt/causality/version-vector';
import { isNat, isObject } from '#crdt/json';
import type { LogPort } from './ports';
import { compareRoundIds, type RoundId, type RoundResult } from './round-result';

/**
 * Where round results are kept across coordinator restarts (a key of the coordinator's KV
 * bucket in production, issue 9). Only the leader writes, whole lists, newest last.
 */
export interface RoundHistoryPort {
  /** The stored list as it was stored (validated by the reader); [] when none. Rejects when unreachable. */
  load(): Promise<readonly unknown[]>;
  /** Replaces the stored list. Rejects on failure. */
  save(results: readonly RoundResult[]): Promise<void>;
}

/** Limits of the kept history (units last). */
export interface RoundHistoryLimits {
  /** Results kept in memory and stored. */
  readonly resultsMax: number;
  /** Most bytes of the stored JSON; the oldest results are dropped to fit (a KV value must fit a NATS message). */
  readonly storedBytesMax: number;
}

/** A round result off the wire or out of the store; undefined when it is not one. */
export function parseRoundResult(v: unknown): RoundResult | undefined {
  if (!isObject(v) || !isNat(v.epoch) || !isNat(v.round) || (v.outcome !== 'committed' && v.outcome !== 'aborted')) return undefined;
  if (!isObject(v.timings) || !isNat(v.timings.writesHeldMs) || typeof v.coordinator !== 'string') return undefined;
  if (!Array.isArray(v.members) || !isVersionVector(v.cut)) return undefined;
  return v as unknown as RoundResult;
}

/**
 * The rounds a coordinator remembers: bounded, one entry per (coordinator, epoch, round),
 * and, when a store is given, saved after each round this coordinator ran and read back
 * at start. Saves are coalesced (one in flight, the newest list next) and best effort: a
 * failed save is logged, and the next round's save carries the list again.
 */
export class RoundHistory {
  private readonly results: RoundResult[] = [];
  /** See `newestCommitted`. */
  private newest: RoundId = { epoch: 0, round: 0 };
  private saving: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly limits: RoundHistoryLimits,
    private readonly log: LogPort,
    private readonly store?: RoundHistoryPort,
  ) {}

  /** Reads the stored list (if a store is given); resolves with how many results were restored. Never rejects. */
  async restore(): Promise<number> {
    if (!this.store) return 0;
    let raw: readonly unknown[];
    try {
      raw = await this.store.load();
    } catch (e) {
      this.log.warn('round history not read; starting without it', { error: String((e as Error)?.message ?? e) });
      return 0;
    }
    let n = 0;
    for (const v of raw) {
      const r = parseRoundResult(v);
      if (r && this.add(r, false)) n++;
    }
    this.results.sort((a, b) => compareRoundIds(a, b) || a.startedAtMs - b.startedAtMs);
    return n;
  }

  /** Remembers a result; saves the list when `save` (a round this coordinator ran). False when it was known already. */
  add(r: RoundResult, save: boolean): boolean {
    if (r.outcome === 'committed' && compareRoundIds(r, this.newest) > 0) this.newest = { epoch: r.epoch, round: r.round };
    if (this.results.some((h) => h.epoch === r.epoch && h.round === r.round && h.coordinator === r.coordinator)) return false;
    this.results.push(r);
    if (this.results.length > this.limits.resultsMax) this.results.splice(0, this.results.length - this.limits.resultsMax);
    if (save && this.store) this.scheduleSave();
    return true;
  }

  /** Oldest first. */
  all(): readonly RoundResult[] {
    return this.results;
  }

  /** The newest `limit`, newest first. */
  newestFirst(limit: number): RoundResult[] {
    return this.results.slice(-limit).reverse();
  }

  /**
   * The newest round any known result (this coordinator's, an observed leader's, a restored
   * one) says committed; kept when the result itself falls out of the bounded list.
   */
  newestCommitted(): RoundId {
    return this.newest;
  }

  /** The cut of the newest committed round, if any is known. */
  lastCommittedCut(): VersionVector | undefined {
    let best: RoundResult | undefined;
    for (const r of this.results) if (r.outcome === 'committed' && (!best || compareRoundIds(r, best) > 0)) best = r;
    return best?.cut;
  }

  /** Resolves when no save is in flight or pending. */
  async flushed(): Promise<void> {
    while (this.saving) await this.saving;
  }

  private scheduleSave(): void {
    this.dirty = true;
    if (this.saving) return;
    this.saving = (async () => {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.store!.save(this.boundedList());
        } catch (e) {
          this.log.warn('round history not saved', { error: String((e as Error)?.message ?? e) });
        }
      }
    })().finally(() => (this.saving = undefined));
  }

  /** The newest results whose JSON fits `storedBytesMax`. */
  private boundedList(): RoundResult[] {
    const list = [...this.results];
    while (list.length > 0 && new TextEncoder().encode(JSON.stringify(list)).length > this.limits.storedBytesMax) list.splice(0, Math.max(1, Math.ceil(list.length / 10)));
    return list;
  }
}
