import type { Reply } from './client';
import { formatValue, table } from './format';

/**
 * Pure formatting of the per-replica views (`status KEY`, `peers KEY`, `missing`,
 * `status --replica ID`): data in, lines out.
 */

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorCode(r: Reply): string {
  return isObj(r.error) && typeof r.error.code === 'string' ? r.error.code : 'ERROR';
}

/** One replica's status reply (`status --replica ID`). */
export function formatReplicaStatus(r: Obj): string[] {
  const applied = isObj(r.applied) ? Object.keys(r.applied).sort().map((k) => `${k}:${(r.applied as Obj)[k]}`).join(' ') || '(nothing)' : '?';
  const round = isObj(r.lastRound) ? `${r.lastRound.epoch}/${r.lastRound.round}` : '?';
  return [
    `replica ${r.replica}: mode ${r.mode}, ${r.keys} keys, last round ${round}`,
    `applied ${applied}; stream seq ${r.streamSeq}; op log ${r.opLogLength} events; outbox ${r.outboxDepth}; waiting ${r.waiting}; held writes ${r.heldWrites}`,
  ];
}

/** A key's value on each replica. */
export function formatAcrossReplicas(key: string, rows: ReadonlyArray<readonly [string, Reply]>): string[] {
  return table(
    ['REPLICA', `VALUE OF ${key}`],
    rows.map(([id, r]) => [id, r.ok === true ? formatValue(r.value) : `(${errorCode(r)})`]),
  );
}

/** What one replica lacks. */
export interface MissingRow {
  readonly replica: string;
  /** Events received but held back for a causal dependency (status `waiting`); absent for a key. */
  readonly waiting?: number;
  /** Events others have applied and this one has not, as `origin#from-to` (or `origin#seq`). */
  readonly missing: string[];
  /** Set when the replica did not answer. */
  readonly error?: string;
}

/** `origin#a-b` ranges from sorted sequence numbers. */
function ranges(origin: string, seqs: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j] + 1) j++;
    out.push(seqs[i] === seqs[j] ? `${origin}#${seqs[i]}` : `${origin}#${seqs[i]}-${seqs[j]}`);
    i = j + 1;
  }
  return out;
}

/** From status replies: each replica's `waiting`, and the ranges it lacks against the highest applied vector. */
export function missingByReplica(statuses: ReadonlyArray<readonly [string, Reply]>): MissingRow[] {
  const max: Record<string, number> = {};
  for (const [, s] of statuses) if (s.ok === true && isObj(s.applied)) for (const [o, n] of Object.entries(s.applied)) if (typeof n === 'number' && n > (max[o] ?? 0)) max[o] = n;
  return statuses.map(([id, s]) => {
    if (s.ok !== true) return { replica: id, missing: [], error: errorCode(s) };
    const applied = isObj(s.applied) ? s.applied : {};
    const missing = Object.keys(max).sort().flatMap((o) => {
      const have = typeof applied[o] === 'number' ? (applied[o] as number) : 0;
      return have < max[o] ? [have + 1 === max[o] ? `${o}#${max[o]}` : `${o}#${have + 1}-${max[o]}`] : [];
    });
    return { replica: id, waiting: typeof s.waiting === 'number' ? s.waiting : 0, missing };
  });
}

/** From history replies of one key: the events some replica lists and another does not. */
export function missingEventsOfKey(histories: ReadonlyArray<readonly [string, Reply]>): MissingRow[] {
  const all = new Map<string, Set<number>>();
  const have = new Map<string, Set<string>>();
  for (const [id, h] of histories) {
    if (h.ok !== true) continue;
    const mine = new Set<string>();
    for (const e of Array.isArray(h.events) ? h.events.filter(isObj) : []) {
      if (typeof e.origin !== 'string' || typeof e.seq !== 'number') continue;
      mine.add(`${e.origin}#${e.seq}`);
      if (!all.has(e.origin)) all.set(e.origin, new Set());
      all.get(e.origin)!.add(e.seq);
    }
    have.set(id, mine);
  }
  return histories.map(([id, h]) => {
    if (h.ok !== true) return { replica: id, missing: [], error: errorCode(h) };
    const mine = have.get(id)!;
    const missing = [...all.keys()].sort().flatMap((o) => ranges(o, [...all.get(o)!].filter((s) => !mine.has(`${o}#${s}`)).sort((a, b) => a - b)));
    return { replica: id, missing };
  });
}

/** The `missing` table. */
export function formatMissing(rows: readonly MissingRow[], key?: string): string[] {
  const withWaiting = key === undefined;
  const lines = table(
    withWaiting ? ['REPLICA', 'WAITING', 'MISSING'] : ['REPLICA', `MISSING EVENTS OF ${key}`],
    rows.map((r) => {
      const missing = r.error !== undefined ? `(${r.error})` : r.missing.length === 0 ? '-' : r.missing.join(' ');
      return withWaiting ? [r.replica, r.error !== undefined ? '?' : String(r.waiting ?? 0), missing] : [r.replica, missing];
    }),
  );
  lines.push(withWaiting
    ? 'WAITING: events received but held for a causal dependency; MISSING: events another replica has applied and this one has not'
    : 'events since the last compaction round, from each replica\'s history of the key');
  return lines;
}
