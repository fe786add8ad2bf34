import * as fc from 'fast-check';
import { assertConverges, runSchedule } from '../../testing/convergence-harness';
import { pnCounter } from './pn-counter';

const ctx = (replica: string, time = 1) => ({ replica, time });

describe('pn-counter', () => {
  it('pn-counter - increments and decrements from several replicas sum up', () => {
    const s = pnCounter.create(null);
    for (const [cmd, r] of [[{ type: 'increment', by: 5 }, 'a'], [{ type: 'decrement', by: 2 }, 'b'], [{ type: 'increment' }, 'a']] as const) {
      const op = pnCounter.prepare(s, cmd, ctx(r));
      if (!op.ok) throw new Error(op.error.message);
      pnCounter.apply(s, op.value);
    }
    expect(pnCounter.value(s)).toBe(4);
  });

  it('pn-counter - a duplicate op changes nothing', () => {
    const s = pnCounter.create(null);
    const op = pnCounter.prepare(s, { type: 'increment', by: 3 }, ctx('a'));
    if (!op.ok) throw new Error(op.error.message);
    pnCounter.apply(s, op.value);
    pnCounter.apply(s, op.value);
    expect(pnCounter.value(s)).toBe(3);
  });

  it('pn-counter - bad commands and ops are errors with codes and leave the state alone', () => {
    const s = pnCounter.create(null);
    expect(pnCounter.prepare(s, { type: 'increment', by: 1.5 }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(pnCounter.prepare(s, { type: 'explode' }, ctx('a'))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(pnCounter.prepare(s, 'x', ctx('a'))).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(pnCounter.validateOp({ type: 'increment', replica: 'a', total: -1 }, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(pnCounter.value(s)).toBe(0);
  });

  it('pn-counter - converges under any causal delivery order with duplicates', () => {
    const command = fc.record({ type: fc.constantFrom('increment', 'decrement'), by: fc.integer({ min: -5, max: 5 }) });
    assertConverges(pnCounter, command);
  });

  it('pn-counter - every op counts exactly once after full delivery', () => {
    const steps = [
      { kind: 'command' as const, replica: 0, command: { type: 'increment', by: 2 } },
      { kind: 'command' as const, replica: 1, command: { type: 'decrement', by: 5 } },
      { kind: 'duplicate' as const, replica: 0, pick: 0 },
      { kind: 'command' as const, replica: 2, command: { type: 'increment', by: 7 } },
    ];
    const out = runSchedule(pnCounter, steps);
    expect(out.values).toEqual([4, 4, 4]);
  });
});
