import * as fc from 'fast-check';
import { assertConverges, runSchedule } from '../../testing/convergence-harness';
import type { Json } from '../json';
import type { Result } from '../result';
import { canonicalJson } from '../encoding/canonical-json';
import { lwwRegister, type LwwRegisterOp, type LwwRegisterState } from './lww-register';

const ctx = (replica: string, time: number) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
/** Runs a command at its origin: prepare, then apply there. */
const exec = (s: LwwRegisterState, command: unknown, replica: string, time: number): LwwRegisterOp => {
  const op = must(lwwRegister.prepare(s, command, ctx(replica, time)));
  lwwRegister.apply(s, op);
  return op;
};
/** Delivers an op to another replica as the wire would: JSON, then validation. */
const deliver = (s: LwwRegisterState, op: LwwRegisterOp): void =>
  lwwRegister.apply(s, must(lwwRegister.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: LwwRegisterState) => canonicalJson(lwwRegister.encode(s));

describe('lww-register', () => {
  it('lww-register - reads null until set, then the latest write', () => {
    const s = lwwRegister.create(null);
    expect(lwwRegister.value(s)).toBeNull();
    expect(exec(s, { type: 'set', value: { n: 1 } }, 'a', 10)).toEqual({ type: 'set', value: { n: 1 }, time: 10, replica: 'a' });
    expect(lwwRegister.value(s)).toEqual({ n: 1 });
    exec(s, { type: 'set', value: 'two' }, 'a', 11);
    expect(lwwRegister.value(s)).toBe('two');
  });

  it('lww-register - a later time wins whatever the delivery order', () => {
    const a = lwwRegister.create(null);
    const b = lwwRegister.create(null);
    const early = exec(a, { type: 'set', value: 'early' }, 'z', 5);
    const late = exec(b, { type: 'set', value: 'late' }, 'a', 6);
    deliver(a, late);
    deliver(b, early);
    expect([lwwRegister.value(a), lwwRegister.value(b)]).toEqual(['late', 'late']);
    expect(enc(a)).toBe(enc(b));
  });

  it('lww-register - a tie in time is broken by the greater replica id', () => {
    const a = lwwRegister.create(null);
    const b = lwwRegister.create(null);
    const fromA = exec(a, { type: 'set', value: 'from a' }, 'a', 7);
    const fromB = exec(b, { type: 'set', value: 'from b' }, 'b', 7);
    deliver(a, fromB);
    deliver(b, fromA);
    expect([lwwRegister.value(a), lwwRegister.value(b)]).toEqual(['from b', 'from b']);
    expect(enc(a)).toBe(enc(b));
  });

  it('lww-register - setting null is a write, distinct from never set', () => {
    const s = lwwRegister.create(null);
    exec(s, { type: 'set', value: null }, 'a', 1);
    expect(lwwRegister.value(s)).toBeNull();
    expect(enc(s)).not.toBe(enc(lwwRegister.create(null)));
  });

  it('lww-register - a duplicate op changes nothing', () => {
    const s = lwwRegister.create(null);
    const first = exec(s, { type: 'set', value: 1 }, 'a', 1);
    exec(s, { type: 'set', value: 2 }, 'a', 2);
    const before = enc(s);
    deliver(s, first);
    exec(s, { type: 'set', value: 2 }, 'a', 2);
    expect(enc(s)).toBe(before);
  });

  it('lww-register - two values claiming one (time, replica) resolve the same in either order', () => {
    const a = lwwRegister.create(null);
    const b = lwwRegister.create(null);
    const x: LwwRegisterOp = { type: 'set', value: 'x', time: 3, replica: 'r' };
    const y: LwwRegisterOp = { type: 'set', value: 'y', time: 3, replica: 'r' };
    deliver(a, x);
    deliver(a, y);
    deliver(b, y);
    deliver(b, x);
    expect(enc(a)).toBe(enc(b));
  });

  it('lww-register - the state shares no objects with the command', () => {
    const s = lwwRegister.create(null);
    const command = { type: 'set', value: { list: [1, 2] } };
    exec(s, command, 'a', 1);
    command.value.list.push(3);
    expect(lwwRegister.value(s)).toEqual({ list: [1, 2] });
  });

  it('lww-register - bad commands are errors with codes and leave the state alone', () => {
    const s = lwwRegister.create(null);
    exec(s, { type: 'set', value: 'kept' }, 'a', 1);
    const before = enc(s);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const bad: Array<[unknown, string]> = [
      ['set', 'BAD_COMMAND'],
      [null, 'BAD_COMMAND'],
      [{ type: 'set' }, 'BAD_COMMAND'],
      [{ type: 'set', value: undefined }, 'BAD_COMMAND'],
      [{ type: 'set', value: NaN }, 'BAD_COMMAND'],
      [{ type: 'set', value: Infinity }, 'BAD_COMMAND'],
      [{ type: 'set', value: new Date(0) }, 'BAD_COMMAND'],
      [{ type: 'set', value: () => 1 }, 'BAD_COMMAND'],
      [{ type: 'set', value: deep }, 'BAD_COMMAND'],
      [{ type: 'set', value: { a: 1n } }, 'BAD_COMMAND'],
      [Object.assign(Object.create({ value: 'inherited' }), { type: 'set' }), 'BAD_COMMAND'],
      [{ type: 'assign', value: 1 }, 'UNKNOWN_COMMAND'],
    ];
    for (const [command, code] of bad) expect(lwwRegister.prepare(s, command, ctx('a', 2))).toMatchObject({ ok: false, error: { code } });
    expect(enc(s)).toBe(before);
  });

  it('lww-register - hostile ops are INVALID_OP', () => {
    const s = lwwRegister.create(null);
    const good = { type: 'set', value: 1, time: 1, replica: 'a' };
    const bad: unknown[] = [
      null,
      [good],
      { ...good, type: 'assign' },
      { ...good, time: -1 },
      { ...good, time: 1.5 },
      { ...good, time: NaN },
      { ...good, time: 2 ** 53 },
      { ...good, time: '1' },
      { ...good, replica: '' },
      { ...good, replica: null },
      { ...good, value: undefined },
      { type: 'set', time: 1, replica: 'a' },
      { ...good, value: { x: Infinity } },
      JSON.parse('{"__proto__":{"type":"set","value":1,"time":1,"replica":"a"}}'),
    ];
    for (const op of bad) expect(lwwRegister.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(must(lwwRegister.validateOp({ ...good, extra: 1 }, s))).toEqual(good);
  });

  it('lww-register - encode is canonical and decode round-trips', () => {
    const s = lwwRegister.create(null);
    expect(enc(s)).toBe('{"current":null}');
    expect(must(lwwRegister.decode(lwwRegister.encode(s)))).toEqual({ current: null });
    exec(s, { type: 'set', value: { z: 1, a: [true, null] } }, 'r', 3);
    expect(enc(s)).toBe('{"current":{"replica":"r","time":3,"value":{"a":[true,null],"z":1}}}');
    const back = must(lwwRegister.decode(JSON.parse(JSON.stringify(lwwRegister.encode(s))) as Json));
    expect(enc(back)).toBe(enc(s));
    const copy = lwwRegister.clone(s);
    exec(copy, { type: 'set', value: 'other' }, 'r', 4);
    expect(lwwRegister.value(s)).toEqual({ z: 1, a: [true, null] });
  });

  it('lww-register - decode rejects malformed encodings', () => {
    const bad: Json[] = [null, {}, { current: 1 }, { current: { replica: 'a', time: -1, value: 1 } }, { current: { replica: '', time: 1, value: 1 } }, { current: { replica: 'a', time: 1 } }];
    for (const e of bad) expect(lwwRegister.decode(e)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
  });

  it('lww-register - options must be absent', () => {
    expect(lwwRegister.parseOptions(undefined)).toEqual({ ok: true, value: null });
    expect(lwwRegister.parseOptions('x')).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('lww-register - after full delivery the write with the greatest (time, replica) wins', () => {
    // The harness gives each command the replica's clock + 1, and clocks observe delivered
    // times, so equal times across replicas are common and exercise the tie-break.
    const steps = [
      { kind: 'command' as const, replica: 0, command: { type: 'set', value: 'r0' } },
      { kind: 'command' as const, replica: 1, command: { type: 'set', value: 'r1' } },
      { kind: 'command' as const, replica: 2, command: { type: 'set', value: 'r2' } },
      { kind: 'deliver' as const, replica: 0, pick: 0 },
    ];
    expect(runSchedule(lwwRegister, steps).values).toEqual(['r2', 'r2', 'r2']);
  });

  it('lww-register - converges under any causal delivery order with duplicates', () => {
    const command = fc.oneof(
      { weight: 9, arbitrary: fc.record({ type: fc.constant('set'), value: fc.jsonValue({ maxDepth: 2 }) }) },
      { weight: 1, arbitrary: fc.constantFrom({ type: 'set' }, { type: 'clear' }) },
    );
    assertConverges(lwwRegister, command, { numRuns: 150 });
    assertConverges(lwwRegister, command, { replicas: 4, numRuns: 50 });
  });
});
