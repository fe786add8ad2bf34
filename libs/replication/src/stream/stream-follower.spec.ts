import type { BrokerConsumer, BrokerMessage, BrokerStreamInfo, ConditionalPublish, LogPort, StreamBrokerPort, StreamReceiver } from '../ports';
import { decodeEventBatch, encodeEventBatch, type EventBatch, type ReplicatedEvent } from '../replicated-event';
import { TestClock } from '../../testing/memory-ports';
import { DEFAULT_STREAM_RULES, StreamFollower } from './stream-follower';

/** An in-memory stream: bytes and sequence numbers only (the port's contract). */
class MemoryBroker implements StreamBrokerPort {
  msgs: BrokerMessage[] = [];
  base = 1;
  created = 'c1';
  exists = true;
  published: Array<{ subject: string; msgId: string }> = [];
  failPublish = false;
  private waiters: Array<() => void> = [];

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<number> {
    if (this.failPublish || !this.exists) throw new Error('no responders');
    this.published.push({ subject, msgId });
    const seq = this.base + this.msgs.length;
    this.msgs.push({ seq, subject, data });
    for (const w of this.waiters.splice(0)) w();
    return seq;
  }

  async publishIfLast(subject: string, data: Uint8Array, msgId: string, expectedLastSeq: number): Promise<ConditionalPublish> {
    const last = await this.lastSeqOn(subject);
    if (last !== expectedLastSeq) return { ok: false, lastSeq: last };
    return { ok: true, seq: await this.publish(subject, data, msgId) };
  }

  async nextOn(subject: string, fromSeq: number): Promise<BrokerMessage | undefined> {
    return this.msgs.find((m) => m.seq >= fromSeq && m.subject === subject);
  }

  async lastSeqOn(subject: string): Promise<number> {
    return [...this.msgs].reverse().find((m) => m.subject === subject)?.seq ?? 0;
  }

  async consume(fromSeq: number): Promise<BrokerConsumer> {
    if (!this.exists) throw new Error('stream not found');
    let cursor = fromSeq;
    let closed = false;
    const created = this.created;
    return {
      next: async () => {
        for (;;) {
          if (closed) return undefined;
          if (this.created !== created || !this.exists) throw new Error('consumer lost');
          const m = this.msgs.find((x) => x.seq >= cursor);
          if (m) {
            cursor = m.seq + 1;
            return m;
          }
          await new Promise<void>((r) => this.waiters.push(r));
        }
      },
      close: () => {
        closed = true;
        for (const w of this.waiters.splice(0)) w();
      },
    };
  }

  async info(): Promise<BrokerStreamInfo | undefined> {
    if (!this.exists) return undefined;
    const last = this.base + this.msgs.length - 1;
    return { firstSeq: this.msgs.length ? this.base : last + 1, lastSeq: last, created: this.created, replicas: 1 };
  }

  async create(): Promise<BrokerStreamInfo> {
    if (!this.exists) {
      this.exists = true;
      this.created = `${this.created}+`;
      this.msgs = [];
      this.base = 1;
    }
    return (await this.info())!;
  }

  purge(keepFrom: number): void {
    this.msgs = this.msgs.filter((m) => m.seq >= keepFrom);
    if (this.msgs.length === 0) this.base = keepFrom;
    else this.base = this.msgs[0].seq;
  }
}

/** The core's side: records what the rules asked of it. */
class Receiver implements StreamReceiver {
  consumed = 0;
  received: Array<{ seq: number; batch: EventBatch }> = [];
  resets: number[] = [];
  rejoins: string[] = [];
  rejoinResult = true;
  constructor(private readonly follower: () => StreamFollower) {}
  async receive(batch: EventBatch, streamSeq: number): Promise<void> {
    this.received.push({ seq: streamSeq, batch });
    this.consumed = streamSeq;
  }
  streamReset(fromSeq: number): void {
    this.resets.push(fromSeq);
    this.consumed = fromSeq - 1;
    this.follower().consumeFrom(fromSeq);
  }
  async rejoin(reason: string): Promise<boolean> {
    this.rejoins.push(reason);
    return this.rejoinResult;
  }
  consumedSeq(): number {
    return this.consumed;
  }
  pendingCommitEvents(): number {
    return 0;
  }
}

const quiet: LogPort = { info: () => undefined, warn: () => undefined, error: () => undefined };
const ev = (origin: string, seq: number): ReplicatedEvent => ({ v: 1, origin, seq, time: 1, deps: {}, key: 'k', type: 'g-counter', options: null, ops: [] });

async function setup() {
  const clock = new TestClock(0);
  const broker = new MemoryBroker();
  const errors: unknown[] = [];
  const follower: StreamFollower = new StreamFollower(broker, clock, quiet, { ...DEFAULT_STREAM_RULES, opsSubject: (o) => `crdt.ops.${o}`, strongSubject: (k) => `crdt.ops.~key.${k}`, streamCheckMs: 500 }, (e) => errors.push(e));
  const receiver = new Receiver(() => follower);
  follower.attach(receiver);
  expect(await follower.ensureStream()).toBe(true);
  return { clock, broker, follower, receiver, errors };
}

describe('stream follower', () => {
  test('stream follower - publishes a batch on its origin\'s subject with its message id, and delivers the stream in order', async () => {
    const { clock, broker, follower, receiver, errors } = await setup();
    follower.consumeFrom(1);
    expect(await follower.publish([ev('r1', 1), ev('r1', 2)])).toBe(1);
    expect(await follower.publish([ev('r2', 1)], 'resend-1')).toBe(2);
    await clock.advance(10);
    expect(broker.published).toEqual([
      { subject: 'crdt.ops.r1', msgId: 'r1:1-2' },
      { subject: 'crdt.ops.r2', msgId: 'r2:1-1~resend-1' },
    ]);
    expect(receiver.received.map((r) => [r.seq, r.batch.events.map((e) => `${e.origin}#${e.seq}`)])).toEqual([
      [1, ['r1#1', 'r1#2']],
      [2, ['r2#1']],
    ]);
    expect(await follower.lastSeq()).toBe(2);
    expect(errors).toEqual([]);
    follower.close();
  });

  test('stream follower - a consumer that meets a purge gap stops and re-joins at once', async () => {
    const { clock, broker, follower, receiver } = await setup();
    for (let i = 1; i <= 5; i++) await broker.publish(`crdt.ops.r1`, encodeEventBatch([ev('r1', i)]), `r1:${i}`);
    receiver.consumed = 2;
    broker.purge(5);
    follower.consumeFrom(3);
    await clock.advance(10);
    expect(receiver.rejoins).toEqual(['stream starts at 5, this replica needs 3']);
    // Nothing past the gap was applied.
    expect(receiver.received).toEqual([]);
    follower.close();
  });

  test('stream follower - when the newest snapshot still ends before the stream\'s start, it reads on instead of re-joining forever', async () => {
    const { clock, broker, follower, receiver } = await setup();
    for (let i = 1; i <= 5; i++) await broker.publish(`crdt.ops.r1`, encodeEventBatch([ev('r1', i)]), `r1:${i}`);
    receiver.consumed = 2;
    broker.purge(5);
    follower.consumeFrom(3);
    await clock.advance(10);
    expect(receiver.rejoins).toHaveLength(1);
    // The re-join loaded a snapshot at position 2 again: the same gap.
    follower.consumeFrom(3);
    await clock.advance(10);
    expect(receiver.rejoins).toHaveLength(1);
    expect(receiver.received.map((r) => r.seq)).toEqual([5]);
    follower.close();
  });

  test('stream follower - a recreated stream is noticed by the periodic look and read again from its start', async () => {
    const { clock, broker, follower, receiver } = await setup();
    follower.consumeFrom(1);
    await broker.publish('crdt.ops.r1', encodeEventBatch([ev('r1', 1)]), 'r1:1');
    await clock.advance(10);
    broker.exists = false;
    await broker.create();
    await clock.advance(600);
    expect(receiver.resets).toEqual([1]);
    follower.close();
  });

  test('stream follower - a deleted stream is created again and every replica resets to its start', async () => {
    const { clock, broker, follower, receiver } = await setup();
    follower.consumeFrom(1);
    broker.exists = false;
    await expect(follower.publish([ev('r1', 1)])).rejects.toThrow(/publish of r1:1-1 failed/);
    await clock.advance(10);
    expect(broker.exists).toBe(true);
    expect(receiver.resets).toEqual([1]);
    follower.close();
  });

  test('stream follower - a stream shorter than what was consumed is read again from its first message', async () => {
    const { clock, broker, follower, receiver } = await setup();
    follower.consumeFrom(1);
    for (let i = 1; i <= 4; i++) await broker.publish('crdt.ops.r1', encodeEventBatch([ev('r1', i)]), `r1:${i}`);
    await clock.advance(10);
    expect(receiver.consumed).toBe(4);
    broker.msgs.splice(2); // a broker crash lost the unsynced tail
    await clock.advance(600);
    expect(receiver.resets).toEqual([1]);
    follower.close();
  });

  test('stream follower - nothing is looked at before the core asked for the stream', async () => {
    const { clock, broker, receiver } = await setup();
    broker.exists = false;
    await clock.advance(2_000);
    expect(receiver.resets).toEqual([]);
    expect(receiver.rejoins).toEqual([]);
  });

  test('stream follower - a message that is not an event batch is delivered empty, in its place', async () => {
    const { clock, broker, follower, receiver } = await setup();
    follower.consumeFrom(1);
    await broker.publish('crdt.ops.r1', new TextEncoder().encode('garbage'), 'x');
    await clock.advance(10);
    expect(receiver.received).toEqual([{ seq: 1, batch: { v: 1, events: [] } }]);
    expect(decodeEventBatch(new TextEncoder().encode('garbage'))).toBeUndefined();
    follower.close();
  });
});
