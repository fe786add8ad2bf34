import * as fc from 'fast-check';
import { assertConverges } from '../../testing/convergence-harness';
import type { Json } from '../json';
import type { Result } from '../result';
import { canonicalJson } from '../encoding/canonical-json';
import { DOTS_MAX } from './dot-store';
import { ewFlag, type EwFlagOp, type EwFlagState } from './ew-flag';

const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
/** Runs a command at its origin: prepare, then apply there. */
const exec = (s: EwFlagState, command: unknown, replica: string): EwFlagOp => {
  const op = must(ewFlag.prepare(s, command, ctx(replica)));
  ewFlag.apply(s, op);
  return op;
};
/** Delivers an op to another replica as the wire would: JSON, then validation. */
const deliver = (s: EwFlagState, op: EwFlagOp): void => ewFlag.apply(s, must(ewFlag.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: EwFlagState) => canonicalJson(ewFlag.encode(s));

describe('ew-flag', () => {
  it('ew-flag - starts false, enable turns it on, disable turns it off', () => {
    const s = ewFlag.create(null);
    expect(ewFlag.value(s)).toBe(false);
    exec(s, { type: 'enable' }, 'a');
    expect(ewFlag.value(s)).toBe(true);
    exec(s, { type: 'disable' }, 'a');
    expect(ewFlag.value(s)).toBe(false);
    exec(s, { type: 'enable' }, 'b');
    expect(ewFlag.value(s)).toBe(true);
  });

  it('ew-flag - enable concurrent with disable gives true, in either delivery order', () => {
    const a = ewFlag.create(null);
    const b = ewFlag.create(null);
    deliver(b, exec(a, { type: 'enable' }, 'a'));
    const disable = exec(a, { type: 'disable' }, 'a');
    const enable = exec(b, { type: 'enable' }, 'b');
    expect([ewFlag.value(a), ewFlag.value(b)]).toEqual([false, true]);
    deliver(a, enable);
    deliver(b, disable);
    expect([ewFlag.value(a), ewFlag.value(b)]).toEqual([true, true]);
    expect(enc(a)).toBe(enc(b));
  });

  it('ew-flag - a disable that saw every concurrent enable turns the flag off', () => {
    const a = ewFlag.create(null);
    const b = ewFlag.create(null);
    const enableA = exec(a, { type: 'enable' }, 'a');
    const enableB = exec(b, { type: 'enable' }, 'b');
    deliver(b, enableA);
    deliver(a, enableB);
    const disable = exec(a, { type: 'disable' }, 'a');
    expect(disable).toEqual({ type: 'disable', observed: [{ replica: 'a', counter: 1 }, { replica: 'b', counter: 1 }] });
    deliver(b, disable);
    expect([ewFlag.value(a), ewFlag.value(b)]).toEqual([false, false]);
  });

  it('ew-flag - a duplicate op changes nothing, even an enable that was disabled since', () => {
    const s = ewFlag.create(null);
    const enable = exec(s, { type: 'enable' }, 'a');
    const before = enc(s);
    deliver(s, enable);
    expect(enc(s)).toBe(before);
    const disable = exec(s, { type: 'disable' }, 'b');
    deliver(s, enable);
    deliver(s, disable);
    expect(ewFlag.value(s)).toBe(false);
  });

  it('ew-flag - each enable gets the next dot of its replica on this key', () => {
    const s = ewFlag.create(null);
    expect(exec(s, { type: 'enable' }, 'a')).toEqual({ type: 'enable', dot: { replica: 'a', counter: 1 }, observed: [] });
    expect(exec(s, { type: 'enable' }, 'a')).toEqual({ type: 'enable', dot: { replica: 'a', counter: 2 }, observed: [{ replica: 'a', counter: 1 }] });
    expect(s.entries.size).toBe(1);
  });

  it('ew-flag - bad commands are errors with codes and leave the state alone', () => {
    const s = ewFlag.create(null);
    exec(s, { type: 'enable' }, 'a');
    const before = enc(s);
    expect(ewFlag.prepare(s, 'enable', ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(ewFlag.prepare(s, null, ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(ewFlag.prepare(s, [{ type: 'enable' }], ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(ewFlag.prepare(s, { type: 'toggle' }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(ewFlag.prepare(s, {}, ctx('a'))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(enc(s)).toBe(before);
    expect(ewFlag.value(s)).toBe(true);
  });

  it('ew-flag - hostile ops are INVALID_OP', () => {
    const s = ewFlag.create(null);
    const dot = { replica: 'a', counter: 1 };
    const bad: unknown[] = [
      null,
      'enable',
      [],
      {},
      { type: 'enable', observed: [] },
      { type: 'enable', dot, observed: null },
      { type: 'enable', dot: { replica: 'a', counter: 0 }, observed: [] },
      { type: 'enable', dot: { replica: 'a', counter: -1 }, observed: [] },
      { type: 'enable', dot: { replica: 'a', counter: 1.5 }, observed: [] },
      { type: 'enable', dot: { replica: 'a', counter: NaN }, observed: [] },
      { type: 'enable', dot: { replica: 'a', counter: 2 ** 53 }, observed: [] },
      { type: 'enable', dot: { replica: '', counter: 1 }, observed: [] },
      { type: 'enable', dot: { replica: 7, counter: 1 }, observed: [] },
      { type: 'enable', dot: [1, 'a'], observed: [] },
      { type: 'disable', observed: [null] },
      { type: 'disable', observed: { 0: dot, length: 1 } },
      { type: 'disable', observed: new Array(DOTS_MAX + 1).fill(dot) },
      JSON.parse('{"__proto__":{"type":"disable","observed":[]}}'),
      // Causal order broken: a dot that skips ahead, and a disable of a dot never applied.
      { type: 'enable', dot: { replica: 'a', counter: 2 }, observed: [] },
      { type: 'disable', observed: [dot] },
    ];
    for (const op of bad) expect(ewFlag.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(enc(s)).toBe(enc(ewFlag.create(null)));
  });

  it('ew-flag - validateOp returns a clean copy without extra fields', () => {
    const s = ewFlag.create(null);
    const op = must(ewFlag.validateOp({ type: 'enable', dot: { replica: 'a', counter: 1, x: 1 }, observed: [], extra: true }, s));
    expect(op).toEqual({ type: 'enable', dot: { replica: 'a', counter: 1 }, observed: [] });
  });

  it('ew-flag - encode is canonical and decode round-trips, a "__proto__" replica included', () => {
    const s = ewFlag.create(null);
    exec(s, { type: 'enable' }, 'b');
    exec(s, { type: 'enable' }, '__proto__');
    deliver(s, { type: 'enable', dot: { replica: 'a', counter: 1 }, observed: [] });
    expect(enc(s)).toBe('{"clock":{"__proto__":1,"a":1,"b":1},"entries":[{"counter":1,"replica":"__proto__"},{"counter":1,"replica":"a"}]}');
    const back = must(ewFlag.decode(JSON.parse(JSON.stringify(ewFlag.encode(s))) as Json));
    expect(enc(back)).toBe(enc(s));
    expect(ewFlag.value(back)).toBe(true);
    const copy = ewFlag.clone(s);
    exec(copy, { type: 'disable' }, 'a');
    expect(ewFlag.value(s)).toBe(true);
  });

  it('ew-flag - decode rejects malformed encodings', () => {
    const bad: Json[] = [
      null,
      [],
      { clock: {}, entries: {} },
      { clock: { a: -1 }, entries: [] },
      { clock: { a: 0 }, entries: [] },
      { clock: { '': 1 }, entries: [] },
      { clock: { a: 1 }, entries: [{ replica: 'a', counter: 2 }] },
      { clock: { a: 1 }, entries: [{ replica: 'a', counter: 1 }, { replica: 'a', counter: 1 }] },
    ];
    for (const e of bad) expect(ewFlag.decode(e)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
  });

  it('ew-flag - options must be absent', () => {
    expect(ewFlag.parseOptions(null)).toEqual({ ok: true, value: null });
    expect(ewFlag.parseOptions(undefined)).toEqual({ ok: true, value: null });
    expect(ewFlag.parseOptions({})).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('ew-flag - compact keeps the state', () => {
    const s = ewFlag.create(null);
    exec(s, { type: 'enable' }, 'a');
    const before = enc(s);
    ewFlag.compact(s);
    expect(enc(s)).toBe(before);
  });

  it('ew-flag - at one replica the value follows the last command', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('enable', 'disable'), { minLength: 1, maxLength: 20 }), (types) => {
        const s = ewFlag.create(null);
        for (const type of types) exec(s, { type }, 'a');
        expect(ewFlag.value(s)).toBe(types[types.length - 1] === 'enable');
        expect(s.entries.size).toBeLessThanOrEqual(1);
      }),
      { numRuns: 100 },
    );
  });

  it('ew-flag - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom({ type: 'enable' }, { type: 'disable' }) },
      { weight: 1, arbitrary: fc.constantFrom({ type: 'flip' }, 'enable') },
    );
    assertConverges(ewFlag, command, { numRuns: 150 });
    assertConverges(ewFlag, command, { replicas: 4, numRuns: 50 });
  });
});
