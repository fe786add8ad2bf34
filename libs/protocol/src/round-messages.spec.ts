import { compareRounds, parseCommit, parseCut, parseFreeze, parseResume, parseRoundId, roundReplyFields } from './round-messages';

describe('round messages', () => {
  it('round messages - round ids order by epoch first, then round', () => {
    expect(compareRounds({ epoch: 2, round: 1 }, { epoch: 1, round: 9 })).toBeGreaterThan(0);
    expect(compareRounds({ epoch: 1, round: 3 }, { epoch: 1, round: 4 })).toBeLessThan(0);
    expect(compareRounds({ epoch: 1, round: 3 }, { epoch: 1, round: 3 })).toBe(0);
  });

  it('round messages - a round id needs two natural numbers', () => {
    expect(parseRoundId({ epoch: 1, round: 0 })).toEqual({ epoch: 1, round: 0 });
    expect(parseRoundId({ epoch: -1, round: 0 })).toBeUndefined();
    expect(parseRoundId({ epoch: 1 })).toBeUndefined();
    expect(parseRoundId(null)).toBeUndefined();
  });

  it('round messages - freeze takes a lease, 5 s when none is named', () => {
    expect(parseFreeze({ epoch: 1, round: 2, leaseMs: 800 })).toEqual({ ok: true, request: { epoch: 1, round: 2, leaseMs: 800 } });
    expect(parseFreeze({ epoch: 1, round: 2 })).toEqual({ ok: true, request: { epoch: 1, round: 2, leaseMs: 5_000 } });
    expect(parseFreeze({ round: 2 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('round messages - cut needs a version vector; commit keeps only a string publisher; resume reads committed', () => {
    expect(parseCut({ epoch: 1, round: 2, cut: { r1: 3 } })).toEqual({ ok: true, request: { epoch: 1, round: 2, cut: { r1: 3 } } });
    expect(parseCut({ epoch: 1, round: 2, cut: { r1: -3 } })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(parseCommit({ epoch: 1, round: 2, publisher: 'r1', leaseMs: 10 })).toEqual({ ok: true, request: { epoch: 1, round: 2, publisher: 'r1', leaseMs: 10 } });
    expect(parseCommit({ epoch: 1, round: 2, publisher: 7 })).toEqual({ ok: true, request: { epoch: 1, round: 2 } });
    expect(parseResume({ epoch: 1, round: 2, committed: true })).toEqual({ ok: true, request: { epoch: 1, round: 2, committed: true } });
    expect(parseResume({ epoch: 1, round: 2, committed: 'yes' })).toEqual({ ok: true, request: { epoch: 1, round: 2, committed: false } });
  });

  it('round messages - reply fields are read per phase, and missing ones give undefined', () => {
    expect(roundReplyFields('freeze', { ok: true, published: 3, applied: { r1: 3 } })).toEqual({ published: 3, applied: { r1: 3 } });
    expect(roundReplyFields('cut', { ok: true, applied: {} })).toBeUndefined();
    expect(roundReplyFields('commit', { streamSeq: 9, keys: 2 })).toEqual({ streamSeq: 9, keys: 2 });
    expect(roundReplyFields('digests', { digests: { a: 'x', b: 3 } })).toBeUndefined();
  });
});
