import { describe, expect, it } from '@jest/globals';
import { subjectsFor } from '#protocol';
import { CapturingLog } from '#testing/capturing-log';
import type { EventBatch, ReplicatedEvent } from '../replicated-event';
import { batchFromItsOrigin } from './origin-guard';

const s = subjectsFor('crdt');

function event(origin: string, seq: number): ReplicatedEvent {
  return { v: 1, origin, seq, time: { ms: 1, c: 0, r: origin }, deps: {}, key: 'k', type: 'pn-counter', options: null, ops: [{ type: 'increment', by: 1 }] } as unknown as ReplicatedEvent;
}

describe('op origin guard', () => {
  it('guard - passes a batch from its own subject through unchanged', () => {
    const log = new CapturingLog();
    const batch: EventBatch = { v: 1, events: [event('r3', 1), event('r3', 2)] };
    expect(batchFromItsOrigin(s, 'crdt.ops.r3', 7, batch, log).batch).toBe(batch);
    expect(log.lines).toEqual([]);
  });

  it('guard - a forged batch becomes an empty one (the position still moves) and is logged with its code', () => {
    const log = new CapturingLog();
    const out = batchFromItsOrigin(s, 'crdt.ops.r3', 7, { v: 1, events: [event('r1', 5)] }, log).batch;
    expect(out).toEqual({ v: 1, events: [] });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'error', fields: { code: 'ORIGIN_MISMATCH', seq: 7, subject: 'crdt.ops.r3', claimed: ['r1'] } });
  });

  it('guard - leaves an undecodable message to the caller (undefined stays undefined)', () => {
    const log = new CapturingLog();
    expect(batchFromItsOrigin(s, 'crdt.ops.r3', 7, undefined, log).batch).toBeUndefined();
    expect(log.lines).toEqual([]);
  });

  it('guard - a strong subject carries one event of its key, from any origin, and names the key', () => {
    const log = new CapturingLog();
    const batch: EventBatch = { v: 1, events: [event('r1', 4)] };
    expect(batchFromItsOrigin(s, 'crdt.ops.~key.k', 9, batch, log)).toEqual({ batch, strongKey: 'k' });
    expect(batchFromItsOrigin(s, 'crdt.ops.~key.other', 9, batch, log)).toEqual({ batch: { v: 1, events: [] } });
    expect(batchFromItsOrigin(s, 'crdt.ops.~key.k', 9, { v: 1, events: [event('r1', 4), event('r1', 5)] }, log)).toEqual({ batch: { v: 1, events: [] } });
    expect(log.lines.map((l) => l.fields.code)).toEqual(['STRONG_MISMATCH', 'STRONG_MISMATCH']);
  });
});
