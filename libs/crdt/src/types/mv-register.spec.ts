import * as fc from 'fast-check';
import { assertConverges, runSchedule } from '../../testing/convergence-harness';
import type { Json } from '../json';
import type { Result } from '../result';
import { canonicalJson } from '../encoding/canonical-json';
import { mvRegister, type MvRegisterOp, type MvRegisterState } from './mv-register';

const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
/** Runs a command at its origin: prepare, then apply there. */
const exec = (s: MvRegisterState, command: unknown, replica: string): MvRegisterOp => {
  const op = must(mvRegister.prepare(s, command, ctx(replica)));
  mvRegister.apply(s, op);
  return op;
};
/** Delivers an op to another replica as the wire would: JSON, then validation. */
const deliver = (s: MvRegisterState, op: MvRegisterOp): void =>
  mvRegister.apply(s, must(mvRegister.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: MvRegisterState) => canonicalJson(mvRegister.encode(s));
const set = (value: unknown) => ({ type: 'set', value });

describe('mv-register', () => {
  it('mv-register - reads [] until set, and a set replaces what its origin saw', () => {
    const s = mvRegister.create(null);
    expect(mvRegister.value(s)).toEqual([]);
    exec(s, set('one'), 'a');
    expect(mvRegister.value(s)).toEqual(['one']);
    expect(exec(s, set('two'), 'b')).toEqual({ type: 'set', value: 'two', dot: { replica: 'b', counter: 1 }, observed: [{ replica: 'a', counter: 1 }] });
    expect(mvRegister.value(s)).toEqual(['two']);
  });

  it('mv-register - concurrent sets both show, sorted by canonical JSON, until a set that saw them', () => {
    const a = mvRegister.create(null);
    const b = mvRegister.create(null);
    const c = mvRegister.create(null);
    const fromA = exec(a, set({ b: 1 }), 'a');
    const fromB = exec(b, set('x'), 'b');
    const fromC = exec(c, set(2), 'c');
    for (const [s, ops] of [[a, [fromB, fromC]], [b, [fromC, fromA]], [c, [fromA, fromB]]] as const) for (const op of ops) deliver(s, op);
    for (const s of [a, b, c]) expect(mvRegister.value(s)).toEqual(['x', 2, { b: 1 }]);
    expect(enc(a)).toBe(enc(b));
    const resolve = exec(b, set('resolved'), 'b');
    expect(resolve.observed).toHaveLength(3);
    deliver(a, resolve);
    expect(mvRegister.value(a)).toEqual(['resolved']);
  });

  it('mv-register - a set concurrent with another keeps the one it did not see', () => {
    const a = mvRegister.create(null);
    const b = mvRegister.create(null);
    deliver(b, exec(a, set('base'), 'a'));
    const overA = exec(a, set('from a'), 'a');
    const overB = exec(b, set('from b'), 'b');
    deliver(a, overB);
    deliver(b, overA);
    expect(mvRegister.value(a)).toEqual(['from a', 'from b']);
    expect(enc(a)).toBe(enc(b));
  });

  it('mv-register - equal concurrent values read as one but stay two dots', () => {
    const a = mvRegister.create(null);
    const b = mvRegister.create(null);
    const x = exec(a, set({ same: true }), 'a');
    const y = exec(b, set({ same: true }), 'b');
    deliver(a, y);
    deliver(b, x);
    expect(mvRegister.value(a)).toEqual([{ same: true }]);
    expect(a.entries.size).toBe(2);
  });

  it('mv-register - a duplicate op changes nothing, even one overwritten since', () => {
    const s = mvRegister.create(null);
    const old = exec(s, set('old'), 'a');
    exec(s, set('new'), 'b');
    const before = enc(s);
    deliver(s, old);
    expect(enc(s)).toBe(before);
    expect(mvRegister.value(s)).toEqual(['new']);
  });

  it('mv-register - the state shares no objects with the command', () => {
    const s = mvRegister.create(null);
    const command = { type: 'set', value: { list: [1] } };
    exec(s, command, 'a');
    command.value.list.push(2);
    expect(mvRegister.value(s)).toEqual([{ list: [1] }]);
  });

  it('mv-register - bad commands are errors with codes and leave the state alone', () => {
    const s = mvRegister.create(null);
    exec(s, set('kept'), 'a');
    const before = enc(s);
    const bad: Array<[unknown, string]> = [
      [7, 'BAD_COMMAND'],
      [{ type: 'set' }, 'BAD_COMMAND'],
      [set(NaN), 'BAD_COMMAND'],
      [set(new Map()), 'BAD_COMMAND'],
      [set([1, undefined]), 'BAD_COMMAND'],
      [{ type: 'put', value: 1 }, 'UNKNOWN_COMMAND'],
    ];
    for (const [command, code] of bad) expect(mvRegister.prepare(s, command, ctx('a'))).toMatchObject({ ok: false, error: { code } });
    expect(enc(s)).toBe(before);
  });

  it('mv-register - hostile ops are INVALID_OP', () => {
    const s = mvRegister.create(null);
    const good = { type: 'set', value: 1, dot: { replica: 'a', counter: 1 }, observed: [] };
    const bad: unknown[] = [
      null,
      { ...good, type: 'put' },
      { ...good, value: undefined },
      { ...good, value: -Infinity },
      { ...good, dot: undefined },
      { ...good, dot: { replica: 'a', counter: 0 } },
      { ...good, observed: undefined },
      { ...good, observed: [{ replica: 'a', counter: 1.5 }] },
      { ...good, dot: { replica: 'a', counter: 2 } },
      { ...good, observed: [{ replica: 'b', counter: 1 }] },
    ];
    for (const op of bad) expect(mvRegister.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(must(mvRegister.validateOp({ ...good, x: 1 }, s))).toEqual(good);
  });

  it('mv-register - encode is canonical and decode round-trips', () => {
    const a = mvRegister.create(null);
    const b = mvRegister.create(null);
    const x = exec(a, set({ z: 0, a: 1 }), 'a');
    const y = exec(b, set(null), 'b');
    deliver(a, y);
    deliver(b, x);
    expect(enc(a)).toBe('{"clock":{"a":1,"b":1},"entries":[{"counter":1,"replica":"a","value":{"a":1,"z":0}},{"counter":1,"replica":"b","value":null}]}');
    const back = must(mvRegister.decode(JSON.parse(JSON.stringify(mvRegister.encode(a))) as Json));
    expect(enc(back)).toBe(enc(a));
    expect(mvRegister.value(back)).toEqual([null, { a: 1, z: 0 }]);
    const copy = mvRegister.clone(a);
    exec(copy, set('one'), 'a');
    expect(mvRegister.value(a)).toHaveLength(2);
  });

  it('mv-register - decode rejects malformed encodings', () => {
    const bad: Json[] = [
      [],
      { clock: { a: 1 }, entries: [{ replica: 'a', counter: 1 }] },
      { clock: { a: 1 }, entries: [{ replica: 'a', counter: 2, value: 1 }] },
      { clock: [], entries: [] },
    ];
    for (const e of bad) expect(mvRegister.decode(e)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
  });

  it('mv-register - options must be absent', () => {
    expect(mvRegister.parseOptions(null)).toEqual({ ok: true, value: null });
    expect(mvRegister.parseOptions([])).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('mv-register - at one replica the value is the last set', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1, maxLength: 10 }), (values) => {
        const s = mvRegister.create(null);
        for (const v of values) exec(s, set(v), 'a');
        expect(mvRegister.value(s).map((v) => canonicalJson(v))).toEqual([canonicalJson(values[values.length - 1] as Json)]);
      }),
      { numRuns: 100 },
    );
  });

  it('mv-register - three concurrent sets all survive full delivery', () => {
    const steps = [0, 1, 2].map((replica) => ({ kind: 'command' as const, replica, command: set(`v${replica}`) }));
    expect(runSchedule(mvRegister, steps).values).toEqual([['v0', 'v1', 'v2'], ['v0', 'v1', 'v2'], ['v0', 'v1', 'v2']]);
  });

  it('mv-register - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      { weight: 9, arbitrary: fc.record({ type: fc.constant('set'), value: fc.jsonValue({ maxDepth: 2 }) }) },
      { weight: 1, arbitrary: fc.constantFrom({ type: 'set' }, { type: 'get' }) },
    );
    assertConverges(mvRegister, command, { numRuns: 150 });
    assertConverges(mvRegister, command, { replicas: 4, numRuns: 50 });
  });
});
