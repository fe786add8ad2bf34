import type { LogPort, OpStreamPort, StreamReceiver } from '#replication/ports';
import { batchMessageId, decodeEventBatch, encodeEventBatch, type EventBatch, type ReplicatedEvent } from '#replication/replicated-event';
import type { BrokerClient } from './broker-client';
import type { Prng } from './prng';
import type { SimBroker, StreamInfo } from './sim-broker';
import type { SimNetwork } from './sim-network';
import type { Life, Scheduler } from './scheduler';


/**
 * Which rules the simulated adapter follows: `production` mirrors
 * apps/replica/src/nats/jetstream-op-stream.ts as it is (including its check reading the
 * consumer position before asking for the stream's info, a fix this simulator motivated);
 * `proposed` adds the fixes for the adapter bugs the simulator found that production does
 * not have yet (see the report):
 *
 * 2. the consumer notices when the first message it gets is past the one it asked for
 *    (the stream was purged past it) and re-joins at once, instead of applying what
 *    follows the gap and never noticing (the periodic check compares positions only
 *    after the consumer has already moved past the gap);
 * 3. a stream that came back shorter is read again from its first message, not from
 *    its new end: after a re-creation (seen by a replica that was down) or a tail loss
 *    the sequence numbers past the old end name other messages;
 * 4. the purged-past test uses the position read after the answer as well: one read
 *    before it may predate the core's start (position 0) and start a needless re-join.
 */
export type AdapterRules = 'production' | 'proposed';

/** Settings of the simulated adapter (the production adapter's options). */
export interface SimOpStreamOptions {
  readonly publishTimeoutMs: number;
  readonly streamCheckMs: number;
  readonly commitBacklogMax: number;
  readonly rules: AdapterRules;
}

/** Stream faults shared by every replica (the fault schedule changes them). */
export interface StreamFaults {
  /** Probability that a publish's ack is lost after the server stored the batch. */
  ackLossP: number;
}

/** A publish that failed, with its cause (the production `OpStreamError`). */
export class SimOpStreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimOpStreamError';
  }
}

const NOT_FOUND = 'stream not found';

/**
 * The op-stream adapter of one replica lifetime, mirroring
 * apps/replica/src/nats/jetstream-op-stream.ts rule for rule: publishes with the batch's
 * message id; an ordered consumer that delivers in stream order from a start sequence,
 * retries with back-off when the broker is unreachable, and does not wait for the core
 * unless too much is pending; and the periodic stream check that turns a recreated,
 * shortened or purged-past stream into `streamReset` or `rejoin`.
 */
export class SimOpStream implements OpStreamPort {
  private receiver: StreamReceiver | undefined;
  private generation = 0;
  private next = 1;
  private createdAt: string | undefined;
  private rejoining = false;
  private stopped = false;
  private cancelWait: (() => void) | undefined;
  /** An idle check is scheduled (one at a time). */
  private idleCheck = false;
  /** Messages handed to the core, for the report. */
  delivered = 0;

  constructor(
    private readonly self: string,
    private readonly life: Life,
    private readonly client: BrokerClient,
    private readonly broker: SimBroker,
    private readonly net: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly log: LogPort,
    private readonly options: SimOpStreamOptions,
    private readonly faults: StreamFaults,
    /** The core threw into the adapter: production would crash on the unhandled rejection. */
    private readonly onCoreError: (err: unknown) => void,
    private readonly trace: (line: string) => void,
  ) {}

  /** Connects the core and starts watching the stream (the production `attach`). */
  attach(receiver: StreamReceiver): void {
    this.receiver = receiver;
    const loop = () => {
      if (!this.life.alive || this.stopped) return;
      void this.checkStream().catch(this.onCoreError);
      this.scheduler.after(this.options.streamCheckMs, `check ${this.self}`, loop);
    };
    this.scheduler.after(this.options.streamCheckMs, `check ${this.self}`, loop);
  }

  /** Creates the stream when missing; false when the broker cannot be reached. */
  async ensureStream(): Promise<boolean> {
    try {
      const info = await this.client.call('ensure stream', this.options.publishTimeoutMs, (b) => b.info() ?? b.create());
      this.createdAt ??= info.created;
      return true;
    } catch (e) {
      this.log.warn('op stream not reachable yet', { error: String(e) });
      return false;
    }
  }

  async publish(events: readonly ReplicatedEvent[], republish?: string): Promise<number> {
    const msgId = batchMessageId(events, republish);
    const data = Buffer.from(encodeEventBatch(events)).toString('utf8');
    try {
      return await this.client.call(
        `publish ${msgId}`,
        this.options.publishTimeoutMs,
        (b) => {
          const r = b.publish(msgId, data, this.scheduler.nowMs);
          if (!r.ok) throw new Error(r.error);
          this.trace(`stream stored ${msgId} from ${this.self} at #${r.seq}${r.duplicate ? ' (duplicate)' : ''}`);
          return r.seq;
        },
        () => this.prng.chance(this.faults.ackLossP),
      );
    } catch (e) {
      if (String(e).includes(NOT_FOUND) || String(e).includes('no responders')) void this.checkStream().catch(this.onCoreError);
      throw new SimOpStreamError(`publish of ${msgId} failed`, { cause: e });
    }
  }

  async lastSeq(): Promise<number> {
    const info = await this.client.call('stream info', this.options.publishTimeoutMs, (b) => b.info());
    if (!info) throw new SimOpStreamError('stream info failed', { cause: new Error(NOT_FOUND) });
    return info.last_seq;
  }

  consumeFrom(seq: number): void {
    const generation = ++this.generation;
    this.cancelWait?.();
    this.cancelWait = undefined;
    this.next = Math.max(1, seq);
    this.scheduler.after(this.net.delay(), `consume ${this.self}`, () => this.pump(generation, 0));
  }

  /** Stops consuming and watching (the process is going away). */
  close(): void {
    this.stopped = true;
    this.generation++;
    this.cancelWait?.();
  }

  /** A consumer hiccup: the next delivery starts `back` messages earlier (duplicates the core must ignore). */
  redeliver(back: number): void {
    this.next = Math.max(1, this.next - back);
    if (this.cancelWait) {
      this.cancelWait();
      this.cancelWait = undefined;
      const generation = this.generation;
      this.scheduler.after(this.net.delay(), `consume ${this.self}`, () => this.pump(generation, 0));
    }
  }

  /** Delivers what the stream has from `next` on, a burst at a time; waits at the end. */
  private pump(generation: number, attempt: number): void {
    if (generation !== this.generation || !this.life.alive || this.stopped || !this.receiver) return;
    if (!this.client.connected || !this.broker.exists) {
      // The consumer fails while the server or the stream is gone; the production loop
      // backs off, checks the stream, and starts again from where it was.
      this.scheduler.after(Math.min(100 * 2 ** attempt, 2_000), `consume retry ${this.self}`, () => {
        void this.checkStream().catch(this.onCoreError);
        this.pump(generation, attempt + 1);
      });
      return;
    }
    const burst = this.prng.int(1, 8);
    for (let i = 0; i < burst; i++) {
      const m = this.broker.messageFrom(this.next);
      if (!m) break;
      if (m.seq > this.next && this.next > 1 && m.seq > this.receiver.consumedSeq() + 1 && this.options.rules === 'proposed') {
        // Messages are numbered without holes; a hole after what the core has consumed is a
        // purge past it (asking for 1 means "from whatever the stream still has").
        this.purgedPast(generation, m.seq);
        return;
      }
      this.next = m.seq + 1;
      const batch = decodeEventBatch(Buffer.from(m.data, 'utf8'));
      if (!batch) this.log.error('skipped a stream message that is not an event batch', { seq: m.seq });
      this.delivered++;
      const done = this.receiver.receive(batch ?? { v: 1, events: [] }, m.seq);
      done.catch(this.onCoreError);
      if (this.receiver.pendingCommitEvents() > this.options.commitBacklogMax) {
        // Let the disk keep up, as the production loop does.
        void done.then(() => this.scheduler.after(this.net.delay(), `consume ${this.self}`, () => this.pump(generation, 0)));
        return;
      }
      if (generation !== this.generation) return;
    }
    if (this.broker.messageFrom(this.next)) {
      this.scheduler.after(this.net.delay(), `consume ${this.self}`, () => this.pump(generation, 0));
      return;
    }
    this.cancelWait?.();
    this.cancelWait = this.broker.onNextAppend(() => {
      this.cancelWait = undefined;
      this.scheduler.after(this.net.delay(), `consume ${this.self}`, () => this.pump(generation, 0));
    });
    // A consumer waiting at the end also notices a lost server (its idle heartbeats stop).
    this.armIdleCheck();
  }

  /** While the consumer waits at the stream's end, checks once a second that the server is still there. */
  private armIdleCheck(): void {
    if (this.idleCheck) return;
    this.idleCheck = true;
    this.scheduler.after(1_000, `consume idle ${this.self}`, () => {
      this.idleCheck = false;
      if (!this.life.alive || this.stopped || !this.cancelWait) return;
      if (this.client.connected) {
        this.armIdleCheck();
        return;
      }
      this.cancelWait();
      this.cancelWait = undefined;
      this.pump(this.generation, 0);
    });
  }

  /** Proposed rule 2: the consumer met a purge; stop delivering and re-join (again later if postponed). */
  private purgedPast(generation: number, firstSeq: number): void {
    const receiver = this.receiver!;
    this.generation++;
    const from = this.next;
    this.log.warn('the stream was purged past this replica; re-joining', { wanted: from, first: firstSeq });
    if (this.rejoining) return;
    this.rejoining = true;
    void receiver
      .rejoin(`stream starts at ${firstSeq}, this replica needs ${from}`)
      .then((ok) => {
        if (ok || !this.life.alive || this.stopped) return;
        this.log.warn('re-join postponed', {});
        // Try again from the same place: the consumer meets the hole again.
        this.scheduler.after(500, `rejoin retry ${this.self}`, () => {
          if (this.life.alive && generation + 1 === this.generation) this.consumeFrom(from);
        });
      })
      .catch(this.onCoreError)
      .finally(() => (this.rejoining = false));
  }

  /** Detects a lost, recreated, truncated or purged-past stream and heals (the production rules). */
  private async checkStream(): Promise<void> {
    if (this.stopped || !this.receiver || !this.life.alive) return;
    const proposed = this.options.rules === 'proposed';
    // Read the position before asking: the consumer moves on while the request is out.
    const consumed = this.receiver.consumedSeq();
    let info: StreamInfo | typeof NOT_FOUND;
    try {
      info = await this.client.call('stream info', this.options.publishTimeoutMs, (b) => b.info() ?? NOT_FOUND);
    } catch {
      return;
    }
    if (info === NOT_FOUND) {
      this.log.warn('op stream is gone; recreating it', {});
      this.createdAt = undefined;
      if (await this.ensureStream()) this.receiver.streamReset(1);
      return;
    }
    if (this.createdAt !== undefined && info.created !== this.createdAt) {
      this.createdAt = info.created;
      this.log.warn('op stream was recreated', {});
      this.receiver.streamReset(info.first_seq);
    } else if (info.last_seq < consumed) {
      this.log.warn('op stream came back shorter than what this replica consumed', { lastSeq: info.last_seq, consumed });
      this.receiver.streamReset(proposed ? Math.max(1, info.first_seq) : info.last_seq + 1);
    } else if (info.first_seq > (proposed ? Math.max(consumed, this.receiver.consumedSeq()) : consumed) + 1 && info.last_seq > consumed && !this.rejoining) {
      // Purged past our position (we missed a round): what we lack is only in the snapshot.
      this.rejoining = true;
      const ok = await this.receiver.rejoin(`stream starts at ${info.first_seq}, this replica consumed only ${consumed}`).finally(() => (this.rejoining = false));
      if (!ok) this.log.warn('re-join postponed', {});
    }
    this.createdAt ??= info.created;
  }
}
