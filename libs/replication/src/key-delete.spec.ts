import fc from 'fast-check';
import { canonicalJson, vvGet, type Json, type VersionVector } from '#crdt';
import { deleteContext, EVENT_VERSION, type ReplicatedEvent } from '#protocol/replicated-event';
import { KeySpace } from './key-space';

/**
 * Key deletion (issue 10 item 3), property-tested: replicas that apply the same updates
 * and deletes in any causal order converge, and the value of every key is what the
 * observed-remove rule says: the events on the key that no delete covers, and nothing
 * else (docs/crdt-types.md, "Deleting a key").
 */

const REPLICAS = ['r1', 'r2', 'r3'];
/** One key per type; the checked ones have a model below, the others are checked by convergence. */
const KEYS = [
  { key: 'c', type: 'pn-counter' },
  { key: 's', type: 'or-set' },
  { key: 'g', type: 'lww-register' },
  { key: 't', type: 'text' },
  { key: 'm', type: 'or-map' },
  { key: 'f', type: 'ew-flag' },
  { key: 'l', type: 'list' },
] as const;

type Step =
  | { kind: 'write'; replica: number; key: number; arg: number }
  | { kind: 'delete'; replica: number; key: number }
  | { kind: 'deliver'; replica: number; pick: number }
  | { kind: 'round' };

interface Node {
  readonly id: string;
  keys: KeySpace;
  applied: VersionVector;
}

/** What the origin saw an event change (for the counter model). */
interface Logged {
  readonly event: ReplicatedEvent;
  readonly effect: number;
}

function commandFor(type: (typeof KEYS)[number]['type'], arg: number, node: Node, key: string, id: number): Json {
  const v = node.keys.get(key);
  switch (type) {
    case 'pn-counter':
      return { type: arg % 3 === 0 ? 'decrement' : 'increment', by: 1 + (arg % 4) };
    case 'or-set':
      return { type: 'add', value: `e${id}` };
    case 'lww-register':
      return { type: 'set', value: id };
    case 'text': {
      const length = v ? (v.impl.value(v.state) as string).length : 0;
      if (arg % 3 === 2 && length > 0) return { type: 'delete', index: arg % length };
      return { type: 'insert', index: length === 0 ? 0 : arg % (length + 1), text: `<${id}>` };
    }
    case 'list': {
      const length = v ? (v.impl.value(v.state) as Json[]).length : 0;
      if (arg % 3 === 2 && length > 0) return { type: 'set', index: arg % length, value: -id };
      return { type: 'insert', index: length === 0 ? 0 : arg % (length + 1), value: id };
    }
    case 'or-map':
      return arg % 2 === 0
        ? { type: 'update', field: 'n', fieldType: 'pn-counter', op: { type: 'increment', by: 1 } }
        : { type: 'update', field: 'doc', fieldType: 'text', op: { type: 'insert', index: 0, text: `d${id}` } };
    case 'ew-flag':
      return { type: arg % 3 === 0 ? 'disable' : 'enable' };
  }
}

/**
 * Runs a schedule over three key spaces. Writes and deletes are prepared at their
 * replica against its own state; deliveries apply one causally ready event of another
 * origin; a round delivers everything everywhere, compacts every key space and restarts
 * one of them from the snapshot the compaction wrote. Returns the nodes and the log.
 */
function run(steps: readonly Step[]): { nodes: Node[]; log: Logged[]; snapshots: Map<string, Json>[] } {
  const nodes: Node[] = REPLICAS.map((id) => ({ id, keys: new KeySpace(), applied: {} }));
  const log: Logged[] = [];
  const stored: Map<string, Json>[] = nodes.map(() => new Map());
  let time = 1;
  let id = 0;
  const apply = (node: Node, e: ReplicatedEvent) => {
    expect(node.keys.apply(e)).toEqual({ ok: true });
    node.applied = { ...node.applied, [e.origin]: e.seq };
  };
  const ready = (node: Node): ReplicatedEvent[] =>
    log.map((l) => l.event).filter((e) => e.seq === vvGet(node.applied, e.origin) + 1 && Object.entries(e.deps).every(([o, s]) => vvGet(node.applied, o) >= s));
  const deliverAll = () => {
    for (const node of nodes) for (let r = ready(node); r.length > 0; r = ready(node)) apply(node, r[0]);
  };
  const originate = (node: Node, key: string, type: string, ops: Json[], del: boolean) => {
    const deps = { ...node.applied };
    const seq = vvGet(deps, node.id) + 1;
    delete deps[node.id];
    const before = node.keys.get(key);
    const beforeValue = before ? (before.impl.value(before.state) as Json) : undefined;
    const e: ReplicatedEvent = { v: EVENT_VERSION, origin: node.id, seq, time, deps, key, type: type as ReplicatedEvent['type'], options: null, ops, ...(del ? { delete: true as const } : {}) };
    time += 10;
    apply(node, e);
    const after = node.keys.get(key);
    const afterValue = after ? (after.impl.value(after.state) as Json) : undefined;
    log.push({ event: e, effect: typeof afterValue === 'number' && !del ? afterValue - (typeof beforeValue === 'number' ? beforeValue : 0) : 0 });
  };
  for (const step of steps) {
    if (step.kind === 'write') {
      const node = nodes[step.replica];
      const { key, type } = KEYS[step.key];
      const p = node.keys.prepare(key, type, null, [commandFor(type, step.arg, node, key, ++id)], { replica: node.id, time });
      if (p.ok) originate(node, key, type, p.value.ops, false);
    } else if (step.kind === 'delete') {
      const node = nodes[step.replica];
      const { key } = KEYS[step.key];
      const v = node.keys.get(key);
      if (v) originate(node, key, v.type, [], true);
    } else if (step.kind === 'deliver') {
      const node = nodes[step.replica];
      const r = ready(node);
      if (r.length > 0) apply(node, r[step.pick % r.length]);
    } else {
      deliverAll();
      const deltas = nodes.map((n) => n.keys.compactChanged());
      nodes.forEach((n, i) => {
        for (const [k, enc] of deltas[i]) {
          if (enc === null) stored[i].delete(k);
          else stored[i].set(k, enc);
        }
      });
      // Every member writes the same delta, and nothing a delete left behind is in it.
      for (const d of deltas) expect(canonicalJson(d as unknown as Json)).toBe(canonicalJson(deltas[0] as unknown as Json));
      // A row holds the visible variant alone, or (a key deleted with nothing after it) only
      // hidden variants: the cleared states in-flight ops may still name.
      for (const [, enc] of stored[0]) {
        const variants = enc as Array<{ hidden?: true }>;
        expect(variants.every((v) => v.hidden) || (variants.length === 1 && !variants[0].hidden)).toBe(true);
      }
      // A restart (or a joiner) from the snapshot agrees with the members.
      const restarted = new KeySpace();
      for (const [k, enc] of stored[0]) expect(restarted.loadKey(k, enc)).toBe(true);
      expect(restarted.digestFromScratch()).toBe(nodes[0].keys.digestFromScratch());
      nodes[0].keys = restarted;
    }
  }
  deliverAll();
  return { nodes, log, snapshots: stored };
}

/** True when some applied delete of the event's key covers it. */
function removed(e: ReplicatedEvent, log: readonly Logged[]): boolean {
  return log.some((l) => l.event.delete && l.event.key === e.key && e.seq <= vvGet(deleteContext(l.event), e.origin));
}

/** The model: what the observed-remove rule says a checked key holds, or undefined for an absent key. */
function expected(key: string, log: readonly Logged[]): Json | undefined {
  const live = log.filter((l) => l.event.key === key && !l.event.delete && !removed(l.event, log));
  if (live.length === 0) return undefined;
  switch (key) {
    case 'c':
      return live.reduce((n, l) => n + l.effect, 0);
    case 's':
      return live.flatMap((l) => l.event.ops.flatMap((op) => ((op as { values: Json[] }).values ?? []) as Json[])).map((v) => canonicalJson(v)).sort();
    case 'g': {
      let best: { value: Json; time: number; replica: string } | undefined;
      for (const l of live) {
        const op = l.event.ops[0] as { value: Json; time: number; replica: string };
        if (!best || op.time > best.time || (op.time === best.time && op.replica > best.replica)) best = op;
      }
      return best!.value;
    }
    default:
      return null;
  }
}

const step = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), replica: fc.nat(2), key: fc.nat(KEYS.length - 1), arg: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), replica: fc.nat(2), key: fc.nat(KEYS.length - 1) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica: fc.nat(2), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'round' as const }) },
);

describe('key deletion', () => {
  it('key deletion - replicas applying the same updates and deletes in any causal order converge, through rounds and restarts', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const { nodes } = run(steps);
        const digests = nodes.map((n) => n.keys.digestFromScratch());
        expect(new Set(digests).size).toBe(1);
        expect(nodes.map((n) => n.keys.digest())).toEqual(digests);
        for (const { key } of KEYS) {
          const values = nodes.map((n) => {
            const v = n.keys.get(key);
            return v ? canonicalJson(v.impl.value(v.state) as Json) : 'absent';
          });
          expect(new Set(values).size).toBe(1);
        }
        expect(new Set(nodes.map((n) => JSON.stringify(n.keys.list('', 100)))).size).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('key deletion - every key holds what the events no delete covers make of it (a concurrent update survives, a seen one is gone)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const { nodes, log } = run(steps);
        for (const { key } of KEYS.slice(0, 3)) {
          const want = expected(key, log);
          for (const n of nodes) {
            const v = n.keys.get(key);
            if (want === undefined) {
              expect(v).toBeUndefined();
              continue;
            }
            expect(v).toBeDefined();
            const got = v!.impl.value(v!.state) as Json;
            expect(key === 's' ? (got as Json[]).map((x) => canonicalJson(x)).sort() : got).toEqual(want);
          }
        }
        // Keys of the other types: present exactly when some event on them survives.
        for (const { key } of KEYS.slice(3)) {
          const live = log.some((l) => l.event.key === key && !l.event.delete && !removed(l.event, log));
          for (const n of nodes) expect(n.keys.get(key) !== undefined).toBe(live);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('key deletion - a concurrent text insert after deleted text survives alone, placed among the tombstones', () => {
    const steps: Step[] = [
      { kind: 'write', replica: 0, key: 3, arg: 0 }, // r1 inserts <1>
      { kind: 'deliver', replica: 1, pick: 0 },
      { kind: 'write', replica: 1, key: 3, arg: 3 }, // r2 inserts after it, not seen by r1's delete
      { kind: 'delete', replica: 0, key: 3 },
    ];
    const { nodes } = run(steps);
    for (const n of nodes) {
      const v = n.keys.get('t');
      expect(v && v.impl.value(v.state)).toBe('<2>');
    }
  });

  it('key deletion - after a round, a concurrent insert after text the round compacted survives the delete', () => {
    const { nodes } = run([
      { kind: 'write', replica: 0, key: 3, arg: 0 }, // r1 inserts <1>
      { kind: 'round' },
      { kind: 'write', replica: 1, key: 3, arg: 3 }, // r2 inserts after <1>, which is in the snapshot
      { kind: 'delete', replica: 0, key: 3 }, // r1 has not seen it
      { kind: 'write', replica: 2, key: 0, arg: 1 },
    ]);
    for (const n of nodes) {
      const v = n.keys.get('t');
      expect(v && v.impl.value(v.state)).toBe('<2>');
    }
  });

  it('key deletion - a variant hidden by deletes in different orders encodes alike (simulator seed 153)', () => {
    const ev = (origin: string, seq: number, deps: VersionVector, ops: Json[], del = false): ReplicatedEvent => ({ v: EVENT_VERSION, origin, seq, time: seq * 1000 + origin.charCodeAt(1), deps, key: 'c', type: 'pn-counter', options: null, ops, ...(del ? { delete: true as const } : {}) });
    const e1 = ev('r1', 1, {}, [{ type: 'increment', replica: 'r1', total: 4 }]);
    const d1 = ev('r3', 1, { r1: 1 }, [], true);
    const e2 = ev('r1', 2, {}, [{ type: 'decrement', replica: 'r1', total: 2 }]);
    const d2 = ev('r4', 1, { r1: 2 }, [], true);
    const a = new KeySpace();
    const b = new KeySpace();
    for (const e of [e1, d1, e2, d2]) expect(a.apply(e)).toEqual({ ok: true });
    for (const e of [e1, e2, d2, d1]) expect(b.apply(e)).toEqual({ ok: true });
    expect(a.get('c')).toBeUndefined();
    expect(a.encodeKey('c')).toEqual(b.encodeKey('c'));
    expect(a.digest()).toBe(b.digest());
  });

  it('key deletion - the next round drops the tombstone: a deleted key whose ops name nothing leaves the snapshot, a counter keeps a hidden row of its totals', () => {
    const { nodes, snapshots } = run([
      { kind: 'write', replica: 0, key: 0, arg: 1 },
      { kind: 'write', replica: 1, key: 1, arg: 1 },
      { kind: 'write', replica: 2, key: 2, arg: 1 },
      { kind: 'round' },
      { kind: 'delete', replica: 0, key: 0 },
      { kind: 'delete', replica: 0, key: 2 },
      { kind: 'round' },
    ]);
    // The register (ops name nothing of the state) is gone; the counter's row is hidden.
    expect([...snapshots[1].keys()].sort()).toEqual(['c', 's']);
    expect(snapshots[1].get('c')).toEqual([expect.objectContaining({ hidden: true, type: 'pn-counter' })]);
    for (const n of nodes) expect(n.keys.list('', 10).keys.map((k) => k.key)).toEqual(['s']);
    for (const n of nodes) expect(n.keys.get('c')).toBeUndefined();
    // before-sync reads the row as absent (null), not as malformed (undefined).
    expect(KeySpace.valueOfEncoded(snapshots[1].get('c'))).toBeNull();
    expect(KeySpace.valueOfEncoded(snapshots[1].get('s'))).toMatchObject({ type: 'or-set' });
    // After the round a new write starts the key afresh: the old value is gone for good.
    const again = run([
      { kind: 'write', replica: 0, key: 0, arg: 1 },
      { kind: 'write', replica: 0, key: 0, arg: 1 },
      { kind: 'delete', replica: 1, key: 0 },
      { kind: 'deliver', replica: 1, pick: 0 },
      { kind: 'deliver', replica: 1, pick: 0 },
      { kind: 'delete', replica: 1, key: 0 },
      { kind: 'round' },
      { kind: 'write', replica: 2, key: 0, arg: 1 },
    ]);
    for (const n of again.nodes) expect(n.keys.get('c')?.impl.value(n.keys.get('c')!.state)).toBe(2);
  });

  /** Events by hand: an origin, its seq, its deps, ops; a delete when `del`. */
  const ev = (key: string, type: string, origin: string, seq: number, deps: VersionVector, ops: Json[], del = false): ReplicatedEvent => ({ v: EVENT_VERSION, origin, seq, time: seq * 1000 + origin.charCodeAt(1), deps, key, type: type as ReplicatedEvent['type'], options: null, ops, ...(del ? { delete: true as const } : {}) });
  /** A round's compaction on `keys`, and a replica restarted from the snapshot it wrote. */
  const compactAndReload = (keys: KeySpace): KeySpace => {
    const restarted = new KeySpace();
    for (const [k, enc] of keys.compactChanged()) if (enc !== null) expect(restarted.loadKey(k, enc)).toBe(true);
    return restarted;
  };

  it('key deletion - a write made after the delete by a replica that missed the round counts from the floor on the replicas that compacted it (simulator seeds 629, 1651, 3225)', () => {
    const e1 = ev('c', 'pn-counter', 'r1', 1, {}, [{ type: 'increment', replica: 'r1', total: 5 }]);
    const e2 = ev('c', 'pn-counter', 'r3', 1, { r1: 1 }, [{ type: 'increment', replica: 'r3', total: 6 }]);
    const d = ev('c', 'pn-counter', 'r2', 1, { r1: 1, r3: 1 }, [], true);
    const member = new KeySpace();
    const missed = new KeySpace();
    for (const e of [e1, e2, d]) {
      expect(member.apply(e)).toEqual({ ok: true });
      expect(missed.apply(e)).toEqual({ ok: true });
    }
    // The member compacts a round whose cut holds all three; r3 misses it and writes +2 to the deleted key.
    const restarted = compactAndReload(member);
    const p = missed.prepare('c', 'pn-counter', null, [{ type: 'increment', by: 2 }], { replica: 'r3', time: 9_000 });
    if (!p.ok) throw new Error(p.error.message);
    const w = ev('c', 'pn-counter', 'r3', 2, { r1: 1, r2: 1 }, p.value.ops);
    for (const keys of [member, restarted, missed]) {
      expect(keys.apply(w)).toEqual({ ok: true });
      expect(keys.get('c')!.impl.value(keys.get('c')!.state)).toBe(2);
    }
    expect(restarted.digestFromScratch()).toBe(member.digestFromScratch());
  });

  it('key deletion - an or-set add concurrent with the delete and outside the round\'s cut is applied after the compaction, not refused (simulator seed 3031)', () => {
    const a1 = ev('s', 'or-set', 'r3', 1, {}, [{ type: 'add', dot: { replica: 'r3', counter: 1 }, values: ['a'] }]);
    const a2 = ev('s', 'or-set', 'r3', 2, {}, [{ type: 'add', dot: { replica: 'r3', counter: 2 }, values: ['b'] }]);
    const d = ev('s', 'or-set', 'r1', 1, { r3: 1 }, [], true);
    const member = new KeySpace();
    for (const e of [a1, d]) expect(member.apply(e)).toEqual({ ok: true });
    const restarted = compactAndReload(member);
    // r3's second add was made before the delete reached it, and reaches the members only after their round.
    for (const keys of [member, restarted]) {
      expect(keys.apply(a2)).toEqual({ ok: true });
      expect(keys.get('s')!.impl.value(keys.get('s')!.state)).toEqual(['b']);
    }
  });

  it('key deletion - an or-map counter field written after the delete by a replica that missed the round counts from its floor, whether the map stays hidden or another field survives', () => {
    for (const survivor of [false, true]) {
      const member = new KeySpace();
      const missed = new KeySpace();
      const pe = member.prepare('m', 'or-map', null, [{ type: 'update', field: 'cnt', fieldType: 'pn-counter', op: { type: 'increment', by: 5 } }], { replica: 'r3', time: 1_000 });
      if (!pe.ok) throw new Error(pe.error.message);
      const events = [ev('m', 'or-map', 'r3', 1, {}, pe.value.ops)];
      if (survivor) {
        // An update of another field concurrent with the delete: the map stays visible.
        const ps = member.prepare('m', 'or-map', null, [{ type: 'update', field: 'doc', fieldType: 'g-counter', op: { type: 'increment', by: 1 } }], { replica: 'r2', time: 1_500 });
        if (!ps.ok) throw new Error(ps.error.message);
        events.push(ev('m', 'or-map', 'r2', 1, { r3: 1 }, ps.value.ops));
      }
      events.push(ev('m', 'or-map', 'r1', 1, { r3: 1 }, [], true));
      for (const e of events) {
        expect(member.apply(e)).toEqual({ ok: true });
        expect(missed.apply(e)).toEqual({ ok: true });
      }
      const restarted = compactAndReload(member);
      const p = missed.prepare('m', 'or-map', null, [{ type: 'update', field: 'cnt', fieldType: 'pn-counter', op: { type: 'increment', by: 2 } }], { replica: 'r3', time: 9_000 });
      if (!p.ok) throw new Error(p.error.message);
      const w = ev('m', 'or-map', 'r3', 2, { r1: 1, r2: survivor ? 1 : 0 }, p.value.ops);
      for (const keys of [member, restarted, missed]) {
        expect(keys.apply(w)).toEqual({ ok: true });
        expect(keys.get('m')!.impl.value(keys.get('m')!.state)).toEqual(survivor ? { cnt: 2, doc: 1 } : { cnt: 2 });
      }
    }
  });
});
