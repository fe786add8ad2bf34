import * as fc from 'fast-check';
import { assertConverges, runSchedule, type Step } from '../../testing/convergence-harness';
import type { OpContext } from '../crdt-type';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import { list, type ListOp, type ListState } from './list';

/** A replica for hand-written scenarios. */
class Peer {
  state: ListState = list.create(null);
  time = 0;
  constructor(readonly id: string) {}
  do(command: unknown): ListOp {
    const op = list.prepare(this.state, command, this.ctx());
    if (!op.ok) throw new Error(`${this.id}: ${op.error.code} ${op.error.message}`);
    list.apply(this.state, op.value);
    return op.value;
  }
  ctx(): OpContext {
    return { replica: this.id, time: ++this.time };
  }
  receive(...ops: ListOp[]): void {
    for (const op of ops) {
      const checked = list.validateOp(JSON.parse(JSON.stringify(op)), this.state);
      if (!checked.ok) throw new Error(`${this.id}: ${checked.error.message}`);
      list.apply(this.state, checked.value);
    }
  }
  get value(): Json[] {
    return list.value(this.state);
  }
  get encoding(): string {
    return canonicalJson(list.encode(this.state));
  }
}

describe('list', () => {
  it('list - inserts, deletes and sets at the ends and in the middle', () => {
    const a = new Peer('a');
    a.do({ type: 'insert', index: 0, values: [1, 2, 3] });
    a.do({ type: 'insert', index: 3, value: { k: 'v' } });
    a.do({ type: 'insert', index: 0, value: null });
    expect(a.value).toEqual([null, 1, 2, 3, { k: 'v' }]);
    a.do({ type: 'insert', index: 2, values: ['x', ['y']] });
    expect(a.value).toEqual([null, 1, 'x', ['y'], 2, 3, { k: 'v' }]);
    a.do({ type: 'delete', index: 0 });
    a.do({ type: 'delete', index: 5 });
    a.do({ type: 'delete', index: 1, count: 2 });
    expect(a.value).toEqual([1, 2, 3]);
    a.do({ type: 'set', index: 1, value: 'two' });
    a.do({ type: 'set', index: 0, value: true });
    a.do({ type: 'set', index: 2, value: 3.5 });
    expect(a.value).toEqual([true, 'two', 3.5]);
  });

  it('list - stored values share nothing with the command or the op', () => {
    const a = new Peer('a');
    const obj = { n: [1] };
    const op = a.do({ type: 'insert', index: 0, values: [obj] });
    obj.n.push(2);
    if (op.type === 'insert') (op.values[0] as { n: number[] }).n.push(3);
    expect(a.value).toEqual([{ n: [1] }]);
    // A "__proto__" key from the wire stays an ordinary key.
    const b = new Peer('b');
    b.do({ type: 'insert', index: 0, value: JSON.parse('{"__proto__":{"polluted":true}}') as Json });
    expect(canonicalJson(b.value[0])).toBe('{"__proto__":{"polluted":true}}');
    expect(canonicalJson(list.encode(b.state))).toContain('"__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('list - concurrent inserts at the same index order the same everywhere and do not interleave', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const c = new Peer('c');
    const base = a.do({ type: 'insert', index: 0, values: ['<', '>'] });
    b.receive(base);
    c.receive(base);
    const x = a.do({ type: 'insert', index: 1, values: [1, 2, 3] });
    const y = b.do({ type: 'insert', index: 1, values: [7, 8, 9] });
    a.receive(y);
    b.receive(x);
    c.receive(y, x);
    expect(a.value).toEqual(b.value);
    expect(c.value).toEqual(a.value);
    expect([JSON.stringify(['<', 1, 2, 3, 7, 8, 9, '>']), JSON.stringify(['<', 7, 8, 9, 1, 2, 3, '>'])]).toContain(JSON.stringify(a.value));
    expect(a.encoding).toBe(b.encoding);
  });

  it('list - a concurrent delete of the same element deletes it once', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    b.receive(a.do({ type: 'insert', index: 0, values: [1, 2, 3] }));
    const d1 = a.do({ type: 'delete', index: 1 });
    const d2 = b.do({ type: 'delete', index: 0, count: 2 });
    a.receive(d2);
    b.receive(d1);
    expect(a.value).toEqual([3]);
    expect(b.value).toEqual([3]);
    expect(a.encoding).toBe(b.encoding);
  });

  it('list - an insert after a concurrently deleted element still lands in place', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    b.receive(a.do({ type: 'insert', index: 0, values: [1, 2, 3] }));
    const gone = a.do({ type: 'delete', index: 1 });
    const added = b.do({ type: 'insert', index: 2, value: 'after 2' });
    a.receive(added);
    b.receive(gone);
    expect(a.value).toEqual([1, 'after 2', 3]);
    expect(b.value).toEqual(a.value);
  });

  it('list - concurrent sets of one element keep both values; a set beats a concurrent delete', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    b.receive(a.do({ type: 'insert', index: 0, values: [1, 2, 3] }));
    const s1 = a.do({ type: 'set', index: 1, value: 'A' });
    const s2 = b.do({ type: 'set', index: 1, value: 'B' });
    a.receive(s2);
    b.receive(s1);
    expect(a.value).toEqual(b.value);
    expect(a.value).toHaveLength(4);
    expect(a.value.slice(1, 3).sort()).toEqual(['A', 'B']);

    const c = new Peer('c');
    const d = new Peer('d');
    d.receive(c.do({ type: 'insert', index: 0, values: ['x'] }));
    const set = c.do({ type: 'set', index: 0, value: 'y' });
    const drop = d.do({ type: 'delete', index: 0 });
    c.receive(drop);
    d.receive(set);
    expect(c.value).toEqual(['y']);
    expect(d.value).toEqual(['y']);
  });

  it('list - a duplicate op changes nothing', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const ops = [a.do({ type: 'insert', index: 0, values: [1, 2] }), a.do({ type: 'set', index: 0, value: 0 }), a.do({ type: 'delete', index: 1 })];
    b.receive(...ops, ...ops);
    for (const op of ops) list.apply(a.state, op);
    expect(a.value).toEqual([0]);
    expect(b.encoding).toBe(a.encoding);
  });

  it('list - bad commands are errors with codes and leave the state alone', () => {
    const a = new Peer('a');
    a.do({ type: 'insert', index: 0, values: [1, 2] });
    const before = a.encoding;
    const prep = (cmd: unknown) => list.prepare(a.state, cmd, a.ctx());
    const code = (cmd: unknown) => {
      const r = prep(cmd);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(42)).toBe('BAD_COMMAND');
    expect(code({ type: 'push' })).toBe('UNKNOWN_COMMAND');
    expect(code({ type: 'insert', index: 0 })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 0, values: [] })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 0, values: 'abc' })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 0, values: [1], value: 2 })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 0, value: NaN })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 0, value: () => 1 })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 0, values: [new Date()] })).toBe('BAD_COMMAND');
    expect(code({ type: 'insert', index: 3, value: 1 })).toBe('OUT_OF_RANGE');
    expect(code({ type: 'insert', index: 0.5, value: 1 })).toBe('BAD_COMMAND');
    expect(code({ type: 'delete', index: 2 })).toBe('OUT_OF_RANGE');
    expect(code({ type: 'delete', index: 1, count: 2 })).toBe('OUT_OF_RANGE');
    expect(code({ type: 'delete', index: 0, count: -1 })).toBe('BAD_COMMAND');
    expect(code({ type: 'set', index: 2, value: 1 })).toBe('OUT_OF_RANGE');
    expect(code({ type: 'set', index: 0 })).toBe('BAD_COMMAND');
    expect(code({ type: 'set', index: 0, value: Infinity })).toBe('BAD_COMMAND');
    expect(a.encoding).toBe(before);
    expect(a.value).toEqual([1, 2]);
  });

  it('list - hostile ops are INVALID_OP', () => {
    const a = new Peer('a');
    a.do({ type: 'insert', index: 0, values: [1, 2] }); // ids 1..2 @a
    const bad: unknown[] = [
      undefined,
      { type: 'insert', replica: 'b', clock: 3, after: null },
      { type: 'insert', replica: 'b', clock: 3, after: null, values: [] },
      { type: 'insert', replica: 'b', clock: 3, after: null, values: [NaN] },
      { type: 'insert', replica: 'b', clock: 3, after: null, values: {} },
      { type: 'insert', replica: 'b', clock: 3, after: null, text: 'x' },
      { type: 'insert', replica: 'b', clock: 3, after: ['a', 7], values: [1] },
      { type: 'insert', replica: 7, clock: 3, after: null, values: [1] },
      { type: 'set', replica: 'b', clock: 3, target: null, value: 1 },
      { type: 'set', replica: 'b', clock: 3, target: ['a', 1] },
      { type: 'set', replica: 'b', clock: 3, target: ['a', 9], value: 1 },
      { type: 'set', replica: 'b', clock: 1, target: ['a', 2], value: 1 },
      { type: 'delete', spans: [['a', 2, 2]] },
      { type: '__proto__' },
      JSON.parse('{"__proto__":{"type":"insert"},"replica":"b","clock":3,"after":null,"values":[1]}'),
    ];
    for (const op of bad) expect(list.validateOp(op, a.state)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    expect(list.validateOp({ type: 'set', replica: 'b', clock: 3, target: ['a', 1], value: { x: 1 } }, a.state).ok).toBe(true);
    expect(a.value).toEqual([1, 2]);
  });

  it('list - encode is canonical and decode round-trips and rejects malformed input', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const ops = [a.do({ type: 'insert', index: 0, values: [1, 2, 3, 4] }), a.do({ type: 'delete', index: 1 }), a.do({ type: 'set', index: 0, value: 'one' })];
    b.receive(...ops);
    expect(b.encoding).toBe(a.encoding);
    const decoded = list.decode(JSON.parse(a.encoding) as Json);
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(list.value(decoded.value)).toEqual(a.value);
    expect(canonicalJson(list.encode(decoded.value))).toBe(a.encoding);
    for (const e of [
      { replicas: ['a'], clocks: [3], runs: [[0, 1, 'text']] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, []]] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, [NaN]]] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, [1, 2]], [0, 2, 1]] },
    ]) {
      expect(list.decode(e as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    }
  });

  it('list - clone is independent', () => {
    const a = new Peer('a');
    a.do({ type: 'insert', index: 0, values: [1] });
    const copy = list.clone(a.state);
    a.do({ type: 'insert', index: 1, values: [2] }); // extends the run in place
    expect(list.value(copy)).toEqual([1]);
    expect(a.value).toEqual([1, 2]);
  });

  it('list - compact drops tombstones and keeps the value', () => {
    const a = new Peer('a');
    a.do({ type: 'insert', index: 0, values: [1, 2, 3, 4] });
    a.do({ type: 'delete', index: 1, count: 2 });
    list.compact(a.state);
    expect(a.value).toEqual([1, 4]);
    expect(list.encode(a.state)).toEqual({ replicas: ['a'], clocks: [4], runs: [[0, 1, [1]], [0, 4, [4]]] });
    a.do({ type: 'insert', index: 1, value: 'mid' });
    expect(a.value).toEqual([1, 'mid', 4]);
  });

  const command = fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: fc.constant('insert'), index: fc.nat({ max: 5 }), values: fc.array(fc.oneof(fc.integer(), fc.string()), { minLength: 1, maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('delete'), index: fc.nat({ max: 5 }), count: fc.integer({ min: 1, max: 2 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('set'), index: fc.nat({ max: 5 }), value: fc.integer() }) },
  );

  it('list - converges under any causal delivery order with duplicates', () => {
    assertConverges(list, command, { numRuns: 150, maxSteps: 60 });
  });

  it('list - converges on long schedules with many concurrent edits', () => {
    const replica = fc.nat({ max: 2 });
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('command' as const), replica, command }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica, pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), replica, pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 40, maxLength: 150 }), (steps) => {
        runSchedule(list, steps);
      }),
      { numRuns: 60 },
    );
  });
});
