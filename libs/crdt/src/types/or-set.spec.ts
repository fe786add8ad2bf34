import * as fc from 'fast-check';
import { assertConverges, runSchedule, type Step } from '../../testing/convergence-harness';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import type { Result } from '../result';
import { orSet, type OrSetOp, type OrSetState } from './or-set';

const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
const exec = (s: OrSetState, command: unknown, replica: string): OrSetOp => {
  const op = must(orSet.prepare(s, command, { replica, time: 1 }));
  orSet.apply(s, op);
  return op;
};
const deliver = (s: OrSetState, op: OrSetOp): void => orSet.apply(s, must(orSet.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: OrSetState) => canonicalJson(orSet.encode(s));
const elementArb = fc.constantFrom<Json>(1, 2, 'a', null, [1], { x: 1, y: 2 }, { y: 2, x: 1 });

describe('or-set', () => {
  it('or-set - add and remove; the value is sorted by canonical JSON', () => {
    const s = orSet.create(null);
    exec(s, { type: 'add', values: [{ id: 2 }, 'b', 'a'] }, 'r');
    exec(s, { type: 'remove', value: 'b' }, 'r');
    expect(orSet.value(s)).toEqual(['a', { id: 2 }]);
  });

  it('or-set - a concurrent add and remove keep the element (add wins), in either order', () => {
    const a = orSet.create(null);
    const b = orSet.create(null);
    deliver(b, exec(a, { type: 'add', value: 'x' }, 'a'));
    const rm = exec(a, { type: 'remove', value: 'x' }, 'a');
    const add = exec(b, { type: 'add', value: 'x' }, 'b');
    deliver(a, add);
    deliver(b, rm);
    expect([orSet.value(a), orSet.value(b)]).toEqual([['x'], ['x']]);
    expect(enc(a)).toBe(enc(b));
  });

  it('or-set - a remove removes only the adds it observed', () => {
    const steps: Step[] = [
      { kind: 'command', replica: 0, command: { type: 'add', value: 'x' } },
      { kind: 'command', replica: 1, command: { type: 'add', value: 'x' } },
      { kind: 'command', replica: 0, command: { type: 'remove', value: 'x' } }, // saw only r0's add
    ];
    expect(runSchedule(orSet, steps).values).toEqual([['x'], ['x'], ['x']]);
    const seenBoth: Step[] = [...steps.slice(0, 2), { kind: 'deliver', replica: 0, pick: 0 }, steps[2]];
    expect(runSchedule(orSet, seenBoth).values).toEqual([[], [], []]);
  });

  it('or-set - a re-add by the same replica is not removed by a remove that saw only the first add', () => {
    const a = orSet.create(null);
    const b = orSet.create(null);
    deliver(b, exec(a, { type: 'add', value: 'x' }, 'a'));
    const readd = exec(a, { type: 'add', value: 'x' }, 'a');
    const rm = exec(b, { type: 'remove', value: 'x' }, 'b');
    deliver(a, rm);
    deliver(b, readd);
    expect([orSet.value(a), orSet.value(b)]).toEqual([['x'], ['x']]);
    expect(a.entries.get('"x"')!.dots).toEqual([{ replica: 'a', counter: 2 }]);
  });

  it('or-set - a duplicate add after its remove does not bring the element back', () => {
    const s = orSet.create(null);
    const add = exec(s, { type: 'add', value: 'x' }, 'r');
    const rm = exec(s, { type: 'remove', value: 'x' }, 'r');
    deliver(s, add);
    deliver(s, rm);
    expect(orSet.value(s)).toEqual([]);
  });

  it('or-set - removing an absent element makes an op that removes nothing', () => {
    const s = orSet.create(null);
    exec(s, { type: 'add', value: 1 }, 'r');
    const op = exec(s, { type: 'remove', values: [1, 'absent'] }, 'r');
    expect(op).toEqual({ type: 'remove', removals: [{ value: 1, dots: [{ replica: 'r', counter: 1 }] }] });
    expect(orSet.value(s)).toEqual([]);
  });

  it('or-set - bad commands are errors with codes and leave the state alone', () => {
    const s = orSet.create(null);
    exec(s, { type: 'add', value: 1 }, 'r');
    const before = enc(s);
    const cases: Array<[unknown, string]> = [
      [[], 'BAD_COMMAND'],
      [{ type: 'pop' }, 'UNKNOWN_COMMAND'],
      [{ type: 'add' }, 'BAD_COMMAND'],
      [{ type: 'remove', values: [1, () => 1] }, 'BAD_COMMAND'],
      [{ type: 'add', value: { a: BigInt(1) } }, 'BAD_COMMAND'],
    ];
    for (const [command, code] of cases) expect(orSet.prepare(s, command, { replica: 'r', time: 1 })).toMatchObject({ ok: false, error: { code } });
    expect(enc(s)).toBe(before);
  });

  it('or-set - hostile or out-of-order ops are INVALID_OP', () => {
    const s = orSet.create(null);
    exec(s, { type: 'add', value: 1 }, 'r');
    const before = enc(s);
    for (const op of [
      { type: 'add', dot: { replica: 'r', counter: 3 }, values: [2] }, // skips 2@r
      { type: 'add', dot: { replica: 'r', counter: 0 }, values: [2] },
      { type: 'add', dot: { replica: '', counter: 2 }, values: [2] },
      { type: 'add', dot: { replica: 'r', counter: 2.5 }, values: [2] },
      { type: 'add', values: [2] },
      { type: 'remove', removals: [{ value: 1, dots: [{ replica: 'q', counter: 1 }] }] }, // an add not applied here
      { type: 'remove', removals: [{ value: 1, dots: [{ replica: 'r', counter: 1 }, { replica: 'r', counter: 1 }] }] },
      { type: 'remove', removals: [{ value: 1 }] },
      { type: 'remove', removals: 'all' },
      { type: 'remove', values: [1] },
      JSON.parse('{"type":"remove","removals":[{"value":1,"dots":[{"__proto__":{"replica":"r","counter":1}}]}]}'),
    ]) {
      expect(orSet.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    }
    expect(enc(s)).toBe(before);
  });

  it('or-set - encode and decode round trip; malformed encodings are BAD_ENCODING', () => {
    const s = orSet.create(null);
    exec(s, { type: 'add', values: [{ q: [1, 2], a: null }, 'x'] }, 'r1');
    exec(s, { type: 'add', value: 'x' }, 'r0');
    exec(s, { type: 'remove', value: { a: null, q: [1, 2] } }, 'r0');
    exec(s, { type: 'add', value: 'y' }, 'r0');
    const back = must(orSet.decode(JSON.parse(JSON.stringify(orSet.encode(s)))));
    expect(enc(back)).toBe(enc(s));
    expect(orSet.value(back)).toEqual(['x', 'y']);
    expect(orSet.encode(s)).toEqual({
      clock: { r0: 2, r1: 1 },
      entries: [
        { value: 'x', dots: [{ counter: 1, replica: 'r0' }, { counter: 1, replica: 'r1' }] },
        { value: 'y', dots: [{ counter: 2, replica: 'r0' }] },
      ],
    });
    for (const bad of [
      null,
      { clock: {}, entries: {} },
      { clock: { r: 0 }, entries: [] },
      { clock: { r: 1 }, entries: [{ value: 1, dots: [] }] },
      { clock: { r: 1 }, entries: [{ value: 1, dots: [{ replica: 'r', counter: 2 }] }] }, // beyond the clock
      { clock: { r: 1 }, entries: [{ value: 1, dots: [{ replica: 'r', counter: 1 }] }, { value: 1, dots: [{ replica: 'r', counter: 1 }] }] },
    ]) {
      expect(orSet.decode(bad as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    }
  });

  it('or-set - a clone is independent', () => {
    const s = orSet.create(null);
    exec(s, { type: 'add', value: 1 }, 'r');
    const c = orSet.clone(s);
    exec(c, { type: 'add', value: 1 }, 'r');
    exec(c, { type: 'remove', value: 1 }, 'r');
    expect(orSet.value(s)).toEqual([1]);
    expect(s.entries.get('1')!.dots).toEqual([{ replica: 'r', counter: 1 }]);
  });

  it('or-set - adds and removes on a 100k-element set take time independent of its size', () => {
    const s = orSet.create(null);
    for (let i = 0; i < 100; i++) exec(s, { type: 'add', values: Array.from({ length: 1_000 }, (_, k) => `e${i * 1_000 + k}`) }, 'bulk');
    expect(s.entries.size).toBe(100_000);
    const startMs = performance.now();
    for (let i = 0; i < 10_000; i++) {
      exec(s, { type: 'add', value: { n: i } }, 'r');
      exec(s, { type: 'remove', value: `e${i}` }, 'r');
    }
    // 20k ops; a scan over the elements per op would take minutes, not this budget.
    expect(performance.now() - startMs).toBeLessThan(3_000);
    expect(s.entries.size).toBe(100_000);
  });

  it('or-set - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      fc.record({ type: fc.constantFrom('add', 'remove'), value: elementArb }),
      fc.record({ type: fc.constantFrom('add', 'remove'), values: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }),
    );
    assertConverges(orSet, command, { numRuns: 200 });
  });
});
