import { canonicalJson, isObject, lwwBeats, vvGet, type Json, type VersionVector } from '#crdt';
import type { CreatedEvent, Monitor } from './monitor';

/**
 * The reference model of the exactly-checked keys. Every event an origin created is in
 * the monitor's ledger, so the value any replica must show at any applied vector is
 * known without running a CRDT:
 *
 * - `c.*` (pn-counter): the sum of each event's effect at its origin (value after minus
 *   value before), so every increment counts exactly once;
 * - `m.*` (or-map): the same for its `cnt` field (a pn-counter never removed);
 * - `s.*` (or-set, adds of distinct elements, never removed): the union of the added elements;
 * - `r.*` (lww-register): the value of the write with the greatest (time, replica).
 *
 * Other keys (text, lists, flags, sets with removes, maps' other fields, type conflicts)
 * are checked by convergence only.
 *
 * Deletes (docs/crdt-types.md, "Deleting a key"): an event counts only if no delete on its
 * key covers it (the delete's origin had applied it); with nothing left the key is absent.
 * A delete whose origin missed a round that does not hold the delete (it had not seen the
 * round's whole cut) also removes what that round compacted, seen or not (the documented
 * limit): a key with such a delete is checked by convergence only.
 */
export type KeyFamily = 'counter' | 'map-counter' | 'add-set' | 'register' | 'free';

/** Which model, if any, checks `key`. */
export function familyOf(key: string): KeyFamily {
  if (key.startsWith('c.')) return 'counter';
  if (key.startsWith('m.')) return 'map-counter';
  if (key.startsWith('s.')) return 'add-set';
  if (key.startsWith('r.')) return 'register';
  return 'free';
}

/** The events on `key` that a replica at `applied` has applied (lost-and-replaced ones excluded). */
export function eventsAt(monitor: Monitor, key: string, applied: VersionVector): CreatedEvent[] {
  return (monitor.byKey.get(key) ?? []).filter((e) => !e.replaced && e.seq <= vvGet(applied, e.origin));
}

/** True when `e` is covered by one of `deletes` (its origin had applied `e` when it deleted the key). */
export function deletedBy(e: CreatedEvent, deletes: readonly CreatedEvent[]): boolean {
  return deletes.some((d) => e.seq <= vvGet(d.context, e.origin));
}

/** A delete made without the whole cut of a round that does not hold it: it removes what that round compacted, seen or not. */
export function pastRound(d: CreatedEvent, cuts: readonly VersionVector[]): boolean {
  return cuts.some((cut) => d.seq > vvGet(cut, d.origin) && Object.entries(cut).some(([o, s]) => vvGet(d.context, o) < s));
}

/** The checked part of a value: what the model predicts (undefined for unchecked keys). */
export function projection(key: string, value: Json | undefined): Json | undefined {
  switch (familyOf(key)) {
    case 'counter':
      return typeof value === 'number' ? value : 0;
    case 'map-counter':
      return cntOf(value);
    case 'add-set':
      return Array.isArray(value) ? [...value].map((v) => canonicalJson(v)).sort() : [];
    case 'register':
      return value === undefined ? null : value;
    default:
      return undefined;
  }
}

/** What the model says `key` holds at `applied`; undefined for unchecked keys. */
export function expected(monitor: Monitor, key: string, applied: VersionVector): Json | undefined {
  const family = familyOf(key);
  if (family === 'free') return undefined;
  const applied_ = eventsAt(monitor, key, applied);
  const deletes = applied_.filter((e) => e.delete);
  if (deletes.length > 0) {
    const cuts = monitor.cuts();
    if (deletes.some((d) => pastRound(d, cuts))) return undefined;
  }
  const events = applied_.filter((e) => !e.delete && !deletedBy(e, deletes));
  // Nothing left after a delete: the key reads as absent.
  if (deletes.length > 0 && events.length === 0) return ABSENT;
  switch (family) {
    case 'counter': {
      let sum = 0;
      for (const e of events) sum += (typeof e.after === 'number' ? e.after : 0) - (typeof e.before === 'number' ? e.before : 0);
      return sum;
    }
    case 'map-counter': {
      let sum = 0;
      for (const e of events) sum += cntOf(e.after) - cntOf(e.before);
      return sum;
    }
    case 'add-set': {
      const out = new Set<string>();
      for (const e of events) for (const op of e.ops) if (isObject(op) && op.type === 'add' && Array.isArray(op.values)) for (const v of op.values) out.add(canonicalJson(v));
      return [...out].sort();
    }
    case 'register': {
      let best: { value: Json; time: number; replica: string } | undefined;
      for (const e of events) {
        for (const op of e.ops) {
          if (!isObject(op) || op.type !== 'set' || typeof op.time !== 'number' || typeof op.replica !== 'string') continue;
          const w = { value: op.value as Json, time: op.time, replica: op.replica };
          if (!best || lwwBeats(w, best)) best = w;
        }
      }
      return best ? best.value : null;
    }
  }
}

/** What `expected` says of a key that deletes left empty (no value, unlike an empty set). */
const ABSENT = '(absent)';

/** Compares a replica's value of `key` at `applied` with the model; a sentence when they differ. */
export function checkValue(monitor: Monitor, key: string, applied: VersionVector, value: Json | undefined): string | undefined {
  const want = expected(monitor, key, applied);
  if (want === undefined) return undefined;
  const got = want === ABSENT && value === undefined ? ABSENT : projection(key, value);
  if (canonicalJson(want) === canonicalJson(got as Json)) return undefined;
  return `${key} at ${JSON.stringify(applied)} is ${truncate(canonicalJson(got as Json))}, the model says ${truncate(canonicalJson(want))}`;
}

function cntOf(v: Json | undefined): number {
  return isObject(v) && typeof v.cnt === 'number' ? v.cnt : 0;
}

function truncate(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}
