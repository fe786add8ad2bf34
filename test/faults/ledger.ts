/**
 * What the clients of the fault suite know about their own writes: every write is
 * attempted, then either acknowledged (the replica said ok), refused (an error code the
 * protocol says applied nothing), or uncertain (no reply, or a code after which the write
 * may have been applied). The checks compare the replicas' final values against it:
 * nothing acknowledged may be missing, nothing may count twice, nothing may appear that
 * was never attempted.
 */

/** The kinds of key the writers use. */
export type WriteKind = 'counter' | 'or-set' | 'or-map' | 'text';

/** Every kind. */
export const WRITE_KINDS: readonly WriteKind[] = ['counter', 'or-set', 'or-map', 'text'];

/** How one write ended, as the client saw it. */
export type WriteOutcome = 'acked' | 'refused' | 'uncertain';

/**
 * Error codes after which the protocol guarantees nothing was applied (docs/protocol.md,
 * "Whether a failed update was applied"). Every other failure is uncertain: `TIMEOUT`
 * (applied, ack not reached), `INTERNAL`, and no reply at all.
 */
const NOTHING_APPLIED = new Set(['BAD_REQUEST', 'UNKNOWN_COMMAND', 'NOT_FOUND', 'TYPE_MISMATCH', 'UNKNOWN_TYPE', 'INVALID_OP', 'INVALID_OPTIONS', 'TOO_LARGE', 'NOT_CAUGHT_UP', 'FROZEN', 'OVERLOADED', 'UNAVAILABLE']);

/** Classifies an error code of an `update` reply. */
export function outcomeOfErrorCode(code: string): WriteOutcome {
  return NOTHING_APPLIED.has(code) ? 'refused' : 'uncertain';
}

/** Counts of one kind of write. */
export interface WriteTotals {
  attempted: number;
  acked: number;
  refused: number;
  uncertain: number;
  /** Failures by code (`NO_REPLY`, `NO_RESPONDERS` for transport failures). */
  readonly errors: Map<string, number>;
}

/** Totals and per-key (or per-field) amounts of a counter-like key: sums of `by`. */
export interface CounterRecord {
  acked: number;
  uncertain: number;
  attempted: number;
}

/** Elements (or-set values, text markers) of one key by outcome. */
export interface ElementRecord {
  readonly acked: Set<string>;
  readonly uncertain: Set<string>;
  readonly attempted: Set<string>;
}

function newTotals(): WriteTotals {
  return { attempted: 0, acked: 0, refused: 0, uncertain: 0, errors: new Map() };
}

/** The clients' record of every write. */
export class Ledger {
  readonly totals = new Map<WriteKind, WriteTotals>(WRITE_KINDS.map((k) => [k, newTotals()]));
  /** Counter keys: key → amounts. */
  readonly counters = new Map<string, CounterRecord>();
  /** Or-map keys: key → field → amounts (each field a nested pn-counter). */
  readonly maps = new Map<string, Map<string, CounterRecord>>();
  /** Or-set keys: key → elements. */
  readonly sets = new Map<string, ElementRecord>();
  /** Text keys: key → markers. */
  readonly texts = new Map<string, ElementRecord>();
  /** When the last write was acknowledged (ms since the epoch). */
  lastAckMs = 0;

  /** Records the outcome of one counter increment by `by`. */
  counter(key: string, by: number, outcome: WriteOutcome, code?: string): void {
    this.count('counter', outcome, code);
    bump(getOr(this.counters, key, newCounter), by, outcome);
  }

  /** Records the outcome of one or-map update adding `by` to the counter in `field`. */
  mapField(key: string, field: string, by: number, outcome: WriteOutcome, code?: string): void {
    this.count('or-map', outcome, code);
    bump(getOr(getOr(this.maps, key, () => new Map<string, CounterRecord>()), field, newCounter), by, outcome);
  }

  /** Records the outcome of one or-set add of `element`. */
  setAdd(key: string, element: string, outcome: WriteOutcome, code?: string): void {
    this.count('or-set', outcome, code);
    note(getOr(this.sets, key, newElements), element, outcome);
  }

  /** Records the outcome of one text insert of `marker`. */
  textInsert(key: string, marker: string, outcome: WriteOutcome, code?: string): void {
    this.count('text', outcome, code);
    note(getOr(this.texts, key, newElements), marker, outcome);
  }

  /** Every key written, with its kind. */
  keys(): { key: string; kind: WriteKind }[] {
    return [
      ...[...this.counters.keys()].map((key) => ({ key, kind: 'counter' as const })),
      ...[...this.sets.keys()].map((key) => ({ key, kind: 'or-set' as const })),
      ...[...this.maps.keys()].map((key) => ({ key, kind: 'or-map' as const })),
      ...[...this.texts.keys()].map((key) => ({ key, kind: 'text' as const })),
    ].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private count(kind: WriteKind, outcome: WriteOutcome, code: string | undefined): void {
    const t = this.totals.get(kind)!;
    t.attempted++;
    t[outcome]++;
    if (outcome === 'acked') this.lastAckMs = Date.now();
    if (code !== undefined) t.errors.set(code, (t.errors.get(code) ?? 0) + 1);
  }
}

function newCounter(): CounterRecord {
  return { acked: 0, uncertain: 0, attempted: 0 };
}

function newElements(): ElementRecord {
  return { acked: new Set(), uncertain: new Set(), attempted: new Set() };
}

function bump(r: CounterRecord, by: number, outcome: WriteOutcome): void {
  r.attempted += by;
  if (outcome === 'acked') r.acked += by;
  if (outcome === 'uncertain') r.uncertain += by;
}

function note(r: ElementRecord, element: string, outcome: WriteOutcome): void {
  r.attempted.add(element);
  if (outcome === 'acked') r.acked.add(element);
  if (outcome === 'uncertain') r.uncertain.add(element);
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}
