import { HybridLogicalClock, timestampFromWallMs } from '#crdt';
import { CapturingLog } from '#testing/capturing-log';
import type { ReplicatedEvent } from '../replicated-event';
import { EventTimeGate, type ClockDoubt } from './event-time-gate';

const T = 1_700_000_000_000;
const LIMITS = { clockOffsetMaxMs: 500, clockOffsetHardMaxMs: 60_000 };

function setup() {
  const log = new CapturingLog();
  const clock = { now: T };
  const hlc = new HybridLogicalClock(() => clock.now, 0, { maxOffsetMs: LIMITS.clockOffsetMaxMs });
  const gate = new EventTimeGate(() => hlc, () => clock.now, LIMITS, log);
  return { lines: log.lines, clock, gate };
}

const ev = (origin: string, seq: number, wallMs: number, ops = 1): ReplicatedEvent => ({
  v: 1,
  origin,
  seq,
  time: timestampFromWallMs(wallMs),
  deps: {},
  key: 'k',
  type: 'g-counter',
  options: null,
  ops: Array.from({ length: ops }, () => ({ type: 'increment', by: 1 })),
});

const never = () => false;
const trusted = (): ClockDoubt | undefined => undefined;
const YEAR_MS = 365 * 24 * 3_600_000;

describe('event time gate', () => {
  test('event time gate - an event within the bound is applied', () => {
    const { gate, lines } = setup();
    expect(gate.judge(ev('r3', 1, T + 500), never, trusted)).toBe('apply');
    expect(gate.judge(ev('r3', 2, T - 100_000), never, trusted)).toBe('apply');
    expect(lines).toEqual([]);
  });

  test('event time gate - an event ahead of the bound is held, logged once with its origin, and due when the clock catches up', () => {
    const { gate, lines, clock } = setup();
    const e = ev('r3', 7, T + 5_000);
    expect(gate.judge(e, never, trusted)).toBe('hold');
    expect(gate.judge(e, never, trusted)).toBe('hold');
    expect(lines).toHaveLength(1);
    expect(lines[0].fields).toMatchObject({ code: 'EVENT_TIME_AHEAD', origin: 'r3', seq: 7 });
    expect(gate.retryAtMs()).toBe(T + 4_500);
    gate.rereading();
    clock.now = T + 4_500;
    expect(gate.judge(e, never, trusted)).toBe('apply');
  });

  test('event time gate - the last op of a batch counts (one HLC reading per op)', () => {
    const { gate } = setup();
    // 4,096 readings carry into the next millisecond; 600 ms of them would be needed to pass 500 ms.
    expect(gate.judge(ev('r3', 1, T + 500, 4_097), never, trusted)).toBe('hold');
  });

  test('event time gate - beyond the hard limit an event is refused with a stable code, not held, and not delivered', () => {
    const { gate, lines } = setup();
    const forged = ev('r3', 4, T + 10 * 365 * 24 * 3_600_000);
    expect(gate.judge(forged, never, trusted)).toBe('refuse');
    expect(gate.judge(forged, never, trusted)).toBe('refuse');
    expect(lines).toHaveLength(1);
    expect(lines[0].fields).toMatchObject({ code: 'EVENT_TIME_BEYOND_LIMIT', origin: 'r3', seq: 4 });
    expect(gate.retryAtMs()).toBe(0);
  });

  test('event time gate - while this replica\'s own clock is in doubt, an event beyond the hard limit is held instead', () => {
    const { gate } = setup();
    expect(gate.judge(ev('r3', 4, T + 120_000), never, () => ({ peerOffsetMs: 0 }))).toBe('hold');
    // Judged again soon (not when the clock reaches the forged time): then refused once this clock is trusted.
    expect(gate.retryAtMs()).toBe(T + 1_000);
    gate.rereading();
    expect(gate.judge(ev('r3', 4, T + 120_000), never, trusted)).toBe('refuse');
  });

  test('event time gate - a clock in doubt judges against its peers\' clocks: an event on time by this clock jumped twenty years ahead is held (seed 437)', () => {
    const { gate, clock, lines } = setup();
    // This clock jumped twenty years ahead; the peers' heartbeats say their clocks are twenty years behind it.
    clock.now = T + 20 * YEAR_MS;
    const peers = (): ClockDoubt => ({ peerOffsetMs: -20 * YEAR_MS });
    const forged = ev('r4', 14, T + 20 * YEAR_MS);
    expect(gate.judge(forged, never, peers)).toBe('hold');
    expect(lines[0].fields).toMatchObject({ code: 'EVENT_TIME_AHEAD', origin: 'r4', seq: 14, ownClockInDoubt: true });
    expect(gate.retryAtMs()).toBe(clock.now + 1_000);
    // An event on time by the peers' clocks is applied, although this clock is twenty years ahead of it.
    expect(gate.judge(ev('r3', 2, T + 100), never, peers)).toBe('apply');
    // Once this clock is back and trusted, the forged event is refused.
    clock.now = T + 2_000;
    expect(gate.judge(forged, never, trusted)).toBe('refuse');
  });

  test('event time gate - the peers\' clocks only ever make the gate stricter: a clock behind its peers still holds events ahead of it', () => {
    const { gate } = setup();
    expect(gate.judge(ev('r3', 1, T + 5_000), never, () => ({ peerOffsetMs: 5_000 }))).toBe('hold');
  });

  test('event time gate - a clock in doubt with nothing heard of its peers judges against the latest time it applied (a start with a jumped clock)', () => {
    const log = new CapturingLog();
    const clock = { now: T + 20 * YEAR_MS };
    // Restarted: the HLC holds the latest time applied before the crash.
    const hlc = new HybridLogicalClock(() => clock.now, timestampFromWallMs(T), { maxOffsetMs: LIMITS.clockOffsetMaxMs });
    const gate = new EventTimeGate(() => hlc, () => clock.now, LIMITS, log);
    const unknown = (): ClockDoubt => ({ peerOffsetMs: undefined });
    expect(gate.judge(ev('r4', 14, T + 20 * YEAR_MS), never, unknown)).toBe('hold');
    expect(gate.judge(ev('r4', 13, T + 300), never, unknown)).toBe('apply');
  });

  test('event time gate - a duplicate of an applied event passes (the causal buffer drops it)', () => {
    const { gate } = setup();
    expect(gate.judge(ev('r3', 4, T + 120_000), () => true, trusted)).toBe('apply');
  });
});
