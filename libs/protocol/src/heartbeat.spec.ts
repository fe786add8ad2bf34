import { isPeerHeartbeat, parseHeartbeat, parseResendRequest, type Heartbeat } from './heartbeat';

const beat: Heartbeat = { v: 1, replica: 'r1', mode: 'Work', applied: { r1: 2 }, opLogLength: 2, outboxDepth: 0, streamSeq: 5, keys: 1, epoch: 1, round: 3, sentMs: 10 };

describe('heartbeat', () => {
  it('heartbeat - a well-formed heartbeat parses as it is', () => {
    expect(parseHeartbeat(JSON.parse(JSON.stringify(beat)))).toEqual(beat);
  });

  it('heartbeat - a wrong version, mode or count is refused', () => {
    expect(parseHeartbeat({ ...beat, v: 2 })).toBeUndefined();
    expect(parseHeartbeat({ ...beat, mode: 'Sleeping' })).toBeUndefined();
    expect(parseHeartbeat({ ...beat, keys: -1 })).toBeUndefined();
    expect(parseHeartbeat({ ...beat, applied: { r1: 'x' } })).toBeUndefined();
  });

  it('heartbeat - a peer heartbeat needs only a replica id and an applied vector', () => {
    expect(isPeerHeartbeat({ replica: 'r2', applied: {} })).toBe(true);
    expect(isPeerHeartbeat({ replica: '', applied: {} })).toBe(false);
    expect(isPeerHeartbeat({ replica: 'r2' })).toBe(false);
  });

  it('heartbeat - a resend request names a positive seq', () => {
    expect(parseResendRequest({ fromSeq: 1 })).toEqual({ fromSeq: 1 });
    expect(parseResendRequest({ fromSeq: 0 })).toBeUndefined();
    expect(parseResendRequest({ fromSeq: 1.5 })).toBeUndefined();
  });
});
