import { describe, expect, it } from '@jest/globals';
import { subjectsFor } from '#protocol';
import type { EventBatch, ReplicatedEvent } from '../replicated-event';
import { batchFromItsOrigin } from './origin-guard';

const s = subjectsFor('crdt');

function event(origin: string, seq: number): ReplicatedEvent {
  return { v: 1, origin, seq, time: { ms: 1, c: 0, r: origin }, deps: {}, key: 'k', type: 'pn-counter', options: null, ops: [{ type: 'increment', by: 1 }] } as unknown as ReplicatedEvent;
}

function recordingLog() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('op origin guard', () => {
  it('guard - passes a batch from its own subject through unchanged', () => {
    const { lines, log } = recordingLog();
    const batch: EventBatch = { v: 1, events: [event('r3', 1), event('r3', 2)] };
    expect(batchFromItsOrigin(s, 'crdt.ops.r3', 7, batch, log).batch).toBe(batch);
    expect(lines).toEqual([]);
  });

  it('guard - a forged batch becomes an empty one (the position still moves) and is logged with its code', () => {
    const { lines, log } = recordingLog();
    const out = batchFromItsOrigin(s, 'crdt.ops.r3', 7, { v: 1, events: [event('r1', 5)] }, log).batch;
    expect(out).toEqual({ v: 1, events: [] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', fields: { code: 'ORIGIN_MISMATCH', seq: 7, subject: 'crdt.ops.r3', claimed: ['r1'] } });
  });

  it('guard - leaves an undecodable message to the caller (undefined stays undefined)', () => {
    const { lines, log } = recordingLog();
    expect(batchFromItsOrigin(s, 'crdt.ops.r3', 7, undefined, log).batch).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('guard - a strong subject carries one event of its key, from any origin, and names the key', () => {
    const { lines, log } = recordingLog();
    const batch: EventBatch = { v: 1, events: [event('r1', 4)] };
    expect(batchFromItsOrigin(s, 'crdt.ops.~key.k', 9, batch, log)).toEqual({ batch, strongKey: 'k' });
    expect(batchFromItsOrigin(s, 'crdt.ops.~key.other', 9, batch, log)).toEqual({ batch: { v: 1, events: [] } });
    expect(batchFromItsOrigin(s, 'crdt.ops.~key.k', 9, { v: 1, events: [event('r1', 4), event('r1', 5)] }, log)).toEqual({ batch: { v: 1, events: [] } });
    expect(lines.map((l) => l.fields?.code)).toEqual(['STRONG_MISMATCH', 'STRONG_MISMATCH']);
  });
});
