import { crdtType, TYPE_NAMES, type AnyCrdtType, type Json, type TypeName } from '../index';
import { canonicalJson } from '../encoding/canonical-json';

/**
 * `clear` (a key-level delete, docs/crdt-types.md "Deleting a key"): the cleared state
 * reads as a new key's, round-trips through its encoding, and ops made after it count from
 * it. Types without `clear` are cleared by `create`.
 */

const OPTIONS: Partial<Record<TypeName, Json>> = { lifecycle: { states: ['open', 'closed'] } };

function typeOf(name: TypeName): AnyCrdtType {
  const t = crdtType(name);
  if (!t.ok) throw new Error(name);
  return t.value;
}

/** Applies a command prepared at `replica` (prepare, then apply, as a replica does). */
function write(t: AnyCrdtType, state: unknown, command: Json, replica = 'r1', time = 1): void {
  const p = t.prepare(state, command, { replica, time });
  if (!p.ok) throw new Error(`${t.name}: ${p.error.message}`);
  t.apply(state, p.value);
}

const FIRST: Record<TypeName, Json> = {
  'ew-flag': { type: 'enable' },
  'dw-flag': { type: 'enable' },
  'g-counter': { type: 'increment', by: 4 },
  'pn-counter': { type: 'decrement', by: 4 },
  'lww-register': { type: 'set', value: 'a' },
  'mv-register': { type: 'set', value: 'a' },
  'g-set': { type: 'add', value: 'a' },
  '2p-set': { type: 'add', value: 'a' },
  'lww-set': { type: 'add', value: 'a' },
  'or-set': { type: 'add', value: 'a' },
  'or-map': { type: 'update', field: 'f', fieldType: 'text', op: { type: 'insert', index: 0, text: 'ab' } },
  text: { type: 'insert', index: 0, text: 'ab' },
  list: { type: 'insert', index: 0, value: 1 },
  lifecycle: { type: 'transition', to: 'closed' },
};

describe('clear', () => {
  it.each([...TYPE_NAMES])('clear - %s: a cleared state reads as a new key and round-trips through its encoding', (name) => {
    const t = typeOf(name);
    const options = OPTIONS[name] ?? null;
    const state = t.create(options);
    write(t, state, FIRST[name]);
    const cleared = t.clear ? t.clear(state) : t.create(options);
    expect(t.value(cleared)).toEqual(t.value(t.create(options)));
    // The original is untouched: clear returns a new state.
    expect(canonicalJson(t.value(state) as Json)).not.toBe(canonicalJson(t.value(cleared) as Json));
    const decoded = t.decode(t.encode(cleared));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(canonicalJson(t.encode(decoded.value))).toBe(canonicalJson(t.encode(cleared)));
  });

  it('clear - counters count from their floor: later ops (carrying totals) add only what they add', () => {
    const pn = typeOf('pn-counter');
    const s = pn.create(null);
    write(pn, s, { type: 'increment', by: 5 });
    write(pn, s, { type: 'decrement', by: 2 });
    const c = pn.clear!(s);
    write(pn, c, { type: 'increment', by: 7 });
    write(pn, c, { type: 'decrement', by: 1 }, 'r2');
    expect(pn.value(c)).toBe(6);
    expect(pn.encode(c)).toEqual({ floorN: { r1: 2 }, floorP: { r1: 5 }, n: { r1: 2, r2: 1 }, p: { r1: 12 } });
    expect(pn.decode({ floorP: { r1: 9 }, n: {}, p: { r1: 5 } }).ok).toBe(false);
    const g = typeOf('g-counter');
    const gs = g.create(null);
    write(g, gs, { type: 'increment', by: 3 });
    const gc = g.clear!(gs);
    write(g, gc, { type: 'increment', by: 2 });
    expect(g.value(gc)).toBe(2);
    expect(g.decode({ counts: { r1: 1 }, floor: { r1: 2 } }).ok).toBe(false);
  });

  it('clear - text keeps removed characters as tombstones, so an insert typed after them still finds its place', () => {
    const text = typeOf('text');
    const s = text.create(null);
    write(text, s, { type: 'insert', index: 0, text: 'ab' });
    // Made against the old state: "c" after "a".
    const op = text.prepare(s, { type: 'insert', index: 1, text: 'c' }, { replica: 'r2', time: 2 });
    if (!op.ok) throw new Error(op.error.message);
    const c = text.clear!(s);
    const v = text.validateOp(op.value, c);
    expect(v.ok).toBe(true);
    if (v.ok) text.apply(c, v.value);
    expect(text.value(c)).toBe('c');
  });
});
