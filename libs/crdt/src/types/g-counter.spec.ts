import * as fc from 'fast-check';
import { assertConverges, runSchedule } from '../../testing/convergence-harness';
import type { Json } from '../json';
import type { Result } from '../result';
import { canonicalJson } from '../encoding/canonical-json';
import { gCounter, type GCounterState } from './g-counter';

const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
const exec = (s: GCounterState, command: unknown, replica: string) => {
  const op = must(gCounter.prepare(s, command, ctx(replica)));
  gCounter.apply(s, op);
  return op;
};
const enc = (s: GCounterState) => canonicalJson(gCounter.encode(s));

describe('g-counter', () => {
  it('g-counter - increments from several replicas sum up, by 1 by default', () => {
    const s = gCounter.create(null);
    expect(gCounter.value(s)).toBe(0);
    expect(exec(s, { type: 'increment', by: 5 }, 'a')).toEqual({ type: 'increment', replica: 'a', total: 5 });
    expect(exec(s, { type: 'increment' }, 'a')).toEqual({ type: 'increment', replica: 'a', total: 6 });
    exec(s, { type: 'increment', by: 2 }, 'b');
    expect(gCounter.value(s)).toBe(8);
  });

  it('g-counter - ops carry totals, so a duplicate or a stale op changes nothing', () => {
    const s = gCounter.create(null);
    const first = exec(s, { type: 'increment', by: 3 }, 'a');
    exec(s, { type: 'increment', by: 4 }, 'a');
    const before = enc(s);
    gCounter.apply(s, first);
    expect(enc(s)).toBe(before);
    expect(gCounter.value(s)).toBe(7);
  });

  it('g-counter - bad commands are errors with codes and leave the state alone', () => {
    const s = gCounter.create(null);
    exec(s, { type: 'increment', by: 2 }, 'a');
    const before = enc(s);
    const bad: Array<[unknown, string]> = [
      ['increment', 'BAD_COMMAND'],
      [null, 'BAD_COMMAND'],
      [{ type: 'increment', by: 0 }, 'BAD_COMMAND'],
      [{ type: 'increment', by: -1 }, 'BAD_COMMAND'],
      [{ type: 'increment', by: 1.5 }, 'BAD_COMMAND'],
      [{ type: 'increment', by: '1' }, 'BAD_COMMAND'],
      [{ type: 'increment', by: NaN }, 'BAD_COMMAND'],
      [{ type: 'increment', by: 2 ** 53 }, 'BAD_COMMAND'],
      [{ type: 'decrement' }, 'UNKNOWN_COMMAND'],
      [{ type: 'increment', by: Number.MAX_SAFE_INTEGER }, 'OUT_OF_RANGE'],
    ];
    for (const [command, code] of bad) expect(gCounter.prepare(s, command, ctx('a'))).toMatchObject({ ok: false, error: { code } });
    expect(enc(s)).toBe(before);
  });

  it('g-counter - hostile ops are INVALID_OP', () => {
    const s = gCounter.create(null);
    const bad: unknown[] = [
      null,
      [],
      { type: 'decrement', replica: 'a', total: 1 },
      { type: 'increment', replica: '', total: 1 },
      { type: 'increment', replica: 'a', total: -1 },
      { type: 'increment', replica: 'a', total: 1.5 },
      { type: 'increment', replica: 'a', total: Infinity },
      { type: 'increment', replica: 'a', total: 2 ** 53 },
      { type: 'increment', replica: 'a' },
      JSON.parse('{"__proto__":{"type":"increment","replica":"a","total":1}}'),
    ];
    for (const op of bad) expect(gCounter.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(must(gCounter.validateOp({ type: 'increment', replica: 'a', total: 3, extra: 1 }, s))).toEqual({ type: 'increment', replica: 'a', total: 3 });
  });

  it('g-counter - encode is canonical and decode round-trips', () => {
    const s = gCounter.create(null);
    exec(s, { type: 'increment', by: 2 }, 'b');
    exec(s, { type: 'increment', by: 1 }, 'a');
    expect(enc(s)).toBe('{"counts":{"a":1,"b":2}}');
    const back = must(gCounter.decode(JSON.parse(JSON.stringify(gCounter.encode(s))) as Json));
    expect(enc(back)).toBe(enc(s));
    const copy = gCounter.clone(s);
    exec(copy, { type: 'increment' }, 'a');
    expect(gCounter.value(s)).toBe(3);
  });

  it('g-counter - decode rejects malformed encodings', () => {
    const bad: Json[] = [null, {}, { counts: [] }, { counts: { a: -1 } }, { counts: { a: 1.5 } }, { counts: { '': 1 } }];
    for (const e of bad) expect(gCounter.decode(e)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
  });

  it('g-counter - options must be absent', () => {
    expect(gCounter.parseOptions(null)).toEqual({ ok: true, value: null });
    expect(gCounter.parseOptions({ start: 1 })).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('g-counter - every increment counts exactly once after full delivery', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ replica: fc.nat({ max: 2 }), by: fc.integer({ min: 1, max: 9 }) }), { maxLength: 20 }), (incs) => {
        const steps = incs.map(({ replica, by }) => ({ kind: 'command' as const, replica, command: { type: 'increment', by } }));
        const expected = incs.reduce((a, i) => a + i.by, 0);
        expect(runSchedule(gCounter, steps).values).toEqual([expected, expected, expected]);
      }),
      { numRuns: 100 },
    );
  });

  it('g-counter - converges under any causal delivery order with duplicates', () => {
    const command = fc.record({ type: fc.constantFrom('increment', 'increment', 'decrement'), by: fc.integer({ min: -1, max: 5 }) });
    assertConverges(gCounter, command, { numRuns: 150 });
  });
});
