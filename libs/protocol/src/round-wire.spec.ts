import { parseResendRequest } from './heartbeat';
import { roundReplyFields } from './round-messages';

describe('anti-entropy and round-chain wire fields', () => {
  it('reads a resend request with and without the origin whose events are missing', () => {
    expect(parseResendRequest({ fromSeq: 4 })).toEqual({ fromSeq: 4 });
    expect(parseResendRequest({ fromSeq: 4, origin: 'r3' })).toEqual({ fromSeq: 4, origin: 'r3' });
  });

  it('refuses a resend request with a bad seq or a malformed origin', () => {
    expect(parseResendRequest({ fromSeq: 0 })).toBeUndefined();
    expect(parseResendRequest({ fromSeq: 2, origin: '' })).toBeUndefined();
    expect(parseResendRequest({ fromSeq: 2, origin: 7 })).toBeUndefined();
  });

  it('reads the committed round of a freeze reply, absent from replicas that predate it', () => {
    expect(roundReplyFields('freeze', { published: 3, applied: { r1: 3 } })).toEqual({ published: 3, applied: { r1: 3 } });
    expect(roundReplyFields('freeze', { published: 3, applied: { r1: 3 }, committed: { epoch: 2, round: 5 } })).toEqual({
      published: 3,
      applied: { r1: 3 },
      committed: { epoch: 2, round: 5 },
    });
    expect(roundReplyFields('freeze', { published: 3, applied: { r1: 3 }, committed: { epoch: 'x' } })).toBeUndefined();
  });
});
