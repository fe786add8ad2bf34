import * as fc from 'fast-check';
import { assertConverges, runSchedule, type Step } from '../../testing/convergence-harness';
import { canonicalJson } from '../encoding/canonical-json';
import type { Json } from '../json';
import type { Result } from '../result';
import { orMap, OR_MAP_DEPTH_MAX, type OrMapOp, type OrMapState } from './or-map';

const must = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};
let time = 0;
const exec = (s: OrMapState, command: unknown, replica: string): OrMapOp => {
  const op = must(orMap.prepare(s, command, { replica, time: ++time }));
  orMap.apply(s, op);
  return op;
};
const deliver = (s: OrMapState, op: OrMapOp): void => orMap.apply(s, must(orMap.validateOp(JSON.parse(JSON.stringify(op)), s)));
const enc = (s: OrMapState) => canonicalJson(orMap.encode(s));
const inc = (field: string, by = 1) => ({ type: 'update', field, fieldType: 'pn-counter', op: { type: 'increment', by } });
const addTo = (field: string, value: Json) => ({ type: 'update', field, fieldType: 'or-set', op: { type: 'add', value } });
const remove = (field: string) => ({ type: 'remove', field });
/** A command on a map nested `levels` deep under fields "m", ending in an increment of "n". */
const nestedInc = (levels: number): Record<string, unknown> =>
  levels === 0 ? inc('n') : { type: 'update', field: 'm', fieldType: 'or-map', op: nestedInc(levels - 1) };

describe('or-map', () => {
  it('or-map - fields hold nested CRDTs and read as a plain object with sorted keys', () => {
    const s = orMap.create(null);
    exec(s, addTo('tags', 'b'), 'a');
    exec(s, inc('visits', 3), 'a');
    exec(s, { type: 'update', field: 'title', fieldType: 'lww-register', op: { type: 'set', value: 'Hello' } }, 'a');
    exec(s, { type: 'update', field: 'doc', fieldType: 'or-map', op: inc('likes') }, 'a');
    const v = orMap.value(s);
    expect(v).toEqual({ doc: { likes: 1 }, tags: ['b'], title: 'Hello', visits: 3 });
    expect(Object.keys(v)).toEqual(['doc', 'tags', 'title', 'visits']);
  });

  it('or-map - fields can hold sequences: text and list', () => {
    const a = orMap.create(null);
    const b = orMap.create(null);
    const text = (op: Json) => ({ type: 'update', field: 'body', fieldType: 'text', op });
    deliver(b, exec(a, text({ type: 'insert', index: 0, text: 'held' }), 'a'));
    const fromA = exec(a, text({ type: 'insert', index: 4, text: 'o' }), 'a');
    const fromB = exec(b, { type: 'update', field: 'items', fieldType: 'list', op: { type: 'insert', index: 0, values: [1, { two: 2 }] } }, 'b');
    deliver(a, fromB);
    deliver(b, fromA);
    expect([orMap.value(a), orMap.value(b)]).toEqual([{ body: 'heldo', items: [1, { two: 2 }] }, { body: 'heldo', items: [1, { two: 2 }] }]);
    expect(enc(a)).toBe(enc(b));
  });

  it('or-map - nested counters updated concurrently merge', () => {
    const a = orMap.create(null);
    const b = orMap.create(null);
    const fromA = exec(a, inc('n', 2), 'a');
    const fromB = exec(b, inc('n', 3), 'b');
    deliver(a, fromB);
    deliver(b, fromA);
    expect([orMap.value(a), orMap.value(b)]).toEqual([{ n: 5 }, { n: 5 }]);
    expect(enc(a)).toBe(enc(b));
  });

  it('or-map - an update concurrent with a remove keeps the field, with the merged nested state', () => {
    const a = orMap.create(null);
    const b = orMap.create(null);
    deliver(b, exec(a, inc('n', 1), 'a'));
    const rm = exec(b, remove('n'), 'b');
    const up = exec(a, inc('n', 2), 'a');
    expect(orMap.value(b)).toEqual({});
    deliver(a, rm);
    deliver(b, up);
    expect([orMap.value(a), orMap.value(b)]).toEqual([{ n: 3 }, { n: 3 }]);
    expect(enc(a)).toBe(enc(b));
  });

  it('or-map - update beats remove in every delivery order (three replicas)', () => {
    const steps: Step[] = [
      { kind: 'command', replica: 0, command: addTo('s', 'x') },
      { kind: 'deliver', replica: 1, pick: 0 },
      { kind: 'command', replica: 1, command: remove('s') },
      { kind: 'command', replica: 0, command: addTo('s', 'y') },
      { kind: 'command', replica: 2, command: addTo('s', 'z') },
    ];
    for (let pick = 0; pick < 6; pick++) {
      const out = runSchedule(orMap, [...steps, { kind: 'deliver', replica: 2, pick }, { kind: 'deliver', replica: 0, pick: pick + 1 }]);
      // The remove saw only r0's first add of x: the nested or-set keeps x there too,
      // because or-map removes field dots, not nested elements.
      expect(out.values[0]).toEqual({ s: ['x', 'y', 'z'] });
    }
  });

  it('or-map - a remove that saw every update hides the field; compact then forgets it', () => {
    const s = orMap.create(null);
    exec(s, inc('n', 4), 'a');
    exec(s, inc('keep'), 'a');
    exec(s, remove('n'), 'a');
    expect(orMap.value(s)).toEqual({ keep: 1 });
    // Until compaction the tombstone's state is kept, and a later update revives it.
    const revived = orMap.clone(s);
    exec(revived, inc('n', 1), 'a');
    expect(orMap.value(revived)).toEqual({ keep: 1, n: 5 });
    orMap.compact(s);
    expect([...s.fields.keys()]).toEqual(['keep']);
    exec(s, inc('n', 1), 'a');
    expect(orMap.value(s)).toEqual({ keep: 1, n: 1 });
  });

  it('or-map - compact keeps a field a key-level clear hid (its counter\'s floor), so a nested op made before the round counts from the floor', () => {
    const s = orMap.create(null);
    exec(s, inc('n', 5), 'a');
    exec(s, inc('gone', 2), 'a');
    exec(s, remove('gone'), 'a');
    const cleared = orMap.clear!(s);
    // Made against the cleared state (a replica that missed the round), applied after the compaction.
    const late = orMap.prepare(orMap.clone(cleared), inc('n', 2), { replica: 'a', time: ++time });
    orMap.compact(cleared);
    expect([...cleared.fields.keys()].sort()).toEqual(['gone', 'n']);
    deliver(cleared, must(late));
    expect(orMap.value(cleared)).toEqual({ n: 2 });
    // A field removed with a value still goes at compaction: re-created, it starts empty.
    orMap.compact(s);
    expect([...s.fields.keys()]).toEqual(['n']);
  });

  it('or-map - updating a field with another type is BAD_COMMAND and leaves the state alone', () => {
    const s = orMap.create(null);
    exec(s, inc('n'), 'a');
    const before = enc(s);
    const r = orMap.prepare(s, addTo('n', 1), { replica: 'a', time: 99 });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(!r.ok && r.error.message).toMatch(/holds a pn-counter/);
    expect(enc(s)).toBe(before);
    // Once removed, the field may take another type.
    exec(s, remove('n'), 'a');
    exec(s, addTo('n', 1), 'a');
    expect(orMap.value(s)).toEqual({ n: [1] });
  });

  it('or-map - concurrent creations with different types show the same variant everywhere', () => {
    const a = orMap.create(null);
    const b = orMap.create(null);
    const counter = exec(a, inc('f', 7), 'a');
    const set = exec(b, addTo('f', 'x'), 'b');
    deliver(a, set);
    deliver(b, counter);
    // "or-set" sorts before "pn-counter".
    expect([orMap.value(a), orMap.value(b)]).toEqual([{ f: ['x'] }, { f: ['x'] }]);
    expect(enc(a)).toBe(enc(b));
    expect(orMap.prepare(a, inc('f'), { replica: 'a', time: 99 })).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    // A remove clears both variants.
    const rm = exec(a, remove('f'), 'a');
    deliver(b, rm);
    expect([orMap.value(a), orMap.value(b)]).toEqual([{}, {}]);
  });

  it('or-map - maps nest, up to the depth limit', () => {
    const s = orMap.create(null);
    exec(s, nestedInc(OR_MAP_DEPTH_MAX - 1), 'a');
    let v: Json = orMap.value(s);
    for (let i = 0; i < OR_MAP_DEPTH_MAX - 1; i++) v = (v as Record<string, Json>).m;
    expect(v).toEqual({ n: 1 });
    const deeper = orMap.prepare(s, nestedInc(OR_MAP_DEPTH_MAX), { replica: 'a', time: 99 });
    expect(deeper).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    expect(!deeper.ok && deeper.error.message).toMatch(/nest at most 8/);
    const back = must(orMap.decode(JSON.parse(JSON.stringify(orMap.encode(s)))));
    expect(enc(back)).toBe(enc(s));
  });

  it('or-map - a hostile op nested far too deep is INVALID_OP, not a stack overflow', () => {
    let op: Json = { type: 'increment', replica: 'a', total: 1 };
    let fieldType = 'pn-counter';
    for (let i = 0; i < 10_000; i++) {
      op = { type: 'update', field: 'm', fieldType, fieldOptions: null, dot: { replica: 'a', counter: 1 }, op };
      fieldType = 'or-map';
    }
    expect(orMap.validateOp(op, orMap.create(null))).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
  });

  it('or-map - bad commands are errors with codes and leave the state alone', () => {
    const s = orMap.create(null);
    exec(s, inc('n'), 'a');
    const before = enc(s);
    const cases: Array<[unknown, string]> = [
      ['update', 'BAD_COMMAND'],
      [{ type: 'merge', field: 'n' }, 'UNKNOWN_COMMAND'],
      [{ ...inc('n'), field: '' }, 'BAD_COMMAND'],
      [{ ...inc('n'), field: 7 }, 'BAD_COMMAND'],
      [{ ...inc('n'), field: 'x'.repeat(2_000) }, 'BAD_COMMAND'],
      [{ ...inc('m'), fieldType: 'hash-table' }, 'BAD_COMMAND'],
      [{ ...inc('m'), fieldType: undefined }, 'BAD_COMMAND'],
      [{ ...inc('m'), fieldOptions: { size: 3 } }, 'BAD_COMMAND'],
      [{ ...inc('m'), op: { type: 'explode' } }, 'UNKNOWN_COMMAND'], // the nested type's own code
      [{ ...inc('m'), op: { type: 'increment', by: 0.5 } }, 'BAD_COMMAND'],
      [{ ...inc('m'), op: undefined }, 'BAD_COMMAND'],
      [{ type: 'update', field: 'd', fieldType: 'or-map', op: { type: 'update', field: 'e', fieldType: 'g-set', op: { type: 'remove', value: 1 } } }, 'UNKNOWN_COMMAND'],
    ];
    for (const [command, code] of cases) {
      const r = orMap.prepare(s, command, { replica: 'a', time: 99 });
      expect(r).toMatchObject({ ok: false, error: { code } });
    }
    const nested = orMap.prepare(s, cases[cases.length - 1][0], { replica: 'a', time: 99 });
    expect(!nested.ok && nested.error.message).toMatch(/^field "d": field "e": g-set/);
    expect(enc(s)).toBe(before);
  });

  it('or-map - removing an absent field makes an op that removes nothing', () => {
    const s = orMap.create(null);
    exec(s, inc('n'), 'a');
    expect(exec(s, remove('ghost'), 'a')).toEqual({ type: 'remove', field: 'ghost', dots: [] });
    expect(orMap.value(s)).toEqual({ n: 1 });
  });

  it('or-map - hostile or out-of-order ops are INVALID_OP and leave the state alone', () => {
    const s = orMap.create(null);
    const first = exec(s, inc('n'), 'a') as Extract<OrMapOp, { type: 'update' }>;
    const before = enc(s);
    const next = { ...first, dot: { replica: 'a', counter: 2 }, op: { type: 'increment', replica: 'a', total: 2 } };
    for (const op of [
      null,
      { type: 'update' },
      { ...next, field: '' },
      { ...next, fieldType: 'nope' },
      { ...next, fieldOptions: { x: 1 } },
      { ...next, dot: { replica: 'a', counter: 3 } }, // skips 2@a
      { ...next, dot: { replica: 'a', counter: -1 } },
      { ...next, op: { type: 'increment', replica: 'a', total: -5 } },
      { ...next, op: undefined },
      { type: 'remove', field: 'n', dots: [{ replica: 'b', counter: 1 }] }, // an update not applied here
      { type: 'remove', field: 'n', dots: 'all' },
      { type: 'remove', field: 'n' },
    ]) {
      expect(orMap.validateOp(op, s)).toMatchObject({ ok: false, error: { code: 'INVALID_OP' } });
    }
    expect(enc(s)).toBe(before);
  });

  it('or-map - a duplicate update changes nothing, even after the field was removed', () => {
    const s = orMap.create(null);
    const up = exec(s, inc('n', 2), 'a');
    const rm = exec(s, remove('n'), 'a');
    const before = enc(s);
    deliver(s, up);
    deliver(s, rm);
    expect(enc(s)).toBe(before);
    expect(orMap.value(s)).toEqual({});
  });

  it('or-map - a field named __proto__ is plain data', () => {
    const s = orMap.create(null);
    exec(s, inc('__proto__', 2), 'a');
    const v = orMap.value(s);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(canonicalJson(v)).toBe('{"__proto__":2}');
    const back = must(orMap.decode(JSON.parse(JSON.stringify(orMap.encode(s)))));
    expect(canonicalJson(orMap.value(back))).toBe('{"__proto__":2}');
  });

  it('or-map - encode and decode round trip, tombstones and variants included; malformed encodings are BAD_ENCODING', () => {
    const a = orMap.create(null);
    const b = orMap.create(null);
    deliver(b, exec(a, addTo('s', { k: 1 }), 'a'));
    deliver(b, exec(a, inc('gone'), 'a'));
    deliver(b, exec(a, remove('gone'), 'a'));
    deliver(a, exec(b, { type: 'update', field: 'doc', fieldType: 'or-map', op: addTo('inner', 'v') }, 'b'));
    const concurrentB = exec(b, inc('clash'), 'b');
    const concurrentA = exec(a, { type: 'update', field: 'clash', fieldType: 'lww-register', op: { type: 'set', value: 1 } }, 'a');
    deliver(a, concurrentB);
    deliver(b, concurrentA);
    expect(enc(a)).toBe(enc(b));
    const back = must(orMap.decode(JSON.parse(JSON.stringify(orMap.encode(a)))));
    expect(enc(back)).toBe(enc(a));
    expect(orMap.value(back)).toEqual({ clash: 1, doc: { inner: ['v'] }, s: [{ k: 1 }] });
    const good = orMap.encode(a) as { clock: Json; fields: Json[] };
    for (const bad of [
      null,
      { clock: {}, fields: {} },
      { clock: { a: -1 }, fields: [] },
      { clock: {}, fields: [{ field: 'x', variants: [] }] },
      { clock: {}, fields: [{ field: 'x', variants: [{ type: 'pn-counter', options: null, dots: [{ replica: 'a', counter: 1 }], state: { n: {}, p: {} } }] }] }, // dot beyond clock
      { clock: { a: 1 }, fields: [{ field: 'x', variants: [{ type: 'hash', options: null, dots: [], state: {} }] }] },
      { clock: { a: 1 }, fields: [{ field: 'x', variants: [{ type: 'pn-counter', options: null, dots: [], state: 'junk' }] }] },
      { ...good, fields: [...good.fields, good.fields[0]] },
    ]) {
      expect(orMap.decode(bad as Json)).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    }
  });

  it('or-map - a clone is deep: changing it leaves the original alone', () => {
    const s = orMap.create(null);
    exec(s, { type: 'update', field: 'doc', fieldType: 'or-map', op: inc('n') }, 'a');
    const before = enc(s);
    const c = orMap.clone(s);
    exec(c, { type: 'update', field: 'doc', fieldType: 'or-map', op: inc('n') }, 'a');
    exec(c, remove('doc'), 'a');
    orMap.compact(c);
    expect(enc(s)).toBe(before);
    expect(orMap.value(s)).toEqual({ doc: { n: 1 } });
  });

  it('or-map - converges under any causal delivery order with duplicates', () => {
    const field = fc.constantFrom('a', 'b', 'c');
    const element = fc.constantFrom<Json>(1, 'x', { y: [2] });
    const counterOp = fc.record({ type: fc.constantFrom('increment', 'decrement'), by: fc.integer({ min: 1, max: 5 }) });
    const setOp = fc.record({ type: fc.constantFrom('add', 'remove'), value: element });
    const textOp = fc.oneof(fc.record({ type: fc.constant('insert'), index: fc.nat({ max: 3 }), text: fc.constantFrom('a', 'bc') }), fc.record({ type: fc.constant('delete'), index: fc.nat({ max: 3 }) }));
    const leaf = fc.oneof(
      { weight: 2, arbitrary: fc.record({ type: fc.constant('update'), field, fieldType: fc.constant('pn-counter'), op: counterOp }) },
      { weight: 2, arbitrary: fc.record({ type: fc.constant('update'), field, fieldType: fc.constant('or-set'), op: setOp }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('update'), field, fieldType: fc.constant('text'), op: textOp }) },
      { weight: 2, arbitrary: fc.record({ type: fc.constant('remove'), field }) },
    );
    const command = fc.oneof(
      { weight: 3, arbitrary: leaf },
      { weight: 2, arbitrary: fc.record({ type: fc.constant('update'), field, fieldType: fc.constant('or-map'), op: leaf }) },
    );
    assertConverges(orMap, command, { numRuns: 200 });
  });

  it('or-map - converges, and compacts equal states equally', () => {
    const command = fc.oneof(
      fc.record({ type: fc.constant('update'), field: fc.constantFrom('a', 'b'), fieldType: fc.constantFrom('pn-counter', 'g-counter'), op: fc.constant({ type: 'increment' }) }),
      fc.record({ type: fc.constant('remove'), field: fc.constantFrom('a', 'b') }),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ kind: fc.constantFrom('command' as const, 'deliver' as const), replica: fc.nat({ max: 2 }), command, pick: fc.nat() }), { maxLength: 40 }), (raw) => {
        const steps: Step[] = raw.map((s) => (s.kind === 'command' ? { kind: 'command', replica: s.replica, command: s.command } : { kind: 'deliver', replica: s.replica, pick: s.pick }));
        const out = runSchedule(orMap, steps);
        const values = out.states.map((st) => canonicalJson(orMap.value(st)));
        for (const st of out.states) orMap.compact(st);
        expect(new Set(out.states.map(enc)).size).toBe(1);
        expect(out.states.map((st) => canonicalJson(orMap.value(st)))).toEqual(values);
      }),
      { numRuns: 100 },
    );
  });
});
