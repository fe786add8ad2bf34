import type { RoundResult, StatusReply } from '#coordination';
import { CoordinatorMetrics, roundCode } from './coordinator-metrics';

function sample(text: string, line: string): number | undefined {
  const hit = text.split('\n').find((l) => l.startsWith(line + ' '));
  return hit === undefined ? undefined : Number(hit.slice(line.length + 1));
}

function round(outcome: RoundResult['outcome'], code: RoundResult['code'], writesHeldMs: number, totalMs: number): RoundResult {
  return { epoch: 1, round: 1, outcome, code, trigger: 'manual', members: ['r1'], cut: {}, timings: { freezeMs: 1, cutMs: 1, commitMs: 1, totalMs, writesHeldMs }, startedAtMs: 0, coordinator: 'c1' };
}

const status = { isLeader: true, epoch: 4, members: [{}, {}], running: null } as unknown as StatusReply;

describe('coordinator metrics', () => {
  it('metrics - round code label: none when committed, the abort code otherwise', () => {
    expect(roundCode({ outcome: 'committed' })).toBe('none');
    expect(roundCode({ outcome: 'aborted', code: 'TIMEOUT' })).toBe('TIMEOUT');
    expect(roundCode({ outcome: 'aborted' })).toBe('UNKNOWN');
  });

  it('metrics - rounds counted by outcome and code; write-hold histogram only for rounds that froze anyone', async () => {
    const m = new CoordinatorMetrics(() => status, { coordinator: 'c1' });
    m.round(round('committed', undefined, 120, 150));
    m.round(round('committed', undefined, 30, 40));
    m.round(round('aborted', 'TIMEOUT', 900, 1000));
    m.round(round('aborted', 'NO_MEMBERS', 0, 0));
    const text = await m.text();
    expect(sample(text, 'crdt_rounds_total{outcome="committed",code="none",trigger="manual",coordinator="c1"}')).toBe(2);
    expect(sample(text, 'crdt_rounds_total{outcome="aborted",code="TIMEOUT",trigger="manual",coordinator="c1"}')).toBe(1);
    expect(sample(text, 'crdt_rounds_total{outcome="aborted",code="NO_MEMBERS",trigger="manual",coordinator="c1"}')).toBe(1);
    expect(sample(text, 'crdt_round_writes_held_seconds_count{coordinator="c1",outcome="committed"}')).toBe(2);
    expect(sample(text, 'crdt_round_writes_held_seconds_sum{coordinator="c1",outcome="committed"}')).toBeCloseTo(0.15);
    expect(sample(text, 'crdt_round_writes_held_seconds_bucket{le="0.05",coordinator="c1",outcome="committed"}')).toBe(1);
    expect(sample(text, 'crdt_round_writes_held_seconds_count{coordinator="c1",outcome="aborted"}')).toBe(1);
    expect(sample(text, 'crdt_round_duration_seconds_sum{coordinator="c1",outcome="aborted"}')).toBeCloseTo(1);
  });

  it('metrics - leadership, epoch and members are read from the status at scrape time', async () => {
    let s: StatusReply | undefined;
    const m = new CoordinatorMetrics(() => s);
    expect(sample(await m.text(), 'crdt_coordinator_leader')).toBeNaN();
    s = status;
    let text = await m.text();
    expect(sample(text, 'crdt_coordinator_leader')).toBe(1);
    expect(sample(text, 'crdt_coordinator_epoch')).toBe(4);
    expect(sample(text, 'crdt_coordinator_members')).toBe(2);
    expect(sample(text, 'crdt_coordinator_round_running')).toBe(0);
    s = { ...status, isLeader: false, running: { epoch: 4, round: 2 } };
    text = await m.text();
    expect(sample(text, 'crdt_coordinator_leader')).toBe(0);
    expect(sample(text, 'crdt_coordinator_round_running')).toBe(1);
  });
});
