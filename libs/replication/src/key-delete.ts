import { canonicalJson, vvGet, type AnyCrdtType, type Json, type VersionVector } from '#crdt';
import type { ReplicatedEvent } from '#protocol/replicated-event';
import { warm, type KeyEntry, type Variant } from './key-entry';

// Deleting a key (observed-remove, docs/crdt-types.md "Deleting a key"): what `KeySpace`
// records of a key's events since the last snapshot, and how a delete recomputes it.

/**
 * True when a hidden variant must outlive the round that compacts its deleted key: its type
 * has `clear` (its ops name the state: counter totals, dot clocks, sequence ids) and its
 * cleared state holds more than a new one. A round's cut does not hold every event made
 * against the state before it: a replica that missed the round (or held its own events
 * unpublished) writes or republishes events prepared against the hidden state, and every
 * replica applies them after the compaction. Against a new state such an op would count
 * again what the delete removed (a counter's totals under its floor) or be refused (an
 * or-set dot after the dropped ones); against the kept cleared state, not compacted, it
 * means what it meant at its origin (simulator seeds 629, 1651, 3225, 3031). The cost: a
 * deleted key of such a type keeps a row of its clocks and totals (a few bytes per replica
 * that wrote it; a sequence's tombstone ids, an or-map's hidden fields).
 */
export function namesState(v: Variant): boolean {
  if (!v.impl.clear) return false;
  return canonicalJson(v.impl.encode(v.state)) !== canonicalJson(v.impl.encode(v.impl.create(v.options)));
}

/** `createdBy` of a hidden variant (see `recompute`). */
export const HIDDEN_CREATOR = '-';

/** Starts recording a key's events since the last snapshot: the states a delete clears (see `applyDelete`). */
export function startSince(entry: KeyEntry): void {
  entry.since = [];
  for (const v of warm(entry)) {
    if (!v.impl.clear) continue;
    if (!entry.base) entry.base = new Map();
    entry.base.set(v.typeKey, v.impl.clone(v.state));
  }
}

/** Recomputes every variant of a key from its base and its events since, without what `deleted` covers (see `KeySpace.applyDelete`). */
export function recompute(entry: KeyEntry, deleted: VersionVector): void {
  const covered = (e: ReplicatedEvent) => e.seq <= vvGet(deleted, e.origin);
  for (const v of warm(entry)) {
    let state: unknown;
    if (v.impl.clear) {
      const base = entry.base?.get(v.typeKey);
      state = base === undefined ? v.impl.create(v.options) : v.impl.clone(base);
      for (const s of entry.since!) if (s.typeKey === v.typeKey && covered(s.event)) replay(v.impl, state, s.event.ops);
      state = v.impl.clear(state);
    } else {
      state = v.impl.create(v.options);
    }
    let first: ReplicatedEvent | undefined;
    for (const s of entry.since!) {
      if (s.typeKey !== v.typeKey || covered(s.event)) continue;
      replay(v.impl, state, s.event.ops);
      const e = s.event;
      if (!first || e.time < first.time || (e.time === first.time && e.origin < first.origin)) first = e;
    }
    v.state = state;
    if (first) {
      delete v.hidden;
      v.createdTime = first.time;
      v.createdBy = first.origin;
    } else {
      // Hidden: no creation to name. A constant, so that replicas that reached this state by
      // different paths encode it alike (the digest compares hidden variants too).
      v.hidden = true;
      v.createdTime = 0;
      v.createdBy = HIDDEN_CREATOR;
    }
  }
}

/**
 * Applies ops again in a recomputation. They were valid when first applied; one that no
 * longer fits (it names something only a removed event held, on a type without `clear`)
 * is skipped, the same on every replica, so replicas stay equal.
 */
export function replay(impl: AnyCrdtType, state: unknown, ops: readonly Json[]): void {
  for (const op of ops) {
    const v = impl.validateOp(op, state);
    if (v.ok) impl.apply(state, v.value);
  }
}
