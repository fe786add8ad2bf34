import * as fc from 'fast-check';
import { assertConverges } from '../../testing/convergence-harness';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import type { Result } from '../result';
import { gSet, SET_BATCH_MAX, SET_ELEMENT_CHARS_MAX, type GSetOp, type GSetState } from './g-set';

const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
const exec = (s: GSetState, command: unknown, replica = 'a'): GSetOp => {
  const op = must(gSet.prepare(s, command, ctx(replica)));
  gSet.apply(s, op);
  return op;
};
const deliver = (s: GSetState, op: GSetOp): void => gSet.apply(s, must(gSet.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: GSetState) => canonicalJson(gSet.encode(s));

/** A small pool of elements, with two spellings of one object, so replicas collide often. */
const elementArb = fc.constantFrom<Json>(1, 2, 'a', 'b', null, true, [1, 2], { x: 1, y: [2] }, { y: [2], x: 1 }, { nested: { deep: ['z'] } });

describe('g-set', () => {
  it('g-set - adds from several replicas make the union, sorted by canonical JSON', () => {
    const a = gSet.create(null);
    const b = gSet.create(null);
    const fromA = exec(a, { type: 'add', values: ['b', 1, { k: 1 }] }, 'a');
    const fromB = exec(b, { type: 'add', value: 'a' }, 'b');
    deliver(a, fromB);
    deliver(b, fromA);
    expect(gSet.value(a)).toEqual(['a', 'b', 1, { k: 1 }]); // '"' sorts before digits
    expect(enc(a)).toBe(enc(b));
  });

  it('g-set - elements are identified by canonical JSON, so key order does not matter', () => {
    const s = gSet.create(null);
    exec(s, { type: 'add', value: { a: 1, b: 2 } });
    const again = exec(s, { type: 'add', value: { b: 2, a: 1 } });
    expect(again.values).toEqual([]);
    expect(gSet.value(s)).toEqual([{ a: 1, b: 2 }]);
  });

  it('g-set - a duplicate op changes nothing', () => {
    const s = gSet.create(null);
    const op = exec(s, { type: 'add', values: [1, 2] });
    const before = enc(s);
    deliver(s, op);
    expect(enc(s)).toBe(before);
  });

  it('g-set - the state keeps its own copy of an element', () => {
    const s = gSet.create(null);
    const value = { list: [1] };
    exec(s, { type: 'add', value });
    value.list.push(2);
    expect(gSet.value(s)).toEqual([{ list: [1] }]);
  });

  it('g-set - remove is UNKNOWN_COMMAND and points at the set types that shrink', () => {
    const s = gSet.create(null);
    exec(s, { type: 'add', value: 1 });
    const r = gSet.prepare(s, { type: 'remove', value: 1 }, ctx('a'));
    expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(!r.ok && r.error.message).toMatch(/or-set/);
    expect(gSet.value(s)).toEqual([1]);
  });

  it('g-set - bad commands are errors with codes and leave the state alone', () => {
    const s = gSet.create(null);
    exec(s, { type: 'add', value: 'kept' });
    const before = enc(s);
    const cases: Array<[unknown, string]> = [
      ['add', 'BAD_COMMAND'],
      [null, 'BAD_COMMAND'],
      [{ type: 'explode', value: 1 }, 'UNKNOWN_COMMAND'],
      [{ value: 1 }, 'UNKNOWN_COMMAND'],
      [{ type: 'add' }, 'BAD_COMMAND'],
      [{ type: 'add', value: 1, values: [2] }, 'BAD_COMMAND'],
      [{ type: 'add', values: [] }, 'BAD_COMMAND'],
      [{ type: 'add', values: 'abc' }, 'BAD_COMMAND'],
      [{ type: 'add', values: new Array(SET_BATCH_MAX + 1).fill(1) }, 'BAD_COMMAND'],
      [{ type: 'add', value: NaN }, 'BAD_COMMAND'],
      [{ type: 'add', value: undefined }, 'BAD_COMMAND'],
      [{ type: 'add', value: new Date(0) }, 'BAD_COMMAND'],
      [{ type: 'add', value: 'x'.repeat(SET_ELEMENT_CHARS_MAX) }, 'BAD_COMMAND'],
      [{ type: 'add', values: [1, { bad: Infinity }] }, 'BAD_COMMAND'],
    ];
    for (const [command, code] of cases) {
      expect(gSet.prepare(s, command, ctx('a'))).toMatchObject({ ok: false, error: { code } });
    }
    expect(enc(s)).toBe(before);
  });

  it('g-set - hostile ops are INVALID_OP', () => {
    const s = gSet.create(null);
    const deep: Json = JSON.parse('['.repeat(40) + ']'.repeat(40));
    for (const op of [null, 'add', { type: 'remove', values: [1] }, { type: 'add' }, { type: 'add', values: { 0: 1 } }, { type: 'add', values: [deep] }, { type: 'add', values: new Array(SET_BATCH_MAX + 1).fill(0) }]) {
      expect(gSet.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    }
    const proto = JSON.parse('{"type":"add","values":[{"__proto__":{"polluted":true}}]}');
    gSet.apply(s, must(gSet.validateOp(proto, s)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(enc(s)).toBe('{"elements":[{"__proto__":{"polluted":true}}]}');
  });

  it('g-set - encode and decode round trip; malformed encodings are BAD_ENCODING', () => {
    const s = gSet.create(null);
    exec(s, { type: 'add', values: [{ z: 1, a: [true, null] }, 'x', -3.5] });
    const back = must(gSet.decode(JSON.parse(JSON.stringify(gSet.encode(s)))));
    expect(enc(back)).toBe(enc(s));
    expect(gSet.value(back)).toEqual(gSet.value(s));
    for (const bad of [null, {}, { elements: 'x' }, { elements: [1, 1] }, { elements: [{ a: 1, b: 2 }, { b: 2, a: 1 }] }]) {
      expect(gSet.decode(bad as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    }
  });

  it('g-set - options are rejected', () => {
    expect(gSet.parseOptions(null)).toEqual({ ok: true, value: null });
    expect(gSet.parseOptions({ max: 3 })).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('g-set - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      fc.record({ type: fc.constant('add'), value: elementArb }),
      fc.record({ type: fc.constant('add'), values: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }),
    );
    assertConverges(gSet, command, { numRuns: 100 });
  });
});
