import * as fc from 'fast-check';
import { assertConverges, runSchedule, type Step } from '../../testing/convergence-harness';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import type { Result } from '../result';
import { twoPhaseSet, type TwoPhaseSetOp, type TwoPhaseSetState } from './two-phase-set';

const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
const exec = (s: TwoPhaseSetState, command: unknown, replica = 'a'): TwoPhaseSetOp => {
  const op = must(twoPhaseSet.prepare(s, command, ctx(replica)));
  twoPhaseSet.apply(s, op);
  return op;
};
const deliver = (s: TwoPhaseSetState, op: TwoPhaseSetOp): void => twoPhaseSet.apply(s, must(twoPhaseSet.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: TwoPhaseSetState) => canonicalJson(twoPhaseSet.encode(s));
const elementArb = fc.constantFrom<Json>(1, 2, 'a', null, [1], { x: 1, y: 2 }, { y: 2, x: 1 });

describe('2p-set', () => {
  it('2p-set - add then remove; the value is what was added and not removed', () => {
    const s = twoPhaseSet.create(null);
    exec(s, { type: 'add', values: [3, 1, 2] });
    exec(s, { type: 'remove', value: 2 });
    expect(twoPhaseSet.value(s)).toEqual([1, 3]);
  });

  it('2p-set - re-adding a removed element is INVALID_TRANSITION', () => {
    const s = twoPhaseSet.create(null);
    exec(s, { type: 'add', value: { id: 7 } });
    exec(s, { type: 'remove', value: { id: 7 } });
    const before = enc(s);
    expect(twoPhaseSet.prepare(s, { type: 'add', value: { id: 7 } }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
    expect(enc(s)).toBe(before);
  });

  it('2p-set - removing an element not in the set (never added or already removed) is INVALID_TRANSITION', () => {
    const s = twoPhaseSet.create(null);
    expect(twoPhaseSet.prepare(s, { type: 'remove', value: 'ghost' }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
    exec(s, { type: 'add', value: 'x' });
    exec(s, { type: 'remove', value: 'x' });
    expect(twoPhaseSet.prepare(s, { type: 'remove', value: 'x' }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
  });

  it('2p-set - a batch is all or nothing', () => {
    const s = twoPhaseSet.create(null);
    exec(s, { type: 'add', values: ['a', 'b'] });
    expect(twoPhaseSet.prepare(s, { type: 'remove', values: ['a', 'zzz'] }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
    expect(twoPhaseSet.value(s)).toEqual(['a', 'b']);
  });

  it('2p-set - an add concurrent with a remove loses: remove wins for ever', () => {
    const steps: Step[] = [
      { kind: 'command', replica: 0, command: { type: 'add', value: 'x' } },
      { kind: 'deliver', replica: 1, pick: 0 },
      { kind: 'command', replica: 0, command: { type: 'remove', value: 'x' } },
      { kind: 'command', replica: 1, command: { type: 'add', values: ['x', 'y'] } }, // 'x' already present at r1: not in the op
      { kind: 'command', replica: 2, command: { type: 'add', value: 'x' } }, // r2 has not seen x: a real concurrent add
    ];
    expect(runSchedule(twoPhaseSet, steps).values).toEqual([['y'], ['y'], ['y']]);
  });

  it('2p-set - a duplicate op changes nothing', () => {
    const s = twoPhaseSet.create(null);
    const add = exec(s, { type: 'add', value: 1 });
    const rm = exec(s, { type: 'remove', value: 1 });
    const before = enc(s);
    deliver(s, add);
    deliver(s, rm);
    expect(enc(s)).toBe(before);
    expect(twoPhaseSet.value(s)).toEqual([]);
  });

  it('2p-set - bad commands and hostile ops are errors with codes', () => {
    const s = twoPhaseSet.create(null);
    expect(twoPhaseSet.prepare(s, { type: 'clear' }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(twoPhaseSet.prepare(s, { type: 'add', value: NaN }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(twoPhaseSet.prepare(s, 7, ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    for (const op of [{ type: 'add', values: 1 }, { type: 'clear', values: [] }, { values: [1] }, [], { type: 'remove', values: [undefined] }]) {
      expect(twoPhaseSet.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    }
    expect(enc(s)).toBe(enc(twoPhaseSet.create(null)));
  });

  it('2p-set - encode and decode round trip; an element both added and removed is BAD_ENCODING', () => {
    const s = twoPhaseSet.create(null);
    exec(s, { type: 'add', values: ['a', { b: [1] }, 3] });
    exec(s, { type: 'remove', value: 3 });
    const back = must(twoPhaseSet.decode(JSON.parse(JSON.stringify(twoPhaseSet.encode(s)))));
    expect(enc(back)).toBe(enc(s));
    expect(twoPhaseSet.prepare(back, { type: 'add', value: 3 }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
    for (const bad of [null, { added: [] }, { added: [1], removed: [1] }, { added: [1, 1], removed: [] }]) {
      expect(twoPhaseSet.decode(bad as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    }
  });

  it('2p-set - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      fc.record({ type: fc.constantFrom('add', 'remove'), value: elementArb }),
      fc.record({ type: fc.constantFrom('add', 'remove'), values: fc.array(elementArb, { minLength: 1, maxLength: 3 }) }),
    );
    assertConverges(twoPhaseSet, command, { numRuns: 150 });
  });
});
