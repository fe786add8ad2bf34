import * as fc from 'fast-check';
import type { Result } from '../result';
import { CausalBuffer, type CausalEvent } from './causal-buffer';
import { vvGet, vvMerge, vvSet, type VersionVector } from './version-vector';

interface Ev extends CausalEvent {
  readonly id: string;
}
const ev = (origin: string, seq: number, deps: VersionVector = {}): Ev => ({ origin, seq, deps, id: `${origin}#${seq}` });
const ids = (r: Result<Ev[]> | Ev[]): string[] => {
  const list = Array.isArray(r) ? r : r.ok ? r.value : [];
  return list.map((e) => e.id);
};

/**
 * A random causal history over `origins` replicas: each step either emits an event at one
 * origin (its deps are what that origin has delivered) or lets one origin deliver all that
 * another has, so histories mix concurrency and long dependency chains.
 */
const historyArb = (origins: number): fc.Arbitrary<Ev[]> =>
  fc
    .array(fc.tuple(fc.boolean(), fc.nat({ max: origins - 1 }), fc.nat({ max: origins - 1 })), { maxLength: 40 })
    .map((steps) => {
      const names = Array.from({ length: origins }, (_, i) => `r${i}`);
      const known: VersionVector[] = names.map(() => ({}));
      const events: Ev[] = [];
      for (const [emit, o, from] of steps) {
        if (emit) {
          const seq = vvGet(known[o], names[o]) + 1;
          const deps: VersionVector = {};
          for (const r of Object.keys(known[o])) if (r !== names[o]) vvSet(deps, r, known[o][r]);
          events.push(ev(names[o], seq, deps));
          vvSet(known[o], names[o], seq);
        } else {
          known[o] = vvMerge(known[o], known[from]);
        }
      }
      return events;
    });

/** The events, each maybe repeated, in an order drawn from `random` (Fisher–Yates). */
const scramble = (events: Ev[], dups: number[], random: number[]): Ev[] => {
  const out = [...events];
  if (events.length > 0) for (const d of dups) out.push({ ...events[d % events.length] });
  for (let i = out.length - 1; i > 0; i--) {
    const j = random[i % random.length] % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

/** Checks one release against what was released before it, and records it. */
const checkRelease = (e: Ev, seen: VersionVector, released: Map<string, number>): void => {
  if (vvGet(seen, e.origin) !== e.seq - 1) throw new Error(`${e.id} released before its origin predecessor (had ${vvGet(seen, e.origin)})`);
  for (const r of Object.keys(e.deps)) {
    if (r !== e.origin && e.deps[r] > vvGet(seen, r)) throw new Error(`${e.id} released before ${r}#${e.deps[r]}`);
  }
  released.set(e.id, (released.get(e.id) ?? 0) + 1);
  vvSet(seen, e.origin, e.seq);
};

const scenario = fc.record({
  origins: fc.integer({ min: 3, max: 4 }),
  dups: fc.array(fc.nat(), { maxLength: 20 }),
  random: fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
});

describe('causal-buffer', () => {
  it('causal-buffer - releases every event exactly once, after its deps and its origin predecessor', () => {
    fc.assert(
      fc.property(
        scenario.chain((s) => historyArb(s.origins).map((events) => ({ ...s, events }))),
        ({ events, dups, random }) => {
          const buffer = new CausalBuffer<Ev>({ pendingMax: 1000 });
          const seen: VersionVector = {};
          const released = new Map<string, number>();
          for (const e of scramble(events, dups, random)) {
            const r = buffer.offer(e);
            if (!r.ok) throw new Error(r.error.message);
            for (const x of r.value) checkRelease(x, seen, released);
          }
          expect(released.size).toBe(events.length);
          for (const e of events) expect(released.get(e.id)).toBe(1);
          expect(buffer.waiting()).toBe(0);
          expect(buffer.gaps()).toEqual([]);
          expect(buffer.deliveredVector()).toEqual(seen);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('causal-buffer - under a tight bound, events refused with BUFFER_FULL and offered again are all released once', () => {
    fc.assert(
      fc.property(
        scenario.chain((s) => historyArb(s.origins).map((events) => ({ ...s, events }))),
        fc.integer({ min: 0, max: 3 }),
        ({ events, dups, random }, pendingMax) => {
          const buffer = new CausalBuffer<Ev>({ pendingMax });
          const seen: VersionVector = {};
          const released = new Map<string, number>();
          const queue = scramble(events, dups, random);
          for (let i = 0; i < queue.length; i++) {
            if (i > 10_000) throw new Error('no progress');
            const e = queue[i];
            const r = buffer.offer(e);
            if (!r.ok) {
              expect(r.error.code).toBe('BUFFER_FULL');
              queue.push(e);
            } else {
              for (const x of r.value) checkRelease(x, seen, released);
            }
            expect(buffer.waiting()).toBeLessThanOrEqual(pendingMax);
          }
          for (const e of events) expect(released.get(e.id)).toBe(1);
          expect(buffer.waiting()).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('causal-buffer - an event waits for the events of other origins it depends on', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 });
    expect(ids(buffer.offer(ev('b', 1, { a: 2 })))).toEqual([]);
    expect(ids(buffer.offer(ev('a', 2)))).toEqual([]);
    expect(buffer.waiting()).toBe(2);
    expect(buffer.gaps()).toEqual([
      { origin: 'b', nextSeq: 1, waiting: 1 },
      { origin: 'a', nextSeq: 1, waiting: 1 },
    ]);
    expect(ids(buffer.offer(ev('a', 1)))).toEqual(['a#1', 'a#2', 'b#1']);
    expect(buffer.deliveredVector()).toEqual({ a: 2, b: 1 });
  });

  it('causal-buffer - duplicates of delivered and of waiting events are dropped', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 });
    expect(ids(buffer.offer(ev('a', 1)))).toEqual(['a#1']);
    expect(ids(buffer.offer(ev('a', 1)))).toEqual([]);
    expect(ids(buffer.offer(ev('a', 3)))).toEqual([]);
    expect(ids(buffer.offer(ev('a', 3)))).toEqual([]);
    expect(buffer.waiting()).toBe(1);
    expect(ids(buffer.offer(ev('a', 2)))).toEqual(['a#2', 'a#3']);
  });

  it('causal-buffer - an origin entry in deps is implied by seq and not waited on', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 });
    expect(ids(buffer.offer(ev('a', 1, { a: 5 })))).toEqual(['a#1']);
  });

  it('causal-buffer - at the bound a waiting event is refused with BUFFER_FULL and not kept', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 2 });
    expect(ids(buffer.offer(ev('a', 2)))).toEqual([]);
    expect(ids(buffer.offer(ev('a', 3)))).toEqual([]);
    expect(buffer.offer(ev('a', 4))).toMatchObject({ ok: false, error: { code: 'BUFFER_FULL' } });
    expect(buffer.offer(ev('b', 1, { a: 1 }))).toMatchObject({ ok: false, error: { code: 'BUFFER_FULL' } });
    expect(buffer.waiting()).toBe(2);
    // A duplicate of a waiting event is still recognised, and a deliverable one still passes.
    expect(ids(buffer.offer(ev('a', 2)))).toEqual([]);
    expect(ids(buffer.offer(ev('c', 1)))).toEqual(['c#1']);
    expect(ids(buffer.offer(ev('a', 1)))).toEqual(['a#1', 'a#2', 'a#3']);
    // a#4 was not kept, so it is released only when offered again.
    expect(buffer.waiting()).toBe(0);
    expect(ids(buffer.offer(ev('a', 4)))).toEqual(['a#4']);
  });

  it('causal-buffer - advanceTo moves the frontier, drops covered waiting events and releases what it unblocks', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 });
    buffer.offer(ev('a', 2));
    buffer.offer(ev('a', 4));
    buffer.offer(ev('b', 1, { a: 4 }));
    buffer.offer(ev('c', 2));
    expect(buffer.waiting()).toBe(4);
    expect(ids(buffer.advanceTo({ a: 3 }))).toEqual(['a#4', 'b#1']);
    expect(buffer.waiting()).toBe(1);
    expect(buffer.deliveredVector()).toEqual({ a: 4, b: 1 });
    // Never backwards; events the snapshot covers count as duplicates from now on.
    expect(ids(buffer.advanceTo({ a: 1, c: 2 }))).toEqual([]);
    expect(buffer.deliveredVector()).toEqual({ a: 4, b: 1, c: 2 });
    expect(buffer.waiting()).toBe(0);
    expect(ids(buffer.offer(ev('a', 3)))).toEqual([]);
  });

  it('causal-buffer - starts from a delivered vector and records local events', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 }, { me: 2, a: 1 });
    expect(ids(buffer.offer(ev('a', 1)))).toEqual([]);
    buffer.markDelivered('me', 3);
    expect(() => buffer.markDelivered('me', 5)).toThrow(/not next/);
    expect(ids(buffer.offer(ev('b', 1, { me: 3 })))).toEqual(['b#1']);
    expect(buffer.deliveredVector()).toEqual({ me: 3, a: 1, b: 1 });
  });

  it('causal-buffer - an origin named "__proto__" is tracked like any other', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 });
    expect(ids(buffer.offer(ev('__proto__', 1)))).toEqual(['__proto__#1']);
    expect(ids(buffer.offer(ev('__proto__', 1)))).toEqual([]);
    expect(ids(buffer.offer(ev('b', 1, JSON.parse('{"__proto__":2}'))))).toEqual([]);
    expect(ids(buffer.offer(ev('__proto__', 2)))).toEqual(['__proto__#2', 'b#1']);
  });

  it('causal-buffer - missing names what waiting events truly lack, not origins whose next event already waits', () => {
    const buffer = new CausalBuffer<Ev>({ pendingMax: 10 });
    // a#2 waits for a#1 (missing); b#1 is here but waits for c#1 (missing): ask a and c, not b.
    buffer.offer(ev('a', 2));
    buffer.offer(ev('b', 1, { c: 1 }));
    expect(buffer.missing().sort((x, y) => (x.origin < y.origin ? -1 : 1))).toEqual([
      { origin: 'a', nextSeq: 1 },
      { origin: 'c', nextSeq: 1 },
    ]);
    // c#1 waits for d#1: c's own entry now names d, and nothing for c.
    buffer.offer(ev('c', 1, { d: 1 }));
    expect(buffer.missing().map((m) => m.origin).sort()).toEqual(['a', 'd']);
    expect(ids(buffer.offer(ev('d', 1)))).toEqual(['d#1', 'c#1', 'b#1']);
    expect(buffer.missing()).toEqual([{ origin: 'a', nextSeq: 1 }]);
  });
});
