import { isPurgeGap, judgeStream, type StreamObservation } from './stream-verdict';
import { StallWatchdog } from './stall-watchdog';

const look = (o: Partial<StreamObservation> & { first?: number; last?: number; created?: string }): StreamObservation => ({
  info: { firstSeq: o.first ?? 1, lastSeq: o.last ?? 10, created: o.created ?? 'c1', replicas: 1 },
  knownCreated: 'knownCreated' in o ? o.knownCreated : 'c1',
  consumedBefore: o.consumedBefore ?? 10,
  consumedAfter: o.consumedAfter ?? o.consumedBefore ?? 10,
  stalled: o.stalled ?? false,
  rejoining: o.rejoining ?? false,
});

describe('stream rules', () => {
  test('stream rules - a healthy stream needs nothing', () => {
    expect(judgeStream(look({}))).toEqual({ kind: 'ok' });
    expect(judgeStream(look({ last: 50, consumedBefore: 20 }))).toEqual({ kind: 'ok' });
  });

  test('stream rules - a recreated stream is read again from its first message', () => {
    expect(judgeStream(look({ created: 'c2', first: 0, last: 0 }))).toEqual({ kind: 'recreated', fromSeq: 1 });
    expect(judgeStream(look({ created: 'c2', first: 3, last: 9 }))).toEqual({ kind: 'recreated', fromSeq: 3 });
    // The first look at a stream only learns its creation.
    expect(judgeStream(look({ created: 'c2', knownCreated: undefined }))).toEqual({ kind: 'ok' });
  });

  test('stream rules - a stream shorter than what was consumed is read again from its first message, not its new end', () => {
    // Seed 5271: a tail loss or a re-creation seen by a replica that was down; the numbers past the new end name other messages.
    expect(judgeStream(look({ first: 4, last: 7, consumedBefore: 9 }))).toEqual({ kind: 'shorter', fromSeq: 4 });
    expect(judgeStream(look({ first: 0, last: 0, consumedBefore: 9 }))).toEqual({ kind: 'shorter', fromSeq: 1 });
  });

  test('stream rules - the shorter test uses the position read before asking (the consumer moves on meanwhile)', () => {
    expect(judgeStream(look({ last: 12, consumedBefore: 10, consumedAfter: 15 }))).toEqual({ kind: 'ok' });
  });

  test('stream rules - a stalled consumer is restarted after the position', () => {
    expect(judgeStream(look({ last: 20, consumedBefore: 10, stalled: true }))).toEqual({ kind: 'stalled', fromSeq: 11 });
  });

  test('stream rules - a stream purged past the position means re-join, once', () => {
    expect(judgeStream(look({ first: 30, last: 40, consumedBefore: 10 }))).toEqual({ kind: 'purged-past', firstSeq: 30 });
    expect(judgeStream(look({ first: 30, last: 40, consumedBefore: 10, rejoining: true }))).toEqual({ kind: 'ok' });
    // Purged exactly up to the position: nothing was missed.
    expect(judgeStream(look({ first: 11, last: 40, consumedBefore: 10 }))).toEqual({ kind: 'ok' });
  });

  test('stream rules - the purged-past test also uses the position read after the answer', () => {
    // Read before the core started (0), the position would look purged past.
    expect(judgeStream(look({ first: 30, last: 40, consumedBefore: 0, consumedAfter: 35 }))).toEqual({ kind: 'ok' });
  });

  test('stream rules - a purge gap is a first message past the one asked for and past what was consumed', () => {
    expect(isPurgeGap(11, 30, 10)).toBe(true);
    expect(isPurgeGap(11, 11, 10)).toBe(false);
    // Asking for 1 means "whatever the stream still has".
    expect(isPurgeGap(1, 30, 0)).toBe(false);
    // The core already has what lies between (a re-read after a full causal buffer).
    expect(isPurgeGap(5, 12, 11)).toBe(false);
  });
});

describe('stall watchdog', () => {
  test('stall watchdog - fires once the position stood still for stallMs with more in the stream, then re-arms', () => {
    const w = new StallWatchdog(3_000);
    expect(w.observe(10, 20, 0, 0)).toBe(false);
    expect(w.observe(10, 20, 0, 2_999)).toBe(false);
    expect(w.observe(10, 20, 0, 3_000)).toBe(true);
    expect(w.observe(10, 20, 0, 4_000)).toBe(false);
    expect(w.observe(10, 20, 0, 6_000)).toBe(true);
  });

  test('stall watchdog - a moving position, an idle stream or a consumer waiting for the disk is not stalled', () => {
    const w = new StallWatchdog(3_000);
    expect(w.observe(10, 20, 0, 0)).toBe(false);
    expect(w.observe(11, 20, 0, 5_000)).toBe(false);
    expect(w.observe(11, 11, 0, 10_000)).toBe(false);
    expect(w.observe(11, 20, 0, 10_001)).toBe(false);
    expect(w.observe(11, 20, 5, 20_000)).toBe(false);
    expect(w.observe(11, 20, 0, 20_001)).toBe(false);
  });

  test('stall watchdog - a clock that went back re-arms instead of firing', () => {
    const w = new StallWatchdog(3_000);
    expect(w.observe(10, 20, 0, 10_000)).toBe(false);
    expect(w.observe(10, 20, 0, 1_000)).toBe(false);
    expect(w.observe(10, 20, 0, 3_999)).toBe(false);
    expect(w.observe(10, 20, 0, 4_000)).toBe(true);
  });
});
