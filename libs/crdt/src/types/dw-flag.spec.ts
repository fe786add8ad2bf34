import * as fc from 'fast-check';
import { assertConverges } from '../../testing/convergence-harness';
import type { Json } from '../json';
import type { Result } from '../result';
import { canonicalJson } from '../encoding/canonical-json';
import { dwFlag, type DwFlagOp, type DwFlagState } from './dw-flag';

const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
/** Runs a command at its origin: prepare, then apply there. */
const exec = (s: DwFlagState, command: unknown, replica: string): DwFlagOp => {
  const op = must(dwFlag.prepare(s, command, ctx(replica)));
  dwFlag.apply(s, op);
  return op;
};
/** Delivers an op to another replica as the wire would: JSON, then validation. */
const deliver = (s: DwFlagState, op: DwFlagOp): void => dwFlag.apply(s, must(dwFlag.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: DwFlagState) => canonicalJson(dwFlag.encode(s));

describe('dw-flag', () => {
  it('dw-flag - starts false, enable turns it on, disable turns it off', () => {
    const s = dwFlag.create(null);
    expect(dwFlag.value(s)).toBe(false);
    exec(s, { type: 'enable' }, 'a');
    expect(dwFlag.value(s)).toBe(true);
    exec(s, { type: 'disable' }, 'a');
    expect(dwFlag.value(s)).toBe(false);
    exec(s, { type: 'enable' }, 'b');
    expect(dwFlag.value(s)).toBe(true);
    expect(s.entries.size).toBe(1);
  });

  it('dw-flag - a disable alone keeps a never-enabled flag false', () => {
    const s = dwFlag.create(null);
    exec(s, { type: 'disable' }, 'a');
    expect(dwFlag.value(s)).toBe(false);
  });

  it('dw-flag - enable concurrent with disable gives false, in either delivery order', () => {
    const a = dwFlag.create(null);
    const b = dwFlag.create(null);
    deliver(b, exec(a, { type: 'enable' }, 'a'));
    const enable = exec(a, { type: 'enable' }, 'a');
    const disable = exec(b, { type: 'disable' }, 'b');
    expect([dwFlag.value(a), dwFlag.value(b)]).toEqual([true, false]);
    deliver(a, disable);
    deliver(b, enable);
    expect([dwFlag.value(a), dwFlag.value(b)]).toEqual([false, false]);
    expect(enc(a)).toBe(enc(b));
  });

  it('dw-flag - enable concurrent with disable from the initial state gives false', () => {
    const a = dwFlag.create(null);
    const b = dwFlag.create(null);
    const enable = exec(a, { type: 'enable' }, 'a');
    const disable = exec(b, { type: 'disable' }, 'b');
    deliver(a, disable);
    deliver(b, enable);
    expect([dwFlag.value(a), dwFlag.value(b)]).toEqual([false, false]);
  });

  it('dw-flag - an enable that saw the concurrent enable and disable turns the flag on', () => {
    const a = dwFlag.create(null);
    const b = dwFlag.create(null);
    const enable = exec(a, { type: 'enable' }, 'a');
    const disable = exec(b, { type: 'disable' }, 'b');
    deliver(a, disable);
    deliver(b, enable);
    const resolve = exec(a, { type: 'enable' }, 'a');
    expect(resolve.observed).toEqual([{ replica: 'a', counter: 1 }, { replica: 'b', counter: 1 }]);
    deliver(b, resolve);
    expect([dwFlag.value(a), dwFlag.value(b)]).toEqual([true, true]);
  });

  it('dw-flag - concurrent enables keep the flag on', () => {
    const a = dwFlag.create(null);
    const b = dwFlag.create(null);
    const ea = exec(a, { type: 'enable' }, 'a');
    const eb = exec(b, { type: 'enable' }, 'b');
    deliver(a, eb);
    deliver(b, ea);
    expect([dwFlag.value(a), dwFlag.value(b)]).toEqual([true, true]);
  });

  it('dw-flag - a duplicate op changes nothing, even a disable that was overridden since', () => {
    const s = dwFlag.create(null);
    const disable = exec(s, { type: 'disable' }, 'a');
    exec(s, { type: 'enable' }, 'b');
    const before = enc(s);
    deliver(s, disable);
    expect(enc(s)).toBe(before);
    expect(dwFlag.value(s)).toBe(true);
  });

  it('dw-flag - bad commands are errors with codes and leave the state alone', () => {
    const s = dwFlag.create(null);
    exec(s, { type: 'enable' }, 'a');
    const before = enc(s);
    expect(dwFlag.prepare(s, 'disable', ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(dwFlag.prepare(s, undefined, ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(dwFlag.prepare(s, { type: 'set', value: false }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(enc(s)).toBe(before);
    expect(dwFlag.value(s)).toBe(true);
  });

  it('dw-flag - hostile ops are INVALID_OP', () => {
    const s = dwFlag.create(null);
    const dot = { replica: 'a', counter: 1 };
    const bad: unknown[] = [
      null,
      42,
      { type: 'toggle', dot, observed: [] },
      // Unlike ew-flag, a dw-flag disable makes an event, so it needs a dot.
      { type: 'disable', observed: [] },
      { type: 'enable', dot, observed: 'none' },
      { type: 'enable', dot: { replica: 'a', counter: Infinity }, observed: [] },
      { type: 'enable', dot: { replica: 'a', counter: '1' }, observed: [] },
      { type: 'enable', dot, observed: [{ replica: 'a' }] },
      { type: 'enable', dot: { replica: 'a', counter: 5 }, observed: [] },
      { type: 'disable', dot, observed: [{ replica: 'b', counter: 1 }] },
    ];
    for (const op of bad) expect(dwFlag.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(enc(s)).toBe(enc(dwFlag.create(null)));
  });

  it('dw-flag - encode is canonical and decode round-trips', () => {
    const a = dwFlag.create(null);
    const b = dwFlag.create(null);
    const enable = exec(a, { type: 'enable' }, 'a');
    const disable = exec(b, { type: 'disable' }, 'b');
    deliver(a, disable);
    deliver(b, enable);
    expect(enc(a)).toBe(
      '{"clock":{"a":1,"b":1},"entries":[{"counter":1,"replica":"a","value":"enable"},{"counter":1,"replica":"b","value":"disable"}]}',
    );
    const back = must(dwFlag.decode(JSON.parse(JSON.stringify(dwFlag.encode(a))) as Json));
    expect(enc(back)).toBe(enc(a));
    expect(dwFlag.value(back)).toBe(false);
    const copy = dwFlag.clone(a);
    exec(copy, { type: 'enable' }, 'a');
    expect(dwFlag.value(a)).toBe(false);
  });

  it('dw-flag - decode rejects malformed encodings', () => {
    const bad: Json[] = [
      'x',
      { clock: { a: 1 } },
      { clock: { a: 1 }, entries: [{ replica: 'a', counter: 1 }] },
      { clock: { a: 1 }, entries: [{ replica: 'a', counter: 1, value: 'maybe' }] },
      { clock: { a: 1.5 }, entries: [] },
    ];
    for (const e of bad) expect(dwFlag.decode(e)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
  });

  it('dw-flag - options must be absent', () => {
    expect(dwFlag.parseOptions(null)).toEqual({ ok: true, value: null });
    expect(dwFlag.parseOptions({ initial: true })).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('dw-flag - at one replica the value follows the last command', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('enable', 'disable'), { minLength: 1, maxLength: 20 }), (types) => {
        const s = dwFlag.create(null);
        for (const type of types) exec(s, { type }, 'a');
        expect(dwFlag.value(s)).toBe(types[types.length - 1] === 'enable');
        expect(s.entries.size).toBe(1);
      }),
      { numRuns: 100 },
    );
  });

  it('dw-flag - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom({ type: 'enable' }, { type: 'disable' }) },
      { weight: 1, arbitrary: fc.constantFrom({ type: 'flip' }, null) },
    );
    assertConverges(dwFlag, command, { numRuns: 150 });
    assertConverges(dwFlag, command, { replicas: 4, numRuns: 50 });
  });
});
