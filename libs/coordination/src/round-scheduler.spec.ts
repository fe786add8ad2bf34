import type { Heartbeat } from '#replication/ports';
import { ManualClock } from '../testing/manual-clock';
import type { RoundResult, RoundTrigger } from './round-result';
import { RoundScheduler, type RoundScheduleConfig } from './round-scheduler';

const CONFIG: RoundScheduleConfig = { intervalMs: 10_000, opLogThreshold: 100, gapMsMin: 1_000, abortBackoffMsMin: 2_000, abortBackoffMsMax: 8_000 };

/** A scheduler whose rounds take `roundMs` and end as `outcome()` says; records what ran when. */
function setup(config: Partial<RoundScheduleConfig> = {}, roundMs = 100, worthRunning?: () => boolean) {
  const clock = new ManualClock(0);
  const runs: { trigger: RoundTrigger; startMs: number; endMs?: number }[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  let outcome: () => RoundResult['outcome'] = () => 'committed';
  const s = new RoundScheduler(clock, { ...CONFIG, ...config }, (trigger) => {
    const run: (typeof runs)[number] = { trigger, startMs: clock.nowMs() };
    runs.push(run);
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    return new Promise((resolve) =>
      clock.setTimer(roundMs, () => {
        concurrent--;
        run.endMs = clock.nowMs();
        resolve({ round: runs.length, outcome: outcome(), trigger } as RoundResult);
      }),
    );
  }, worthRunning);
  return { clock, s, runs, maxConcurrent: () => maxConcurrent, setOutcome: (f: () => RoundResult['outcome']) => (outcome = f) };
}

function member(opLogLength: number, heardAtMs: number): { beat: Heartbeat; heardAtMs: number } {
  return { beat: { v: 1, replica: 'r1', mode: 'Work', applied: {}, opLogLength, outboxDepth: 0, streamSeq: 0, keys: 0, epoch: 0, round: 0, sentMs: 0 }, heardAtMs };
}

describe('round scheduler', () => {
  it('scheduler - by hand during a round: one more round, shared by every caller, never two at once', async () => {
    const { clock, s, runs, maxConcurrent } = setup({ intervalMs: 0 });
    const first = s.requestNow();
    await clock.advance(10);
    const second = s.requestNow();
    const third = s.requestNow();
    expect(second).toBe(third);
    await clock.advance(500);
    expect((await first).round).toBe(1);
    expect((await second).round).toBe(2);
    expect(runs.map((r) => r.trigger)).toEqual(['manual', 'manual']);
    expect(runs[1].startMs).toBe(runs[0].endMs);
    expect(maxConcurrent()).toBe(1);
  });

  it('scheduler - schedule: a round intervalMs after the previous one ended; 0 turns it off', async () => {
    const on = setup();
    on.s.enable();
    await on.clock.advance(35_000);
    expect(on.runs.map((r) => r.startMs)).toEqual([10_000, 20_100, 30_200]);
    expect(on.runs.every((r) => r.trigger === 'schedule')).toBe(true);

    const off = setup({ intervalMs: 0 });
    off.s.enable();
    await off.clock.advance(100_000);
    expect(off.runs).toEqual([]);
  });

  it('scheduler - a round by hand moves the next scheduled one', async () => {
    const { clock, s, runs } = setup();
    s.enable();
    await clock.advance(5_000);
    void s.requestNow();
    await clock.advance(200);
    await clock.advance(12_000);
    expect(runs.map((r) => [r.trigger, r.startMs])).toEqual([['manual', 5_000], ['schedule', 15_100]]);
  });

  it('scheduler - threshold: a heartbeat over it starts a round; heartbeats from before the round ended do not', async () => {
    const { clock, s, runs } = setup({ intervalMs: 0 });
    s.enable();
    await clock.advance(2_000);
    s.checkThreshold([member(99, clock.nowMs())]);
    expect(runs).toHaveLength(0);
    s.checkThreshold([member(100, clock.nowMs())]);
    expect(runs).toHaveLength(1);
    s.checkThreshold([member(500, clock.nowMs())]); // during the round: dropped
    await clock.advance(100);
    expect(runs).toHaveLength(1);
    await clock.advance(2_000);
    s.checkThreshold([member(500, 1_950)]); // heard before the round ended: stale
    expect(runs).toHaveLength(1);
    s.checkThreshold([member(500, clock.nowMs())]);
    expect(runs).toHaveLength(2);
  });

  it('scheduler - threshold rounds keep a minimum gap', async () => {
    const { clock, s, runs } = setup({ intervalMs: 0 });
    s.enable();
    await clock.advance(1_000);
    s.checkThreshold([member(100, clock.nowMs())]);
    await clock.advance(200); // ended at 1 100
    s.checkThreshold([member(100, clock.nowMs())]);
    expect(runs).toHaveLength(1);
    await clock.advance(900);
    s.checkThreshold([member(100, clock.nowMs())]);
    expect(runs).toHaveLength(2);
  });

  it('scheduler - aborted automatic rounds back off, doubling up to the maximum', async () => {
    const { clock, s, runs, setOutcome } = setup({ intervalMs: 1_000 });
    setOutcome(() => 'aborted');
    s.enable();
    await clock.advance(40_000);
    const gaps = runs.slice(1).map((r, i) => r.startMs - runs[i].endMs!);
    expect(gaps.slice(0, 5)).toEqual([2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('scheduler - disabled: no automatic rounds, but requests by hand still run', async () => {
    const { clock, s, runs } = setup();
    s.enable();
    s.disable();
    await clock.advance(30_000);
    s.checkThreshold([member(1_000, clock.nowMs())]);
    expect(runs).toHaveLength(0);
    void s.requestNow();
    await clock.advance(200);
    expect(runs).toHaveLength(1);
  });

  it('scheduler - a scheduled round is skipped while nothing is worth compacting, and runs once something is', async () => {
    let worth = false;
    let asked = 0;
    const { clock, s, runs } = setup({}, 100, () => {
      asked++;
      return worth;
    });
    s.enable();
    await clock.advance(35_000);
    expect(runs).toEqual([]);
    expect(asked).toBe(3); // at 10 000, 20 000 and 30 000: asked each interval, ran none
    worth = true;
    await clock.advance(5_000);
    expect(runs.map((r) => [r.trigger, r.startMs])).toEqual([['schedule', 40_000]]);
    // Threshold and manual rounds do not ask.
    worth = false;
    void s.requestNow();
    await clock.advance(2_000);
    s.checkThreshold([member(100, clock.nowMs())]);
    await clock.advance(200);
    expect(runs.map((r) => r.trigger)).toEqual(['schedule', 'manual', 'threshold']);
  });
});
