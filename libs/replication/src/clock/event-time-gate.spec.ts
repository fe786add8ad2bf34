import { HybridLogicalClock, timestampFromWallMs } from '#crdt';
import type { LogPort } from '../ports';
import type { ReplicatedEvent } from '../replicated-event';
import { EventTimeGate } from './event-time-gate';

const T = 1_700_000_000_000;
const LIMITS = { clockOffsetMaxMs: 500, clockOffsetHardMaxMs: 60_000 };

function setup() {
  const lines: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const log: LogPort = { info: () => undefined, warn: (msg, fields) => lines.push({ msg, fields }), error: (msg, fields) => lines.push({ msg, fields }) };
  const clock = { now: T };
  const hlc = new HybridLogicalClock(() => clock.now, 0, { maxOffsetMs: LIMITS.clockOffsetMaxMs });
  const gate = new EventTimeGate(() => hlc, () => clock.now, LIMITS, log);
  return { lines, clock, gate };
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

describe('event time gate', () => {
  test('event time gate - an event within the bound is applied', () => {
    const { gate, lines } = setup();
    expect(gate.judge(ev('r3', 1, T + 500), never, never)).toBe('apply');
    expect(gate.judge(ev('r3', 2, T - 100_000), never, never)).toBe('apply');
    expect(lines).toEqual([]);
  });

  test('event time gate - an event ahead of the bound is held, logged once with its origin, and due when the clock catches up', () => {
    const { gate, lines, clock } = setup();
    const e = ev('r3', 7, T + 5_000);
    expect(gate.judge(e, never, never)).toBe('hold');
    expect(gate.judge(e, never, never)).toBe('hold');
    expect(lines).toHaveLength(1);
    expect(lines[0].fields).toMatchObject({ code: 'EVENT_TIME_AHEAD', origin: 'r3', seq: 7 });
    expect(gate.retryAtMs()).toBe(T + 4_500);
    gate.rereading();
    clock.now = T + 4_500;
    expect(gate.judge(e, never, never)).toBe('apply');
  });

  test('event time gate - the last op of a batch counts (one HLC reading per op)', () => {
    const { gate } = setup();
    // 4,096 readings carry into the next millisecond; 600 ms of them would be needed to pass 500 ms.
    expect(gate.judge(ev('r3', 1, T + 500, 4_097), never, never)).toBe('hold');
  });

  test('event time gate - beyond the hard limit an event is refused with a stable code, not held, and not delivered', () => {
    const { gate, lines } = setup();
    const forged = ev('r3', 4, T + 10 * 365 * 24 * 3_600_000);
    expect(gate.judge(forged, never, never)).toBe('refuse');
    expect(gate.judge(forged, never, never)).toBe('refuse');
    expect(lines).toHaveLength(1);
    expect(lines[0].fields).toMatchObject({ code: 'EVENT_TIME_BEYOND_LIMIT', origin: 'r3', seq: 4 });
    expect(gate.retryAtMs()).toBe(0);
  });

  test('event time gate - while this replica\'s own clock is in doubt, an event beyond the hard limit is held instead', () => {
    const { gate } = setup();
    expect(gate.judge(ev('r3', 4, T + 120_000), never, () => true)).toBe('hold');
    // Judged again soon (not when the clock reaches the forged time): then refused once this clock is trusted.
    expect(gate.retryAtMs()).toBe(T + 1_000);
    gate.rereading();
    expect(gate.judge(ev('r3', 4, T + 120_000), never, never)).toBe('refuse');
  });

  test('event time gate - a duplicate of an applied event passes (the causal buffer drops it)', () => {
    const { gate } = setup();
    expect(gate.judge(ev('r3', 4, T + 120_000), () => true, never)).toBe('apply');
  });
});
