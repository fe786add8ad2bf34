import { ClockSkewGuard } from './clock-skew-guard';

const LIMITS = { clockOffsetMaxMs: 500, clockOffsetHardMaxMs: 60_000, clockJumpMaxMs: 2_000, clockConfirmWaitMs: 60_000, peerTimeoutMs: 1_500 };
const T = 1_700_000_000_000;

/** Peers beating every 200 ms with the given offsets (their clock minus ours) and a small delay. */
function beats(g: ClockSkewGuard, from: number, to: number, offsets: Record<string, number>, delayMs = 3): void {
  for (let t = from; t <= to; t += 200) for (const [peer, off] of Object.entries(offsets)) g.heard(peer, t - delayMs + off, t);
}

/** Heartbeats of peers b and c from `from` to `to` (every 200 ms), each saying its own clock step is unconfirmed. */
function unconfirmedBeats(g: ClockSkewGuard, from: number, to: number): void {
  for (let t = from; t <= to; t += 200) for (const p of ['b', 'c']) g.heard(p, t - 3, t, true);
}

describe('clock skew guard', () => {
  test('clock skew guard - clocks within the bound take writes', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    beats(g, T, T + 1_000, { a: 300, b: -400 });
    expect(g.refusal(T + 1_000, T + 1_000)).toBeUndefined();
  });

  test('clock skew guard - a replica off from a majority of live peers refuses writes until back in range', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    beats(g, T, T + 1_000, { a: -5_000, b: -5_010 });
    expect(g.refusal(T + 1_000, T + 1_000)).toMatch(/off from 2 of 2 live peers/);
    // Its clock is corrected (a step back of 5 s): after one fresh heartbeat the peers agree again.
    const back = T + 1_200 - 5_000;
    expect(g.refusal(back, back)).toMatch(/not yet confirmed/);
    beats(g, back, back + 400, { a: 0, b: -10 });
    expect(g.refusal(back + 400, back + 400)).toBeUndefined();
  });

  test('clock skew guard - one peer off among three does not stop this replica', () => {
    const g = new ClockSkewGuard(LIMITS);
    beats(g, T, T + 1_000, { a: 0, b: 10, c: 90_000 });
    expect(g.refusal(T + 1_000, T + 1_000)).toBeUndefined();
  });

  test('clock skew guard - network delay never reads as skew (the least delayed sample counts)', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.heard('a', T - 5, T);
    g.heard('a', T + 200 - 900, T + 200); // one heartbeat delayed by 900 ms
    expect(g.refusal(T + 200, T + 200)).toBeUndefined();
  });

  test('clock skew guard - a jump of the wall clock with live peers stops writes until a peer confirms', () => {
    const g = new ClockSkewGuard(LIMITS);
    beats(g, T, T + 1_000, { a: 0, b: 0 });
    const jumped = T + 1_100 + 3_600_000;
    expect(g.refusal(jumped, jumped)).toMatch(/stepped by more than 2000 ms/);
    // The next heartbeats show the peers an hour behind: still refused, for the right reason.
    beats(g, jumped + 100, jumped + 300, { a: -3_600_000, b: -3_600_000 });
    expect(g.refusal(jumped + 300, jumped + 300)).toMatch(/off from 2 of 2/);
  });

  test('clock skew guard - a heartbeat that disagrees with a jumped clock does not confirm it: once that peer goes silent, writes still wait (seed 5624)', () => {
    const g = new ClockSkewGuard(LIMITS);
    beats(g, T, T + 1_000, { a: 0, b: 0 });
    const jumped = T + 1_100 + 315_360_000_000;
    g.read(jumped);
    beats(g, jumped + 100, jumped + 100, { a: -315_360_000_000 });
    expect(g.refusal(jumped + 100, jumped + 100)).toMatch(/off from 1 of 1/);
    // The peer is cut off: no live peer says anything, and the jump is still unconfirmed.
    expect(g.refusal(jumped + 5_000, jumped + 5_000)).toMatch(/not yet confirmed/);
    // A heartbeat that agrees confirms it.
    beats(g, jumped + 5_000, jumped + 5_000, { b: 0 });
    expect(g.refusal(jumped + 5_000, jumped + 5_000)).toBeUndefined();
  });

  test('clock skew guard - a lone replica is never stopped; one cut off from its peers after a jump waits at most clockConfirmWaitMs', () => {
    const lone = new ClockSkewGuard(LIMITS);
    lone.begin(T, false);
    expect(lone.refusal(T + 60_000, T + 60_000)).toBeUndefined();
    expect(lone.refusal(T + 3_600_000, T + 3_600_000)).toBeUndefined();
    const g = new ClockSkewGuard(LIMITS);
    beats(g, T, T + 400, { a: 0 });
    const jumped = T + 10_000;
    expect(g.refusal(jumped, jumped)).toBeDefined();
    // No heartbeat comes (a partition); the core reads the clock every tick: still refused well past peerTimeoutMs ...
    const ticks = (from: number, to: number) => {
      for (let t = from; t <= to; t += 100) g.read(t);
    };
    ticks(jumped, jumped + 1_500);
    expect(g.refusal(jumped + 1_500, jumped + 1_500)).toBeDefined();
    ticks(jumped + 1_500, jumped + 59_900);
    expect(g.refusal(jumped + 59_999, jumped + 59_999)).toBeDefined();
    // ... and trusted again after clockConfirmWaitMs.
    expect(g.refusal(jumped + 60_000, jumped + 60_000)).toBeUndefined();
  });

  test('clock skew guard - a start with peers expected, then a jump before any heartbeat, still waits for one', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    const jumped = T + 10 * 365 * 24 * 3_600_000;
    expect(g.refusal(jumped, jumped)).toMatch(/not yet confirmed/);
    expect(g.refusal(jumped + 2_000, jumped + 2_000)).toMatch(/not yet confirmed/);
  });

  test('clock skew guard - a replica that has had peers waits for a heartbeat after a start', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    expect(g.refusal(T + 10, T + 10)).toMatch(/not yet confirmed/);
    g.heard('a', T + 20, T + 20);
    expect(g.refusal(T + 20, T + 20)).toBeUndefined();
  });

  test('clock skew guard - an HLC ahead of the wall clock by more than the bound refuses writes (the clock went back)', () => {
    const g = new ClockSkewGuard(LIMITS);
    expect(g.refusal(T, T + 501)).toMatch(/behind the times of events it has applied/);
    expect(g.refusal(T, T + 500)).toBeUndefined();
  });

  test('clock skew guard - a peer whose clock stepped alike neither confirms this step nor outvotes a trusted peer (seed 272)', () => {
    const TEN_YEARS_MS = 315_360_000_000;
    // Three replicas; a (here) and b both jump ten years ahead, c keeps the right time.
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    beats(g, T, T + 1_000, { b: 0, c: 0 });
    expect(g.refusal(T + 1_000, T + 1_000)).toBeUndefined();
    const jumped = T + 1_100 + TEN_YEARS_MS;
    g.read(jumped);
    expect(g.stepUnconfirmed(jumped)).toBe(true);
    // b stepped alike and says so: its agreeing heartbeat does not confirm this clock.
    g.heard('b', jumped + 50, jumped + 50, true);
    expect(g.refusal(jumped + 50, jumped + 50)).toMatch(/not yet confirmed/);
    // c's heartbeats disagree; b's clock is no vote while c's is trusted, so one of one live peers disagrees.
    for (let t = jumped + 100; t <= jumped + 3_000; t += 200) {
      g.heard('b', t - 3, t, true);
      g.heard('c', t - 3 - TEN_YEARS_MS, t);
    }
    expect(g.refusal(jumped + 3_000, jumped + 3_000)).toMatch(/off from 1 of 1 live peers/);
    expect(g.stepUnconfirmed(jumped + 3_000)).toBe(true);
    // Without the flag (the old rule), b's agreement would have made it one of two: writes allowed.
    const old = new ClockSkewGuard(LIMITS);
    old.heard('b', T - 3, T);
    old.heard('c', T - 3 - TEN_YEARS_MS, T);
    expect(old.refusal(T, T)).toBeUndefined();
  });

  test('clock skew guard - when every live peer stepped too and agrees, the step is confirmed after peerTimeoutMs (a corrected time source)', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    beats(g, T, T + 1_000, { b: 0, c: 0 });
    const stepped = T + 1_100 + 5_000;
    g.read(stepped);
    unconfirmedBeats(g, stepped + 100, stepped + 1_300);
    expect(g.refusal(stepped + 1_400, stepped + 1_400)).toMatch(/not yet confirmed/);
    unconfirmedBeats(g, stepped + 1_500, stepped + 1_700);
    expect(g.refusal(stepped + 1_700, stepped + 1_700)).toBeUndefined();
    expect(g.stepUnconfirmed(stepped + 1_700)).toBe(false);
  });

  test('clock skew guard - a start counts as a step: its heartbeats say so until a trusted peer confirms it', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    expect(g.refusal(T, T)).toMatch(/not yet confirmed/);
    expect(g.stepUnconfirmed(T)).toBe(true);
    g.heard('a', T + 17, T + 20);
    expect(g.refusal(T + 20, T + 20)).toBeUndefined();
    expect(g.stepUnconfirmed(T + 20)).toBe(false);
  });

  test('clock skew guard - a replica restarted with its clock off does not confirm a peer that jumped alike (seed 1468)', () => {
    const TEN_YEARS_MS = 315_360_000_000;
    // Three replicas: a (here) jumps ten years ahead; b restarts with its clock ten years ahead
    // (it cannot see a step); c keeps the right time.
    const b = new ClockSkewGuard(LIMITS);
    const jumpedB = T + TEN_YEARS_MS;
    b.begin(jumpedB, true);
    expect(b.stepUnconfirmed(jumpedB)).toBe(true);
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    beats(g, T, T + 1_000, { b: 0, c: 0 });
    const jumped = T + 1_100 + TEN_YEARS_MS;
    g.read(jumped);
    for (let t = jumped + 100; t <= jumped + 3_000; t += 200) {
      g.heard('b', t - 3, t, b.stepUnconfirmed(jumpedB));
      g.heard('c', t - 3 - TEN_YEARS_MS, t);
    }
    expect(g.refusal(jumped + 3_000, jumped + 3_000)).toMatch(/off from 1 of 1 live peers/);
  });

  test('clock skew guard - a whole cluster restarted at once confirms its clocks after peerTimeoutMs', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    unconfirmedBeats(g, T + 100, T + 1_300);
    expect(g.refusal(T + 1_400, T + 1_400)).toMatch(/not yet confirmed/);
    unconfirmedBeats(g, T + 1_500, T + 1_700);
    expect(g.refusal(T + 1_700, T + 1_700)).toBeUndefined();
    expect(g.stepUnconfirmed(T + 1_700)).toBe(false);
  });

  test('clock skew guard - a step beyond the hard limit is not confirmed by peers that stepped alike, only by a trusted peer or its way back (seed 3363)', () => {
    const TEN_YEARS_MS = 315_360_000_000;
    // Two live replicas of three (the third is down) jump ten years ahead together.
    const g = new ClockSkewGuard(LIMITS);
    g.begin(T, true);
    beats(g, T, T + 1_000, { b: 0 });
    const jumped = T + 1_100 + TEN_YEARS_MS;
    g.read(jumped);
    for (let t = jumped + 100; t <= jumped + 5_000; t += 200) g.heard('b', t - 3, t, true);
    expect(g.refusal(jumped + 5_000, jumped + 5_000)).toMatch(/not yet confirmed/);
    expect(g.stepUnconfirmed(jumped + 5_000)).toBe(true);
    // Both clocks come back: the steps add up to nothing, and the stepped peers confirm after peerTimeoutMs.
    const back = T + 6_300;
    g.read(back);
    for (let t = back + 100; t < back + 1_500; t += 200) g.heard('b', t - 3, t, true);
    expect(g.refusal(back + 1_400, back + 1_400)).toMatch(/not yet confirmed/);
    for (let t = back + 1_500; t <= back + 1_700; t += 200) g.heard('b', t - 3, t, true);
    expect(g.refusal(back + 1_700, back + 1_700)).toBeUndefined();
    // A trusted peer's agreeing heartbeat confirms even a far step at once.
    const far = back + 2_000 + TEN_YEARS_MS;
    g.read(far);
    expect(g.refusal(far, far)).toMatch(/not yet confirmed/);
    g.heard('c', far + 7, far + 10);
    expect(g.refusal(far + 10, far + 10)).toBeUndefined();
  });

  test('clock skew guard - the peers\' clock estimate: the median of live peers, unknown after a step until the next heartbeat', () => {
    const g = new ClockSkewGuard(LIMITS);
    expect(g.peerOffsetMs(T)).toBeUndefined();
    g.begin(T, true);
    beats(g, T, T + 1_000, { a: 100, b: 200, c: 5_000 }, 0);
    expect(g.peerOffsetMs(T + 1_000)).toBe(200);
    beats(g, T + 1_200, T + 1_200, { d: -50 }, 0);
    expect(g.peerOffsetMs(T + 1_200)).toBe(100);
    const TEN_YEARS_MS = 315_360_000_000;
    const jumped = T + 1_300 + TEN_YEARS_MS;
    g.read(jumped);
    expect(g.peerOffsetMs(jumped)).toBeUndefined();
    g.heard('a', T + 1_400, jumped + 100);
    expect(g.peerOffsetMs(jumped + 100)).toBe(-TEN_YEARS_MS);
  });

  test('clock skew guard - heartbeats without a usable sentMs are ignored', () => {
    const g = new ClockSkewGuard(LIMITS);
    g.heard('a', undefined, T);
    g.heard('a', Number.NaN, T);
    g.heard('a', '1', T);
    expect(g.refusal(T, T)).toBeUndefined();
  });
});
