import * as fc from 'fast-check';
import { assertConverges, runSchedule } from '../../testing/convergence-harness';
import type { Json } from '../json';
import type { Result } from '../result';
import { canonicalJson } from '../encoding/canonical-json';
import { lifecycle, type LifecycleOp, type LifecycleState } from './lifecycle';

const OPTIONS = { states: ['open', 'modified', 'closed'] };
const ctx = (replica: string, time = 1) => ({ replica, time });
const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
const fresh = (): LifecycleState => lifecycle.create(must(lifecycle.parseOptions(OPTIONS)));
/** Runs a command at its origin: prepare, then apply there. */
const exec = (s: LifecycleState, command: unknown, replica = 'a'): LifecycleOp => {
  const op = must(lifecycle.prepare(s, command, ctx(replica)));
  lifecycle.apply(s, op);
  return op;
};
/** Delivers an op to another replica as the wire would: JSON, then validation. */
const deliver = (s: LifecycleState, op: LifecycleOp): void => lifecycle.apply(s, must(lifecycle.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: LifecycleState) => canonicalJson(lifecycle.encode(s));
const to = (name: string) => ({ type: 'transition', to: name });

describe('lifecycle', () => {
  it('lifecycle - parseOptions normalises valid states and rejects the rest with INVALID_OPTIONS', () => {
    expect(lifecycle.parseOptions({ states: ['a', 'b'] })).toEqual({ ok: true, value: { states: ['a', 'b'] } });
    const sixtyFour = Array.from({ length: 64 }, (_, i) => `s${i}`);
    expect(lifecycle.parseOptions({ states: sixtyFour }).ok).toBe(true);
    const bad: unknown[] = [
      undefined,
      null,
      {},
      ['open', 'closed'],
      { states: 'open,closed' },
      { states: ['open'] },
      { states: [...sixtyFour, 's64'] },
      { states: ['open', 'open'] },
      { states: ['open', ''] },
      { states: ['open', 2] },
      { states: ['open', 'x'.repeat(257)] },
      { states: ['open', 'closed'], initial: 'open' },
    ];
    for (const o of bad) expect(lifecycle.parseOptions(o)).toMatchObject({ ok: false, error: { code: 'INVALID_OPTIONS' } });
  });

  it('lifecycle - create refuses options that were not normalised', () => {
    expect(() => lifecycle.create(null)).toThrow(/not normalised/);
  });

  it('lifecycle - starts in the first state and moves forward, skipping states if asked', () => {
    const s = fresh();
    expect(lifecycle.value(s)).toBe('open');
    expect(exec(s, to('modified'))).toEqual({ type: 'transition', index: 1, to: 'modified' });
    expect(lifecycle.value(s)).toBe('modified');
    exec(s, { type: 'set', value: 'closed' });
    expect(lifecycle.value(s)).toBe('closed');
    const t = fresh();
    exec(t, to('closed'));
    expect(lifecycle.value(t)).toBe('closed');
  });

  it('lifecycle - moving to the current state is an op that changes nothing', () => {
    const s = fresh();
    exec(s, to('modified'));
    const before = enc(s);
    expect(exec(s, to('modified'))).toEqual({ type: 'transition', index: 1, to: 'modified' });
    expect(enc(s)).toBe(before);
  });

  it('lifecycle - moving back is INVALID_TRANSITION and leaves the state alone', () => {
    const s = fresh();
    exec(s, to('closed'));
    const before = enc(s);
    expect(lifecycle.prepare(s, to('open'), ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
    expect(lifecycle.prepare(s, { type: 'set', value: 'modified' }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'INVALID_TRANSITION' } });
    expect(enc(s)).toBe(before);
  });

  it('lifecycle - concurrent modified and closed resolve to closed, in either delivery order', () => {
    const a = fresh();
    const b = fresh();
    const modified = exec(a, to('modified'), 'a');
    const closed = exec(b, to('closed'), 'b');
    deliver(a, closed);
    deliver(b, modified);
    expect([lifecycle.value(a), lifecycle.value(b)]).toEqual(['closed', 'closed']);
    expect(enc(a)).toBe(enc(b));
  });

  it('lifecycle - a duplicate op changes nothing', () => {
    const s = fresh();
    const modified = exec(s, to('modified'));
    exec(s, to('closed'));
    deliver(s, modified);
    expect(lifecycle.value(s)).toBe('closed');
  });

  it('lifecycle - bad commands are errors with codes and leave the state alone', () => {
    const s = fresh();
    exec(s, to('modified'));
    const before = enc(s);
    const bad: Array<[unknown, string]> = [
      ['closed', 'BAD_COMMAND'],
      [null, 'BAD_COMMAND'],
      [{ type: 'transition' }, 'BAD_COMMAND'],
      [to('archived'), 'BAD_COMMAND'],
      [{ type: 'transition', to: 2 }, 'BAD_COMMAND'],
      [{ type: 'transition', to: 'toString' }, 'BAD_COMMAND'],
      [{ type: 'set', to: 'closed' }, 'BAD_COMMAND'],
      [{ type: 'close' }, 'UNKNOWN_COMMAND'],
    ];
    for (const [command, code] of bad) expect(lifecycle.prepare(s, command, ctx('a'))).toMatchObject({ ok: false, error: { code } });
    expect(enc(s)).toBe(before);
  });

  it('lifecycle - hostile ops are INVALID_OP', () => {
    const s = fresh();
    const bad: unknown[] = [
      null,
      { type: 'set', index: 1, to: 'modified' },
      { type: 'transition', index: 3, to: 'closed' },
      { type: 'transition', index: 2, to: 'modified' },
      { type: 'transition', index: -1, to: 'closed' },
      { type: 'transition', index: 1.5, to: 'closed' },
      { type: 'transition', index: NaN, to: 'closed' },
      { type: 'transition', index: '2', to: 'closed' },
      { type: 'transition', index: 2 },
      { type: 'transition', index: 2 ** 60, to: 'closed' },
      JSON.parse('{"__proto__":{"type":"transition","index":2,"to":"closed"}}'),
    ];
    for (const op of bad) expect(lifecycle.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(lifecycle.value(s)).toBe('open');
    expect(must(lifecycle.validateOp({ type: 'transition', index: 2, to: 'closed', x: 1 }, s))).toEqual({ type: 'transition', index: 2, to: 'closed' });
  });

  it('lifecycle - the encoding carries the states, so decode needs nothing else', () => {
    const s = fresh();
    exec(s, to('modified'));
    expect(enc(s)).toBe('{"index":1,"states":["open","modified","closed"]}');
    const back = must(lifecycle.decode(JSON.parse(JSON.stringify(lifecycle.encode(s))) as Json));
    expect(lifecycle.value(back)).toBe('modified');
    expect(enc(back)).toBe(enc(s));
    const copy = lifecycle.clone(s);
    exec(copy, to('closed'));
    expect(lifecycle.value(s)).toBe('modified');
  });

  it('lifecycle - decode rejects malformed encodings', () => {
    const bad: Json[] = [
      null,
      { index: 0 },
      { index: 3, states: ['open', 'modified', 'closed'] },
      { index: -1, states: ['open', 'closed'] },
      { index: 0, states: ['open'] },
      { index: 0, states: ['open', 'open'] },
    ];
    for (const e of bad) expect(lifecycle.decode(e)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
  });

  it('lifecycle - after full delivery the state is the furthest transition made', () => {
    const steps = [
      { kind: 'command' as const, replica: 0, command: to('modified') },
      { kind: 'command' as const, replica: 1, command: to('closed') },
      { kind: 'command' as const, replica: 2, command: to('modified') },
    ];
    expect(runSchedule(lifecycle, steps, { options: OPTIONS }).values).toEqual(['closed', 'closed', 'closed']);
  });

  it('lifecycle - converges under any causal delivery order with duplicates', () => {
    const options = { states: ['s0', 's1', 's2', 's3', 's4'] };
    const command = fc.oneof(
      fc.record({ type: fc.constant('transition'), to: fc.constantFrom(...options.states) }),
      fc.record({ type: fc.constant('set'), value: fc.constantFrom(...options.states, 'nope') }),
    );
    assertConverges(lifecycle, command, { options, numRuns: 150 });
    assertConverges(lifecycle, command, { options, replicas: 4, numRuns: 50 });
  });
});
