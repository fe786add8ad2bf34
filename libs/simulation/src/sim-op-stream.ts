import type { BrokerConsumer, BrokerMessage, BrokerStreamInfo, ConditionalPublish, StreamBrokerPort } from '#replication/ports';
import type { BrokerClient } from './broker-client';
import type { Prng } from './prng';
import type { SimBroker, StoredMessage, StreamInfo } from './sim-broker';
import type { SimNetwork } from './sim-network';
import type { Cancel, Life, Scheduler } from './scheduler';

/** Stream faults shared by every replica (the fault schedule changes them). */
export interface StreamFaults {
  /** Probability that a publish's ack is lost after the server stored the batch. */
  ackLossP: number;
}

/** How often a consumer waiting at the end of the stream hears the server's idle heartbeat. */
const IDLE_HEARTBEAT_MS = 1_000;

/**
 * One replica lifetime's connection to the simulated JetStream, as the `StreamBrokerPort`
 * (the production `JetStreamBroker`'s place): publishes travel to the broker and their
 * acks back (an ack may be lost after the batch was stored), info and create are
 * requests, and a consumer delivers what the stream holds in bursts. It holds no rule
 * about the stream: the replica's real `StreamFollower` runs above it.
 */
export class SimStreamBroker implements StreamBrokerPort {
  private current: SimConsumer | undefined;

  constructor(
    private readonly self: string,
    private readonly life: Life,
    private readonly client: BrokerClient,
    private readonly broker: SimBroker,
    private readonly net: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly requestTimeoutMs: number,
    private readonly faults: StreamFaults,
    private readonly trace: (line: string) => void,
  ) {}

  publish(subject: string, data: Uint8Array, msgId: string): Promise<number> {
    const text = Buffer.from(data).toString('utf8');
    return this.client.call(
      `publish ${msgId}`,
      this.requestTimeoutMs,
      (b) => {
        const r = b.publish(msgId, subject, text, this.scheduler.nowMs);
        if (!r.ok) throw new Error(r.error);
        this.trace(`stream stored ${msgId} from ${this.self} at #${r.seq}${r.duplicate ? ' (duplicate)' : ''}`);
        return r.seq;
      },
      () => this.prng.chance(this.faults.ackLossP),
    );
  }

  publishIfLast(subject: string, data: Uint8Array, msgId: string, expectedLastSeq: number): Promise<ConditionalPublish> {
    const text = Buffer.from(data).toString('utf8');
    return this.client.call(
      `publish ${msgId} if ${subject} at #${expectedLastSeq}`,
      this.requestTimeoutMs,
      (b): ConditionalPublish => {
        const r = b.publish(msgId, subject, text, this.scheduler.nowMs, 'replica', expectedLastSeq);
        if (!r.ok && r.wrongLastSeq !== undefined) {
          this.trace(`stream refused ${msgId} from ${this.self}: ${subject} is at #${r.wrongLastSeq}, not #${expectedLastSeq}`);
          return { ok: false, lastSeq: r.wrongLastSeq };
        }
        if (!r.ok) throw new Error(r.error);
        this.trace(`stream stored ${msgId} from ${this.self} at #${r.seq}${r.duplicate ? ' (duplicate)' : ''} on ${subject}`);
        return { ok: true, seq: r.seq };
      },
      () => this.prng.chance(this.faults.ackLossP),
    );
  }

  nextOn(subject: string, fromSeq: number): Promise<BrokerMessage | undefined> {
    return this.client.call(`next on ${subject} from #${fromSeq}`, this.requestTimeoutMs, (b) => {
      const m = b.nextOn(subject, fromSeq);
      return m && { seq: m.seq, subject: m.subject, data: Buffer.from(m.data, 'utf8') };
    });
  }

  lastSeqOn(subject: string): Promise<number> {
    return this.client.call(`last of ${subject}`, this.requestTimeoutMs, (b) => b.lastSeqOn(subject));
  }

  async info(): Promise<BrokerStreamInfo | undefined> {
    const info = await this.client.call('stream info', this.requestTimeoutMs, (b) => b.info());
    return info && infoOf(info);
  }

  async create(): Promise<BrokerStreamInfo> {
    return infoOf(await this.client.call('create stream', this.requestTimeoutMs, (b) => b.create()));
  }

  async consume(fromSeq: number): Promise<BrokerConsumer> {
    const created = await this.client.call('create consumer', this.requestTimeoutMs, (b) => {
      const info = b.info();
      if (!info) throw new Error('stream not found');
      return info.created;
    });
    this.current?.close();
    this.current = new SimConsumer(this.self, this.life, this.client, this.broker, this.net, this.scheduler, this.prng, created, fromSeq);
    return this.current;
  }

  /** A consumer hiccup: the next delivery starts `back` messages earlier (duplicates the core must ignore). */
  redeliver(back: number): void {
    this.current?.redeliver(back);
  }

  /** The process is going away. */
  close(): void {
    this.current?.close();
  }
}

/**
 * A JetStream ordered consumer: fetches a burst of messages from its cursor after a
 * network delay; at the end of the stream it waits for the next append, and fails when
 * its idle heartbeats stop (the server or the link is gone) or its stream is gone.
 */
class SimConsumer implements BrokerConsumer {
  private cursor: number;
  private handed: number;
  private buffer: StoredMessage[] = [];
  private closed = false;
  private waiter: { resolve: (m: BrokerMessage | undefined) => void; reject: (e: unknown) => void } | undefined;
  private fetchScheduled = false;
  private cancelWait: Cancel | undefined;
  private idleArmed = false;

  constructor(
    private readonly self: string,
    private readonly life: Life,
    private readonly client: BrokerClient,
    private readonly broker: SimBroker,
    private readonly net: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly created: string,
    fromSeq: number,
  ) {
    this.cursor = Math.max(1, fromSeq);
    this.handed = this.cursor - 1;
  }

  next(): Promise<BrokerMessage | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const m = this.buffer.shift();
    if (m) return Promise.resolve(this.hand(m));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.fetchLater();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer = [];
    this.cancelWait?.();
    this.cancelWait = undefined;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(undefined);
  }

  redeliver(back: number): void {
    if (this.closed) return;
    this.buffer = [];
    this.cursor = Math.max(1, this.handed + 1 - back);
    if (this.cancelWait) {
      this.cancelWait();
      this.cancelWait = undefined;
      this.fetchLater();
    }
  }

  private hand(m: StoredMessage): BrokerMessage {
    this.handed = m.seq;
    return { seq: m.seq, subject: m.subject, data: Buffer.from(m.data, 'utf8') };
  }

  private get streamGone(): boolean {
    return this.broker.info()?.created !== this.created;
  }

  private fetchLater(): void {
    if (this.fetchScheduled) return;
    this.fetchScheduled = true;
    this.scheduler.after(this.net.delay(), `consume ${this.self}`, () => {
      this.fetchScheduled = false;
      this.fetch();
    });
  }

  private fetch(): void {
    if (this.closed || !this.life.alive || !this.waiter) return;
    if (!this.client.connected || this.streamGone) {
      this.fail('consumer lost: the server or its stream is gone');
      return;
    }
    const burst = this.prng.int(1, 8);
    for (let i = 0; i < burst; i++) {
      const m = this.broker.messageFrom(this.cursor);
      if (!m) break;
      this.buffer.push(m);
      this.cursor = m.seq + 1;
    }
    const first = this.buffer.shift();
    if (first) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(this.hand(first));
      return;
    }
    // At the end: wait for the next append; meanwhile the idle heartbeats tell a lost server.
    this.cancelWait = this.broker.onNextAppend(() => {
      this.cancelWait = undefined;
      this.fetchLater();
    });
    this.armIdle();
  }

  private armIdle(): void {
    if (this.idleArmed) return;
    this.idleArmed = true;
    this.scheduler.after(IDLE_HEARTBEAT_MS, `consume idle ${this.self}`, () => {
      this.idleArmed = false;
      if (this.closed || !this.life.alive || !this.cancelWait) return;
      if (this.client.connected && !this.streamGone) {
        this.armIdle();
        return;
      }
      this.cancelWait();
      this.cancelWait = undefined;
      this.fail('consumer lost: idle heartbeats stopped');
    });
  }

  private fail(why: string): void {
    const w = this.waiter;
    this.waiter = undefined;
    this.closed = true;
    w?.reject(new Error(why));
  }
}

function infoOf(i: StreamInfo): BrokerStreamInfo {
  // The simulated broker is one server: a conditional publish is checked atomically.
  return { firstSeq: i.first_seq, lastSeq: i.last_seq, created: i.created, replicas: 1 };
}
