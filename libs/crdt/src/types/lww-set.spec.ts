import * as fc from 'fast-check';
import { assertConverges } from '../../testing/convergence-harness';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import type { Result } from '../result';
import { lwwSet, type LwwSetOp, type LwwSetState } from './lww-set';

const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
const exec = (s: LwwSetState, command: unknown, replica: string, time: number): LwwSetOp => {
  const op = must(lwwSet.prepare(s, command, { replica, time }));
  lwwSet.apply(s, op);
  return op;
};
const deliver = (s: LwwSetState, op: LwwSetOp): void => lwwSet.apply(s, must(lwwSet.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: LwwSetState) => canonicalJson(lwwSet.encode(s));
const elementArb = fc.constantFrom<Json>(1, 'a', 'b', null, { k: [1] });

/** Two replicas each run one command, then exchange ops; returns both values. */
function concurrently(first: [unknown, string, number], second: [unknown, string, number]): [Json[], Json[]] {
  const a = lwwSet.create(null);
  const b = lwwSet.create(null);
  const opA = exec(a, ...first);
  const opB = exec(b, ...second);
  deliver(a, opB);
  deliver(b, opA);
  expect(enc(a)).toBe(enc(b));
  return [lwwSet.value(a), lwwSet.value(b)];
}

describe('lww-set', () => {
  it('lww-set - equal timestamps: add wins, whichever replica removed', () => {
    expect(concurrently([{ type: 'add', value: 'x' }, 'a', 5], [{ type: 'remove', value: 'x' }, 'b', 5])).toEqual([['x'], ['x']]);
    expect(concurrently([{ type: 'add', value: 'x' }, 'z', 5], [{ type: 'remove', value: 'x' }, 'a', 5])).toEqual([['x'], ['x']]);
  });

  it('lww-set - the later of add and remove wins whatever the delivery order', () => {
    expect(concurrently([{ type: 'add', value: 'x' }, 'a', 5], [{ type: 'remove', value: 'x' }, 'b', 6])).toEqual([[], []]);
    expect(concurrently([{ type: 'add', value: 'x' }, 'a', 7], [{ type: 'remove', value: 'x' }, 'b', 6])).toEqual([['x'], ['x']]);
  });

  it('lww-set - a remove of an absent element beats an older add still in flight', () => {
    const a = lwwSet.create(null);
    const b = lwwSet.create(null);
    const add = exec(a, { type: 'add', value: 'late news' }, 'a', 3);
    exec(b, { type: 'remove', value: 'late news' }, 'b', 4);
    deliver(b, add);
    expect(lwwSet.value(b)).toEqual([]);
  });

  it('lww-set - a duplicate op changes nothing, even after later ops', () => {
    const s = lwwSet.create(null);
    const add = exec(s, { type: 'add', values: [1, 2] }, 'a', 1);
    exec(s, { type: 'remove', value: 1 }, 'a', 2);
    const before = enc(s);
    deliver(s, add);
    expect(enc(s)).toBe(before);
    expect(lwwSet.value(s)).toEqual([2]);
  });

  it('lww-set - compact drops removed elements and remove stamps, and keeps the value', () => {
    const s = lwwSet.create(null);
    exec(s, { type: 'add', values: ['gone', 'kept'] }, 'a', 1);
    exec(s, { type: 'remove', values: ['gone', 'kept', 'never'] }, 'a', 2);
    exec(s, { type: 'add', value: 'kept' }, 'a', 3);
    lwwSet.compact(s);
    expect(lwwSet.value(s)).toEqual(['kept']);
    expect(lwwSet.encode(s)).toEqual({ entries: [{ value: 'kept', add: { replica: 'a', time: 3 } }] });
    // An op made after the cut has a later time, so it still wins as before.
    exec(s, { type: 'remove', value: 'kept' }, 'b', 4);
    expect(lwwSet.value(s)).toEqual([]);
  });

  it('lww-set - bad commands and hostile ops are errors with codes and leave the state alone', () => {
    const s = lwwSet.create(null);
    exec(s, { type: 'add', value: 1 }, 'a', 1);
    const before = enc(s);
    expect(lwwSet.prepare(s, { type: 'toggle', value: 1 }, { replica: 'a', time: 2 })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(lwwSet.prepare(s, { type: 'add', values: [] }, { replica: 'a', time: 2 })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    const good = { type: 'add', time: 3, replica: 'a', values: [1] };
    for (const op of [
      { ...good, time: -1 },
      { ...good, time: 1.5 },
      { ...good, time: Number.MAX_SAFE_INTEGER + 2 },
      { ...good, time: '3' },
      { ...good, replica: '' },
      { ...good, replica: 7 },
      { ...good, values: [NaN] },
      { ...good, type: 'set' },
      { time: 3, replica: 'a', values: [1] },
    ]) {
      expect(lwwSet.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    }
    expect(enc(s)).toBe(before);
  });

  it('lww-set - encode and decode round trip; malformed encodings are BAD_ENCODING', () => {
    const s = lwwSet.create(null);
    exec(s, { type: 'add', values: [{ b: 1, a: 2 }, 'x'] }, 'a', 1);
    exec(s, { type: 'remove', values: ['x', 'y'] }, 'b', 2);
    const back = must(lwwSet.decode(JSON.parse(JSON.stringify(lwwSet.encode(s)))));
    expect(enc(back)).toBe(enc(s));
    expect(lwwSet.value(back)).toEqual([{ a: 2, b: 1 }]);
    for (const bad of [
      null,
      { entries: {} },
      { entries: [{ value: 1 }] },
      { entries: [{ value: 1, add: { time: -1, replica: 'a' } }] },
      { entries: [{ value: 1, add: { time: 1, replica: 'a' } }, { value: 1, add: { time: 2, replica: 'a' } }] },
    ]) {
      expect(lwwSet.decode(bad as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    }
  });

  it('lww-set - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      fc.record({ type: fc.constantFrom('add', 'remove'), value: elementArb }),
      fc.record({ type: fc.constantFrom('add', 'remove'), values: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }),
    );
    assertConverges(lwwSet, command, { numRuns: 150 });
  });
});
