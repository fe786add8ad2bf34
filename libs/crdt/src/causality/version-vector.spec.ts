import * as fc from 'fast-check';
import { canonicalJson } from '../encoding/canonical-json';
import { isVersionVector, vvAdd, vvCompare, vvContains, vvEncode, vvGet, vvLeq, vvMerge, vvSet, type VersionVector } from './version-vector';

// "__proto__" is in the pool on purpose: a replica of that name once vanished from merges.
const replica = fc.constantFrom('a', 'b', 'c', 'd', '__proto__');
const vv: fc.Arbitrary<VersionVector> = fc
  .array(fc.tuple(replica, fc.nat({ max: 5 })), { maxLength: 6 })
  .map((entries) => {
    const out: VersionVector = {};
    for (const [r, n] of entries) vvSet(out, r, n);
    return out;
  });
/** Equality as vectors: absent entries count as 0. */
const same = (a: VersionVector, b: VersionVector) => canonicalJson(vvEncode(a)) === canonicalJson(vvEncode(b));

describe('version-vector', () => {
  it('version-vector - compare tells before, after, equal and concurrent', () => {
    expect(vvCompare({ a: 1 }, { a: 2 })).toBe('before');
    expect(vvCompare({ a: 1 }, { a: 1, b: 1 })).toBe('before');
    expect(vvCompare({}, { b: 3 })).toBe('before');
    expect(vvCompare({ a: 2, b: 1 }, { a: 1 })).toBe('after');
    expect(vvCompare({ a: 1 }, { a: 1 })).toBe('equal');
    expect(vvCompare({ a: 1, b: 0 }, { a: 1 })).toBe('equal');
    expect(vvCompare({}, { a: 0 })).toBe('equal');
    expect(vvCompare({ a: 1 }, { b: 1 })).toBe('concurrent');
    expect(vvCompare({ a: 2, b: 1 }, { a: 1, b: 2 })).toBe('concurrent');
  });

  it('version-vector - compare is antisymmetric and agrees with leq', () => {
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
    fc.assert(
      fc.property(vv, vv, (a, b) => {
        const o = vvCompare(a, b);
        expect(vvCompare(b, a)).toBe(flip[o]);
        expect(vvLeq(a, b)).toBe(o === 'before' || o === 'equal');
        expect(o === 'equal').toBe(same(a, b));
      }),
      { numRuns: 300 },
    );
  });

  it('version-vector - merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(vv, vv, vv, (a, b, c) => {
        expect(same(vvMerge(a, b), vvMerge(b, a))).toBe(true);
        expect(same(vvMerge(vvMerge(a, b), c), vvMerge(a, vvMerge(b, c)))).toBe(true);
        expect(same(vvMerge(a, a), a)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('version-vector - merge is the least upper bound and leaves its inputs alone', () => {
    fc.assert(
      fc.property(vv, vv, vv, (a, b, c) => {
        const before = [canonicalJson(a), canonicalJson(b)];
        const m = vvMerge(a, b);
        expect([canonicalJson(a), canonicalJson(b)]).toEqual(before);
        expect(vvLeq(a, m) && vvLeq(b, m)).toBe(true);
        if (vvLeq(a, c) && vvLeq(b, c)) expect(vvLeq(m, c)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('version-vector - a replica named "__proto__" survives merge, add and encode', () => {
    const p = JSON.parse('{"__proto__":2}') as VersionVector;
    expect(vvGet(vvMerge({}, p), '__proto__')).toBe(2);
    const v: VersionVector = {};
    vvAdd(v, { replica: '__proto__', counter: 3 });
    expect(vvGet(v, '__proto__')).toBe(3);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(canonicalJson(vvEncode(v))).toBe('{"__proto__":3}');
  });

  it('version-vector - get, contains and add', () => {
    const v: VersionVector = { a: 2 };
    expect(vvGet(v, 'a')).toBe(2);
    expect(vvGet(v, 'b')).toBe(0);
    expect(vvGet(v, 'toString')).toBe(0);
    expect(vvContains(v, { replica: 'a', counter: 2 })).toBe(true);
    expect(vvContains(v, { replica: 'a', counter: 3 })).toBe(false);
    vvAdd(v, { replica: 'a', counter: 1 });
    expect(v.a).toBe(2);
    vvAdd(v, { replica: 'b', counter: 4 });
    expect(v).toEqual({ a: 2, b: 4 });
  });

  it('version-vector - encode drops zeros and sorts keys', () => {
    expect(canonicalJson(vvEncode({ c: 1, a: 0, b: 2 }))).toBe('{"b":2,"c":1}');
    expect(JSON.stringify(vvEncode({ c: 1, b: 2 }))).toBe('{"b":2,"c":1}');
  });

  it('version-vector - isVersionVector rejects anything but replica → natural number', () => {
    expect(isVersionVector({})).toBe(true);
    expect(isVersionVector({ a: 0, b: 3 })).toBe(true);
    for (const bad of [null, [], 'x', { a: -1 }, { a: 1.5 }, { a: '1' }, { a: NaN }, { a: 2 ** 53 }, { '': 1 }]) expect(isVersionVector(bad)).toBe(false);
  });
});
