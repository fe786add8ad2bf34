import * as fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { assertConverges, runSchedule, type Step } from '../../testing/convergence-harness';
import type { OpContext } from '../crdt-type';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import { text, type TextOp, type TextState } from './text';

/** A replica for hand-written scenarios: its state, its clock, and the ops it made. */
class Peer {
  state: TextState = text.create(null);
  time = 0;
  constructor(readonly id: string) {}
  do(command: unknown): TextOp {
    const op = text.prepare(this.state, command, this.ctx());
    if (!op.ok) throw new Error(`${this.id}: ${op.error.code} ${op.error.message}`);
    text.apply(this.state, op.value);
    return op.value;
  }
  ctx(): OpContext {
    return { replica: this.id, time: ++this.time };
  }
  /** Receives ops as they would come off the wire: JSON, validated, observed by the clock. */
  receive(...ops: TextOp[]): void {
    for (const op of ops) {
      const checked = text.validateOp(JSON.parse(JSON.stringify(op)), this.state);
      if (!checked.ok) throw new Error(`${this.id}: ${checked.error.message}`);
      text.apply(this.state, checked.value);
    }
  }
  get value(): string {
    return text.value(this.state);
  }
  get encoding(): string {
    return canonicalJson(text.encode(this.state));
  }
}

const ins = (index: number, t: string) => ({ type: 'insert', index, text: t });
const del = (index: number, count = 1) => ({ type: 'delete', index, count });

/**
 * Longer schedules than the harness's default size gives (a few commands per run, most of
 * them out of range on an empty text): 40 to 150 steps, half of them commands.
 */
function longSchedule(command: fc.Arbitrary<unknown>): fc.Arbitrary<Step[]> {
  const replica = fc.nat({ max: 2 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('command' as const), replica, command }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica, pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), replica, pick: fc.nat() }) },
  );
  return fc.array(step, { minLength: 40, maxLength: 150 });
}

describe('text', () => {
  it('text - inserts and deletes at the start, the end and the middle', () => {
    const a = new Peer('a');
    a.do(ins(0, 'world'));
    a.do(ins(0, 'hello '));
    a.do(ins(11, '!'));
    expect(a.value).toBe('hello world!');
    a.do(ins(5, ','));
    expect(a.value).toBe('hello, world!');
    a.do(del(0, 7));
    expect(a.value).toBe('world!');
    a.do(del(5));
    a.do(del(2, 1));
    expect(a.value).toBe('wold');
    a.do(del(0, 4));
    expect(a.value).toBe('');
    a.do(ins(0, 'again'));
    expect(a.value).toBe('again');
  });

  it('text - consecutive typing makes one run', () => {
    const a = new Peer('a');
    for (const [i, ch] of [...'typing'].entries()) a.do(ins(i, ch));
    expect(a.value).toBe('typing');
    expect(text.encode(a.state)).toMatchObject({ runs: [[0, 1, 'typing']] });
    // Backspacing over it leaves one tombstone run.
    for (let i = 5; i >= 0; i--) a.do(del(i));
    expect(text.encode(a.state)).toMatchObject({ runs: [[0, 1, 6]] });
  });

  it('text - clocks are Lamport clocks: one per character, the next op one above all seen', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const first = a.do(ins(0, 'abc'));
    const second = a.do(ins(3, 'd'));
    expect(first).toMatchObject({ clock: 1 });
    expect(second).toMatchObject({ clock: 4, after: ['a', 3] });
    b.receive(first, second);
    expect(b.do(ins(0, '>'))).toMatchObject({ clock: 5, after: null });
    expect(b.value).toBe('>abcd');
  });

  it('text - two concurrent inserts at the same index order the same on every replica and do not interleave', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const c = new Peer('c');
    const base = a.do(ins(0, 'xy'));
    b.receive(base);
    c.receive(base);
    const fromA = a.do(ins(1, 'AAA'));
    const fromB = b.do(ins(1, 'BBB'));
    a.receive(fromB);
    b.receive(fromA);
    c.receive(fromB, fromA);
    expect(a.value).toBe(b.value);
    expect(c.value).toBe(a.value);
    expect(['xAAABBBy', 'xBBBAAAy']).toContain(a.value);
    expect(a.encoding).toBe(b.encoding);
    expect(c.encoding).toBe(a.encoding);
  });

  it('text - concurrent inserts at the start order by clock then replica', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const fromA = a.do(ins(0, 'a'));
    const fromB = b.do(ins(0, 'b')); // same clock: replica "b" outranks "a" and goes first
    a.receive(fromB);
    b.receive(fromA);
    expect(a.value).toBe('ba');
    expect(b.value).toBe('ba');
  });

  it('text - typing continues after a concurrent insert at the same place without interleaving', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const ops: TextOp[] = [];
    for (const [i, ch] of [...'hello'].entries()) ops.push(a.do(ins(i, ch)));
    const other = b.do(ins(0, 'WORLD'));
    a.receive(other);
    b.receive(...ops);
    expect(a.value).toBe(b.value);
    expect(['helloWORLD', 'WORLDhello']).toContain(a.value);
  });

  it('text - a concurrent delete of the same character deletes it once', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    b.receive(a.do(ins(0, 'abc')));
    const d1 = a.do(del(1));
    const d2 = b.do(del(1));
    a.receive(d2);
    b.receive(d1);
    expect(a.value).toBe('ac');
    expect(b.value).toBe('ac');
    expect(a.encoding).toBe(b.encoding);
  });

  it('text - an insert after a concurrently deleted character still lands in place', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    b.receive(a.do(ins(0, 'abc')));
    const gone = a.do(del(1)); // deletes 'b'
    const typed = b.do(ins(2, 'X')); // after 'b'
    a.receive(typed);
    b.receive(gone);
    expect(a.value).toBe('aXc');
    expect(b.value).toBe('aXc');
    expect(a.encoding).toBe(b.encoding);
  });

  it('text - a duplicate insert or delete changes nothing', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const i1 = a.do(ins(0, 'abc'));
    const d1 = a.do(del(0));
    b.receive(i1, d1, i1, d1);
    text.apply(a.state, i1);
    text.apply(a.state, d1);
    expect(a.value).toBe('bc');
    expect(b.encoding).toBe(a.encoding);
  });

  it('text - bad commands are errors with codes and leave the state alone', () => {
    const a = new Peer('a');
    a.do(ins(0, 'abc'));
    const before = a.encoding;
    const prep = (cmd: unknown) => text.prepare(a.state, cmd, a.ctx());
    expect(prep('x')).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep(null)).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'explode' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(prep({ type: 'insert', index: 1.5, text: 'x' })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'insert', index: '1', text: 'x' })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'insert', index: NaN, text: 'x' })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'insert', index: 1, text: '' })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'insert', index: 1, text: 5 })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'insert', index: 4, text: 'x' })).toMatchObject({ ok: false, error: { code: 'OUT_OF_RANGE' } });
    expect(prep({ type: 'insert', index: -1, text: 'x' })).toMatchObject({ ok: false, error: { code: 'OUT_OF_RANGE' } });
    expect(prep({ type: 'delete', index: 3 })).toMatchObject({ ok: false, error: { code: 'OUT_OF_RANGE' } });
    expect(prep({ type: 'delete', index: 1, count: 3 })).toMatchObject({ ok: false, error: { code: 'OUT_OF_RANGE' } });
    expect(prep({ type: 'delete', index: 0, count: 0 })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep({ type: 'delete', index: 0, count: Infinity })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(prep(Object.create({ type: 'insert', index: 0, text: 'x' }))).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    const full = text.create(null);
    text.apply(full, { type: 'insert', replica: 'z', clock: Number.MAX_SAFE_INTEGER - 1, after: null, text: 'z' });
    expect(text.prepare(full, { type: 'insert', index: 0, text: 'ab' }, a.ctx())).toMatchObject({ ok: false, error: { code: 'OUT_OF_RANGE' } });
    expect(a.encoding).toBe(before);
    expect(a.value).toBe('abc');
  });

  it('text - hostile ops are INVALID_OP', () => {
    const a = new Peer('a');
    a.do(ins(0, 'abc')); // ids 1..3 @a
    const bad: unknown[] = [
      null,
      'insert',
      [],
      {},
      { type: 'move' },
      { type: 'insert', replica: 'b', clock: 5, after: null },
      { type: 'insert', replica: 'b', clock: 5, after: null, text: '' },
      { type: 'insert', replica: '', clock: 5, after: null, text: 'x' },
      { type: 'insert', replica: 'b', clock: -1, after: null, text: 'x' },
      { type: 'insert', replica: 'b', clock: NaN, after: null, text: 'x' },
      { type: 'insert', replica: 'b', clock: 1e300, after: null, text: 'x' },
      { type: 'insert', replica: 'b', clock: Number.MAX_SAFE_INTEGER, after: null, text: 'xy' },
      { type: 'insert', replica: 'b', clock: 5, after: ['a'], text: 'x' },
      { type: 'insert', replica: 'b', clock: 5, after: ['a', 1.5], text: 'x' },
      { type: 'insert', replica: 'b', clock: 5, after: { 0: 'a', 1: 1 }, text: 'x' },
      { type: 'insert', replica: 'b', clock: 5, after: ['a', 9], text: 'x' }, // never applied
      { type: 'insert', replica: 'b', clock: 5, after: ['z', 1], text: 'x' },
      { type: 'insert', replica: 'b', clock: 2, after: ['a', 3], text: 'x' }, // clock not above its origin
      { type: 'delete' },
      { type: 'delete', spans: [] },
      { type: 'delete', spans: [['a', 1]] },
      { type: 'delete', spans: [['a', 1, 0]] },
      { type: 'delete', spans: [['a', -1, 1]] },
      { type: 'delete', spans: [['a', 1, 5]] }, // passes what was applied
      { type: 'delete', spans: [['z', 1, 1]] },
      { type: 'delete', spans: 'all' },
      Object.assign(Object.create({ type: 'delete' }), { spans: [['a', 1, 1]] }),
    ];
    for (const op of bad) expect(text.validateOp(op, a.state)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    const good = text.validateOp({ type: 'insert', replica: 'b', clock: 5, after: ['a', 2], text: 'x', extra: 1 }, a.state);
    expect(good).toEqual({ ok: true, value: { type: 'insert', replica: 'b', clock: 5, after: ['a', 2], text: 'x' } });
    expect(text.validateOp({ type: 'delete', spans: [['a', 1, 3]] }, a.state).ok).toBe(true);
    expect(a.value).toBe('abc');
  });

  it('text - encode is canonical however the runs are split, and decode round-trips', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const ops = [a.do(ins(0, 'abcdef')), a.do(del(2)), a.do(ins(2, 'X')), a.do(del(1, 3))];
    // b splits its runs differently: it got the whole history at once.
    b.receive(...ops);
    expect(b.value).toBe(a.value);
    expect(b.encoding).toBe(a.encoding);
    const decoded = text.decode(JSON.parse(a.encoding) as Json);
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(text.value(decoded.value)).toBe(a.value);
    expect(canonicalJson(text.encode(decoded.value))).toBe(a.encoding);
    // The decoded state keeps working: a concurrent edit lands the same on both.
    const more = a.do(ins(1, 'YY'));
    text.apply(decoded.value, more);
    expect(text.value(decoded.value)).toBe(a.value);
  });

  it('text - the encoding lists replicas, their last clocks and runs (the documented example)', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const ops = [...'hello'].map((ch, i) => a.do(ins(i, ch)));
    ops.push(a.do(del(3)));
    b.receive(...ops);
    a.receive(b.do(ins(4, '!')));
    expect(a.value).toBe('helo!');
    expect(text.encode(a.state)).toEqual({ replicas: ['a', 'b'], clocks: [5, 6], runs: [[0, 1, 'hel'], [0, 4, 1], [0, 5, 'o'], [1, 6, '!']] });
  });

  it('text - decode rejects malformed encodings', () => {
    const bad: unknown[] = [
      null,
      [],
      { replicas: ['a'], clocks: [3] },
      { replicas: ['a'], clocks: [], runs: [] },
      { replicas: ['b', 'a'], clocks: [1, 1], runs: [] },
      { replicas: ['a', 'a'], clocks: [1, 1], runs: [] },
      { replicas: [''], clocks: [1], runs: [] },
      { replicas: ['a'], clocks: [-1], runs: [] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1]] },
      { replicas: ['a'], clocks: [3], runs: [[1, 1, 'x']] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, '']] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, 0]] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, 1.5]] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, ['x']]] },
      { replicas: ['a'], clocks: [3], runs: [[0, 1, 'abcd']] }, // clocks past what was applied
      { replicas: ['a'], clocks: [3], runs: [[0, 1, 'ab'], [0, 2, 'b']] }, // an id twice
      { replicas: ['a'], clocks: [3], runs: [[0, 1, 'ab'], [0, 1, 1]] },
    ];
    for (const e of bad) expect(text.decode(e as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    const fine = text.decode({ replicas: ['a', 'b'], clocks: [3, 9], runs: [[1, 9, 'z'], [0, 1, 'a'], [0, 2, 'b'], [0, 3, 1]] });
    if (!fine.ok) throw new Error(fine.error.message);
    expect(text.value(fine.value)).toBe('zab');
    expect(text.encode(fine.value)).toEqual({ replicas: ['a', 'b'], clocks: [3, 9], runs: [[1, 9, 'z'], [0, 1, 'ab'], [0, 3, 1]] });
  });

  it('text - clone is independent', () => {
    const a = new Peer('a');
    a.do(ins(0, 'abc'));
    const copy = text.clone(a.state);
    a.do(ins(3, 'd'));
    a.do(del(0));
    expect(text.value(copy)).toBe('abc');
    expect(a.value).toBe('bcd');
  });

  it('text - compact drops tombstones, and replicas that compact at the same cut keep converging', () => {
    const a = new Peer('a');
    const b = new Peer('b');
    const history = [a.do(ins(0, 'hello world')), a.do(del(5, 6)), a.do(ins(0, '>> ')), a.do(del(1))];
    b.receive(...history);
    text.compact(a.state);
    text.compact(b.state);
    expect(a.value).toBe('> hello');
    expect(a.encoding).toBe(b.encoding);
    expect((text.encode(a.state) as { runs: unknown[] }).runs.every((r) => typeof (r as unknown[])[2] === 'string')).toBe(true);
    // After the cut, concurrent edits at the place where tombstones were.
    const x = a.do(ins(7, '!'));
    const y = b.do(ins(7, '?'));
    const z = b.do(ins(2, '_'));
    a.receive(y, z);
    b.receive(x);
    expect(a.value).toBe(b.value);
    expect(a.encoding).toBe(b.encoding);
    // A stray insert naming a dropped tombstone is refused, not misplaced.
    expect(text.validateOp({ type: 'insert', replica: 'c', clock: 100, after: ['a', 6], text: 'x' }, a.state)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_OP' },
    });
  });

  // Small indexes, mostly inserts, so that most commands succeed on the short texts the
  // schedules build; out-of-range ones come back as errors, which the harness skips.
  const command = fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: fc.constant('insert'), index: fc.nat({ max: 5 }), text: fc.string({ minLength: 1, maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('delete'), index: fc.nat({ max: 5 }), count: fc.integer({ min: 1, max: 3 }) }) },
  );

  it('text - converges under any causal delivery order with duplicates', () => {
    assertConverges(text, command, { numRuns: 150, maxSteps: 60 });
  });

  it('text - converges on long schedules with many concurrent edits', () => {
    fc.assert(
      fc.property(longSchedule(command), (steps) => {
        runSchedule(text, steps);
      }),
      { numRuns: 60 },
    );
  });

  it('text - converges after a compaction at a common cut', () => {
    const command = fc.oneof(
      fc.record({ type: fc.constant('insert'), index: fc.nat({ max: 6 }), text: fc.string({ minLength: 1, maxLength: 2 }) }),
      fc.record({ type: fc.constant('delete'), index: fc.nat({ max: 6 }), count: fc.integer({ min: 1, max: 2 }) }),
    );
    const round = fc.array(fc.record({ replica: fc.nat({ max: 2 }), command }), { maxLength: 8 });
    fc.assert(
      fc.property(round, round, fc.nat(), (before, after, seed) => {
        const peers = [new Peer('r0'), new Peer('r1'), new Peer('r2')];
        const made: TextOp[][] = [[], [], []];
        const tryDo = (p: number, cmd: unknown) => {
          const op = text.prepare(peers[p].state, cmd, peers[p].ctx());
          if (!op.ok) return;
          text.apply(peers[p].state, op.value);
          made[p].push(op.value);
        };
        // Phase 1: edits delivered to everyone, one origin at a time, then the cut.
        for (const { replica, command: cmd } of before) {
          tryDo(replica, cmd);
          const op = made[replica][made[replica].length - 1];
          if (op) for (let q = 0; q < 3; q++) if (q !== replica) peers[q].receive(op);
          made[replica].length = 0;
        }
        for (const p of peers) text.compact(p.state);
        // Phase 2: concurrent edits, each replica's in its own order, delivered in a rotated order.
        for (const { replica, command: cmd } of after) tryDo(replica, cmd);
        for (let q = 0; q < 3; q++) {
          for (let k = 0; k < 3; k++) {
            const from = (q + k + seed) % 3;
            if (from !== q) peers[q].receive(...made[from]);
          }
        }
        for (const p of peers) {
          expect(p.value).toBe(peers[0].value);
          expect(p.encoding).toBe(peers[0].encoding);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('text - every op counts exactly once after full delivery', () => {
    const steps = [
      { kind: 'command' as const, replica: 0, command: ins(0, 'abc') },
      { kind: 'deliver' as const, replica: 1, pick: 0 },
      { kind: 'command' as const, replica: 1, command: ins(1, 'XY') },
      { kind: 'command' as const, replica: 0, command: del(1) },
      { kind: 'duplicate' as const, replica: 0, pick: 1 },
      { kind: 'command' as const, replica: 2, command: ins(0, '>') },
    ];
    const out = runSchedule(text, steps);
    expect(out.values).toEqual(['>aXYc', '>aXYc', '>aXYc']);
  });

  it('text - the first 20,000 edits of the editing trace match a plain string', () => {
    // Editing trace by Martin Kleppmann and the Automerge contributors, CC BY 4.0
    // (automerge/automerge-perf, edit-history/paper.json.gz); see /work/shared/data/README.md.
    const path = process.env.CRDT_EDITING_TRACE ?? resolve(__dirname, '../../../../../shared/data/editing-trace.json.gz');
    if (!existsSync(path)) throw new Error(`editing trace not found at ${path}; set CRDT_EDITING_TRACE to its path`);
    const { edits } = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as { edits: [number, number, string][] };
    const a = new Peer('a');
    let model = '';
    for (let i = 0; i < 20_000; i++) {
      const [pos, n, t] = edits[i];
      if (n > 0) a.do(del(pos, n));
      if (t.length > 0) a.do(ins(pos, t));
      model = model.slice(0, pos) + t + model.slice(pos + n);
      if (i % 2_000 === 0) expect(a.value).toBe(model);
    }
    expect(a.value).toBe(model);
    const decoded = text.decode(text.encode(a.state));
    expect(decoded.ok && text.value(decoded.value)).toBe(model);
  });
});
