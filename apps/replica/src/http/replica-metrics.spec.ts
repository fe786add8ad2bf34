import { ReplicaMetrics, replyCode, streamLag, type ReplicaFigures } from './replica-metrics';
import { timeCommits } from './timed-store';
import type { StorePort } from '#replication';

const figures: ReplicaFigures = { mode: 'Sync', streamSeq: 40, streamLastSeq: 47, causalBufferEvents: 3, outboxEvents: 2, opLogRows: 120, heldWrites: 5, keys: 9 };

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, line: string): number | undefined {
  const hit = text.split('\n').find((l) => l.startsWith(line + ' '));
  return hit === undefined ? undefined : Number(hit.slice(line.length + 1));
}

describe('replica metrics', () => {
  it('metrics - reply codes: OK for a reply that is not an error, the stable code otherwise', () => {
    expect(replyCode({ ok: true, key: 'a' })).toBe('OK');
    expect(replyCode({ ok: false, error: { code: 'FROZEN', message: 'x' } })).toBe('FROZEN');
    expect(replyCode({ ok: false })).toBe('ERROR');
    expect(replyCode('plain')).toBe('OK');
  });

  it('metrics - lag is the stream last sequence minus the processed one, never negative, absent when unknown', () => {
    expect(streamLag({ streamSeq: 40, streamLastSeq: 47 })).toBe(7);
    expect(streamLag({ streamSeq: 50, streamLastSeq: 47 })).toBe(0);
    expect(streamLag({ streamSeq: 50, streamLastSeq: undefined })).toBeUndefined();
  });

  it('metrics - the gauges map the figures read at scrape time, and mode is one-hot', async () => {
    const m = new ReplicaMetrics(async () => figures, { replica: 'r1' });
    const text = await m.text();
    expect(sample(text, 'crdt_stream_lag_messages{replica="r1"}')).toBe(7);
    expect(sample(text, 'crdt_stream_seq{replica="r1"}')).toBe(40);
    expect(sample(text, 'crdt_causal_buffer_events{replica="r1"}')).toBe(3);
    expect(sample(text, 'crdt_outbox_events{replica="r1"}')).toBe(2);
    expect(sample(text, 'crdt_oplog_rows{replica="r1"}')).toBe(120);
    expect(sample(text, 'crdt_held_writes{replica="r1"}')).toBe(5);
    expect(sample(text, 'crdt_keys{replica="r1"}')).toBe(9);
    expect(sample(text, 'crdt_replica_mode{mode="Sync",replica="r1"}')).toBe(1);
    expect(sample(text, 'crdt_replica_mode{mode="Work",replica="r1"}')).toBe(0);
    expect(sample(text, 'crdt_replica_mode{mode="Starting",replica="r1"}')).toBe(0);
  });

  it('metrics - unknown figures are NaN (not 0), and every mode is 0 before the runtime exists', async () => {
    const text = await new ReplicaMetrics(async () => undefined).text();
    expect(sample(text, 'crdt_oplog_rows')).toBeNaN();
    const noStream = await new ReplicaMetrics(async () => ({ ...figures, streamLastSeq: undefined })).text();
    expect(sample(noStream, 'crdt_stream_lag_messages')).toBeNaN();
    expect(sample(noStream, 'crdt_oplog_rows')).toBe(120);
    expect(sample(text, 'crdt_replica_mode{mode="Work"}')).toBe(0);
  });

  it('metrics - requests are counted by command and code, with a latency histogram per command', async () => {
    const m = new ReplicaMetrics(async () => figures);
    m.request('update', { ok: true }, 0.002);
    m.request('update', { ok: false, error: { code: 'FROZEN', message: '' } }, 0.3);
    m.request('get', { ok: true }, 0.0001);
    const text = await m.text();
    expect(sample(text, 'crdt_requests_total{command="update",code="OK"}')).toBe(1);
    expect(sample(text, 'crdt_requests_total{command="update",code="FROZEN"}')).toBe(1);
    expect(sample(text, 'crdt_requests_total{command="get",code="OK"}')).toBe(1);
    expect(sample(text, 'crdt_request_duration_seconds_count{command="update"}')).toBe(2);
    expect(sample(text, 'crdt_request_duration_seconds_bucket{le="0.0025",command="update"}')).toBe(1);
    expect(sample(text, 'crdt_request_duration_seconds_sum{command="update"}')).toBeCloseTo(0.302);
  });

  it('metrics - the observer counts applied and refused events through the core port', async () => {
    const m = new ReplicaMetrics(async () => figures);
    const event = {} as never;
    for (let i = 0; i < 3; i++) (m.observer.applying(event) as (r: { ok: true }) => void)({ ok: true });
    (m.observer.applying(event) as (r: { ok: false; reason: string }) => void)({ ok: false, reason: 'type mismatch' });
    const text = await m.text();
    expect(sample(text, 'crdt_events_applied_total')).toBe(3);
    expect(sample(text, 'crdt_events_refused_total')).toBe(1);
  });

  it('metrics - group commits are timed around the store, with their batch sizes', async () => {
    const m = new ReplicaMetrics(async () => figures);
    const committed: number[] = [];
    const store = { commit: async (b: { events: unknown[] }) => void committed.push(b.events.length), opLogLength: () => 4 } as unknown as StorePort;
    const timed = timeCommits(store, (n, s) => m.commit(n, s));
    await timed.commit({ events: new Array(7).fill({}) });
    await timed.commit({ events: [] });
    expect(committed).toEqual([7, 0]);
    expect(timed.opLogLength()).toBe(4);
    const text = await m.text();
    expect(sample(text, 'crdt_group_commit_events_count')).toBe(2);
    expect(sample(text, 'crdt_group_commit_events_sum')).toBe(7);
    expect(sample(text, 'crdt_group_commit_events_bucket{le="5"}')).toBe(1);
    expect(sample(text, 'crdt_group_commit_seconds_count')).toBe(2);
  });
});
