import fc from 'fast-check';
import { canonicalJson, type Json } from '#crdt';
import { KeySpace, type EncodedKey } from './key-space';
import { EVENT_VERSION, type ReplicatedEvent } from './replicated-event';

/** What a test does to a key space, one step at a time. */
type Step =
  | { kind: 'write'; key: number; replica: number; command: number; arg: number }
  | { kind: 'digest' }
  | { kind: 'refresh' }
  | { kind: 'snapshot' }
  | { kind: 'restart' }
  | { kind: 'join' };

const KEYS = ['a', 'b', 'c', 'd', 'e\u{1F600}', '\uE000'];
const REPLICAS = ['r1', 'r2', 'r3'];
const TYPES = ['pn-counter', 'or-set', 'lww-set', 'text'] as const;

/** The command of a write step for the key's type (deterministic in the step). */
function commandFor(type: (typeof TYPES)[number], command: number, arg: number, ks: KeySpace, key: string): Json {
  switch (type) {
    case 'pn-counter':
      return { type: command % 2 === 0 ? 'increment' : 'decrement', by: 1 + (arg % 5) };
    case 'or-set':
    case 'lww-set':
      return { type: command % 3 === 2 ? 'remove' : 'add', value: `v${arg % 4}` };
    case 'text': {
      const v = ks.get(key);
      const length = v ? (v.impl.value(v.state) as string).length : 0;
      if (command % 3 === 2 && length > 0) return { type: 'delete', index: arg % length };
      return { type: 'insert', index: length === 0 ? 0 : arg % (length + 1), text: `x${arg % 10}` };
    }
  }
}

/**
 * Runs steps on a key space the way a replica does (prepare at the origin, apply), with
 * a model of the store's snapshot that takes the deltas `compactChanged` returns, and a
 * restart that reloads from that model. Checks after every step.
 */
function run(steps: Step[], check: (ks: KeySpace, stored: Map<string, Json>) => void): void {
  let ks = new KeySpace();
  const stored = new Map<string, Json>();
  const terms = new Map<string, Uint8Array>();
  const seqs = new Map<string, number>();
  let time = 1;
  for (const step of steps) {
    if (step.kind === 'write') {
      const key = KEYS[step.key % KEYS.length];
      const replica = REPLICAS[step.replica % REPLICAS.length];
      // One type per key, so that writes are valid; the key's index picks it.
      const type = TYPES[step.key % TYPES.length];
      const command = commandFor(type, step.command, step.arg, ks, key);
      const p = ks.prepare(key, type, null, [command], { replica, time });
      if (p.ok) {
        const seq = (seqs.get(replica) ?? 0) + 1;
        seqs.set(replica, seq);
        const event: ReplicatedEvent = { v: EVENT_VERSION, origin: replica, seq, time, deps: {}, key, type, options: p.value.options, ops: p.value.ops };
        expect(ks.apply(event)).toEqual({ ok: true });
      }
      time += 2;
    } else if (step.kind === 'digest') {
      ks.digest();
    } else if (step.kind === 'refresh') {
      ks.refreshStale(2);
    } else if (step.kind === 'snapshot') {
      for (const [k, enc, term] of ks.compactChanged()) {
        stored.set(k, enc);
        terms.set(k, term!);
      }
    } else {
      // A restart loads the store's snapshot (events after it are replayed in a real restart;
      // here the snapshot is taken right before, so there are none), with the digest terms
      // the store kept.
      for (const [k, enc, term] of ks.compactChanged()) {
        stored.set(k, enc);
        terms.set(k, term!);
      }
      ks = new KeySpace();
      // A restart has the terms the store kept; a join has none, and hands each encoding with its JSON text.
      if (step.kind === 'restart') for (const [k, enc] of stored) expect(ks.loadKey(k, enc, terms.get(k))).toBe(true);
      else for (const [k, enc] of stored) expect(ks.loadKey(k, enc, undefined, JSON.stringify(enc))).toBe(true);
    }
    check(ks, stored);
  }
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), key: fc.nat(20), replica: fc.nat(5), command: fc.nat(5), arg: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'digest' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'refresh' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'join' as const }) },
);

describe('key space', () => {
  it('digest - the incrementally kept digest equals the digest computed from scratch after any steps', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        run(steps, (ks) => expect(ks.digest()).toBe(ks.digestFromScratch()));
      }),
      { numRuns: 300 },
    );
  });

  it('digest - asked for only at the end, after writes, refreshes and loads without terms, equals the digest from scratch', () => {
    // The check above asks for the digest after every step, which finishes every background
    // walk at once; here the walks over keys loaded without terms are cut by writes, loads and
    // snapshots at any point.
    fc.assert(
      fc.property(fc.array(step.filter((s) => s.kind !== 'digest'), { maxLength: 80 }), (steps) => {
        let last: KeySpace | undefined;
        run(steps, (ks) => {
          last = ks;
        });
        if (last) expect(last.digest()).toBe(last.digestFromScratch());
      }),
      { numRuns: 300 },
    );
  });

  it('snapshot deltas - the store snapshot plus the deltas equals the whole key space after every snapshot', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        run(steps, (ks, stored) => {
          if (ks.changedCount > 0) return;
          const whole = [...ks.encodedKeys()].map(([k, enc]) => [k, canonicalJson(enc)]);
          const fromStore = [...stored].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, enc]) => [k, canonicalJson(enc)]);
          expect(fromStore).toEqual(whole);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('digest - equal states give equal digests whatever order keys were written, loaded and refreshed in', () => {
    const a = new KeySpace();
    const b = new KeySpace();
    const events: ReplicatedEvent[] = KEYS.map((key, i) => ({ v: EVENT_VERSION, origin: 'r1', seq: i + 1, time: 10 + i, deps: {}, key, type: 'pn-counter', options: null, ops: [{ type: 'increment', replica: 'r1', total: i + 1 }] }));
    for (const e of events) expect(a.apply(e)).toEqual({ ok: true });
    a.digest(); // refreshed early on `a`, at the end on `b`
    for (const e of [...events].reverse()) expect(b.apply(e)).toEqual({ ok: true });
    expect(a.digest()).toBe(b.digest());
    // Loading the encodings into a third key space in another order gives the same digest.
    const c = new KeySpace();
    const encoded: Array<[string, Json]> = [...a.encodedKeys()];
    for (const [k, enc] of encoded.reverse()) expect(c.loadKey(k, enc)).toBe(true);
    expect(c.digest()).toBe(a.digest());
    expect(c.changedCount).toBe(0);
  });

  it('digest - a different state gives a different digest, and per-key digests name the key that differs', () => {
    const a = new KeySpace();
    const b = new KeySpace();
    const inc = (key: string, total: number): ReplicatedEvent => ({ v: EVENT_VERSION, origin: 'r1', seq: total, time: total, deps: {}, key, type: 'pn-counter', options: null, ops: [{ type: 'increment', replica: 'r1', total }] });
    a.apply(inc('x', 1));
    a.apply(inc('y', 2));
    b.apply(inc('x', 1));
    b.apply(inc('y', 3));
    expect(a.digest()).not.toBe(b.digest());
    const da = a.digestsByKey();
    const db = b.digestsByKey();
    expect(Object.keys(da)).toEqual(['x', 'y']);
    expect(da.x).toBe(db.x);
    expect(da.y).not.toBe(db.y);
  });

  it('compaction - only keys changed since the last snapshot are compacted and written', () => {
    const ks = new KeySpace();
    const ev = (seq: number, key: string): ReplicatedEvent => ({ v: EVENT_VERSION, origin: 'r1', seq, time: seq, deps: {}, key, type: 'pn-counter', options: null, ops: [{ type: 'increment', replica: 'r1', total: seq }] });
    ks.apply(ev(1, 'a'));
    ks.apply(ev(2, 'b'));
    expect(ks.compactChanged().map(([k]) => k)).toEqual(['a', 'b']);
    expect(ks.compactChanged()).toEqual([]);
    ks.apply(ev(3, 'b'));
    const [[key, encoded, term]] = ks.compactChanged();
    expect([key, encoded]).toEqual(['b', [{ type: 'pn-counter', options: null, createdTime: 2, createdBy: 'r1', state: { n: {}, p: { r1: 3 } } }]]);
    expect(Buffer.from(term!).toString('hex')).toBe(ks.digestsByKey().b);
  });

  it('load - loadKeys loads a whole snapshot as loadKey does key by key, and names the first key that does not decode', () => {
    const a = new KeySpace();
    for (let i = 1; i <= 5; i++) a.apply({ v: EVENT_VERSION, origin: 'r1', seq: i, time: i, deps: {}, key: `k${i}`, type: 'pn-counter', options: null, ops: [{ type: 'increment', replica: 'r1', total: i }] });
    a.apply({ v: EVENT_VERSION, origin: 'r1', seq: 6, time: 6, deps: { r1: 5 }, key: 'k2', type: 'pn-counter', options: null, ops: [], delete: true });
    const delta = a.compactChanged().filter(([, enc]) => enc !== null);
    // k2 was deleted: its row stays, hidden (the counter's state later ops may name), and reads as absent.
    expect(delta.map(([k]) => k)).toContain('k2');
    const oneByOne = new KeySpace();
    for (const [k, enc, term] of delta) expect(oneByOne.loadKey(k, enc, term)).toBe(true);
    // As parsed encodings with their texts (a join), and as texts alone (a restart's load).
    const joined = new KeySpace();
    expect(joined.loadKeys(delta.map(([k, enc]) => [k, enc]), delta.map(([, enc]) => JSON.stringify(enc)))).toBeUndefined();
    const restarted = new KeySpace();
    expect(restarted.loadKeys(delta.map(([k, enc, term]) => [k, JSON.stringify(enc), term]))).toBeUndefined();
    for (const ks of [joined, restarted]) {
      expect(ks.size).toBe(oneByOne.size);
      expect(ks.get('k2')).toBeUndefined();
      expect(ks.get('k3')?.type).toBe('pn-counter');
      expect(ks.digest()).toBe(a.digest());
      expect(ks.list('', 10)).toEqual(oneByOne.list('', 10));
      expect([...ks.encodedKeys()]).toEqual([...oneByOne.encodedKeys()]);
    }
    const broken = new KeySpace();
    const keys: Array<[string, Json]> = [['a', delta[0][1]], ['b', [{ type: 'pn-counter' }]], ['c', delta[1][1]]];
    expect(broken.loadKeys(keys)).toBe('b');
    expect(broken.size).toBe(1);
    expect(broken.loadKeys([['x', 'not json']])).toBe('x');
  });

  it('digest terms - a load with the terms a snapshot kept has the digest ready; a wrong term is put right in the background', () => {
    const a = new KeySpace();
    for (let i = 1; i <= 5; i++) a.apply({ v: EVENT_VERSION, origin: 'r1', seq: i, time: i, deps: {}, key: `k${i}`, type: 'pn-counter', options: null, ops: [{ type: 'increment', replica: 'r1', total: i }] });
    const delta = a.compactChanged();
    const digest = a.digest();

    const withTerms = new KeySpace();
    for (const [k, enc, term] of delta) expect(withTerms.loadKey(k, enc, term)).toBe(true);
    // Nothing stale: the digest comes from the loaded terms, and matches a computation from scratch.
    expect(withTerms.refreshStale(0)).toBe(0);
    expect(withTerms.digest()).toBe(digest);
    expect(withTerms.digestFromScratch()).toBe(digest);

    // A term that does not match its key (another version of the code wrote it, say) is
    // used until the background check reaches it, then replaced by the right one.
    const wrong = new KeySpace();
    for (const [k, enc, term] of delta) expect(wrong.loadKey(k, enc, k === 'k3' ? new Uint8Array(32).fill(7) : term)).toBe(true);
    expect(wrong.digest()).not.toBe(digest);
    while (wrong.refreshStale(2) > 0 || wrong.digest() !== digest) {
      // at most a few steps: five keys, two per step
      if (wrong.digestsByKey().k3 === a.digestsByKey().k3) break;
    }
    expect(wrong.digest()).toBe(digest);

    // A term of the wrong size is ignored (the key is hashed as without one).
    const short = new KeySpace();
    for (const [k, enc] of delta) expect(short.loadKey(k, enc, new Uint8Array(3))).toBe(true);
    expect(short.digest()).toBe(digest);
  });

  it('compaction - a losing variant is dropped at the next snapshot and the digest follows', () => {
    const ks = new KeySpace();
    ks.apply({ v: EVENT_VERSION, origin: 'r1', seq: 1, time: 5, deps: {}, key: 'k', type: 'pn-counter', options: null, ops: [] });
    ks.apply({ v: EVENT_VERSION, origin: 'r2', seq: 1, time: 7, deps: {}, key: 'k', type: 'or-set', options: null, ops: [] });
    expect(ks.encodeKey('k')).toHaveLength(2);
    const before = ks.digest();
    const [[, enc]] = ks.compactChanged();
    expect(enc).toHaveLength(1);
    expect(ks.get('k')!.type).toBe('pn-counter');
    expect(ks.digest()).not.toBe(before);
    expect(ks.digest()).toBe(ks.digestFromScratch());
  });

  it('snapshot deltas - keys handed back after a failed write are in the next delta', () => {
    const ks = new KeySpace();
    ks.apply({ v: EVENT_VERSION, origin: 'r1', seq: 1, time: 1, deps: {}, key: 'a', type: 'pn-counter', options: null, ops: [] });
    const delta = ks.compactChanged();
    ks.unwriteChanged(delta);
    expect(ks.compactChanged().map(([k]) => k)).toEqual(['a']);
  });
});
