import { DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  batchMessageId,
  decodeEventBatch,
  encodeEventBatch,
  type LogPort,
  type OpStreamPort,
  type ReplicatedEvent,
  type StreamReceiver,
} from '#replication';
import type { Subjects } from '#protocol';
import { batchFromItsOrigin } from './op-origin-guard';
import { opStreamConfig } from './op-stream-config';

/** A failure talking to JetStream, with the cause kept. */
export class OpStreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpStreamError';
  }
}

/** Options of the JetStream op stream adapter. */
export interface JetStreamOpStreamOptions {
  readonly streamName: string;
  readonly streamReplicas: number;
  readonly streamBytesMax: number;
  readonly publishTimeoutMs: number;
  /** How often the stream's health is checked (lost, recreated, truncated, purged past us). */
  readonly streamCheckMs: number;
  /** Events waiting for commit past which the consumer waits for the disk. */
  readonly commitBacklogMax: number;
}

/**
 * The op stream on JetStream: publishes batches with `Nats-Msg-Id` set, consumes with an
 * ordered consumer from the replica's stored position, and watches the stream so that a
 * deleted, recreated or truncated stream heals (the core republishes what it holds) and a
 * stream purged past this replica's position makes it re-join from the snapshot.
 */
export class JetStreamOpStream implements OpStreamPort {
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | undefined;
  private receiver: StreamReceiver | undefined;
  private generation = 0;
  private messages: ConsumerMessages | undefined;
  private createdAt: string | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rejoining = false;
  /** The consumer position last seen by the stall watchdog, and since when. */
  private watch = { consumed: -1, sinceMs: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly opts: JetStreamOpStreamOptions,
    private readonly log: LogPort,
  ) {
    this.js = jetstream(nc, { timeout: opts.publishTimeoutMs });
  }

  /** Connects the core that receives messages, and starts watching the stream. */
  attach(receiver: StreamReceiver): void {
    this.receiver = receiver;
    this.checkTimer = setInterval(() => void this.checkStream(), this.opts.streamCheckMs);
  }

  /**
   * Creates the stream when missing. An existing stream keeps its configuration: limits
   * an operator changed on purpose are not overwritten by a restarting replica.
   * Tolerates an unreachable server (false).
   */
  async ensureStream(): Promise<boolean> {
    try {
      const jsm = await this.manager();
      const config = opStreamConfig(this.opts.streamName, this.subjects.opsFilter, this.opts.streamReplicas, this.opts.streamBytesMax);
      try {
        const info = await jsm.streams.info(this.opts.streamName);
        this.createdAt ??= info.created;
        return true;
      } catch (e) {
        if (!isStreamNotFound(e)) throw e;
      }
      const info = await jsm.streams.add(config).catch(async (e) => {
        // Another replica created it first (with another config: 10058 "stream name already in use").
        if (e instanceof JetStreamApiError && e.code === STREAM_NAME_IN_USE) return jsm.streams.info(this.opts.streamName);
        throw e;
      });
      this.createdAt ??= info.created;
      this.log.info('op stream ready', { stream: this.opts.streamName, replicas: this.opts.streamReplicas });
      return true;
    } catch (e) {
      // The server refused to create it: say why, in its own words, and what to change.
      if (e instanceof JetStreamApiError) this.log.error('op stream cannot be created', creationFailure(e, this.opts));
      else this.log.warn('op stream not reachable yet', { error: String(e) });
      return false;
    }
  }

  async publish(events: readonly ReplicatedEvent[], republish?: string): Promise<number> {
    try {
      const ack = await this.js.publish(this.subjects.ops(events[0].origin), encodeEventBatch(events), {
        msgID: batchMessageId(events, republish),
        timeout: this.opts.publishTimeoutMs,
      });
      return ack.seq;
    } catch (e) {
      if (isStreamNotFound(e) || String(e).includes('no responders')) void this.checkStream();
      throw new OpStreamError(`publish of ${batchMessageId(events)} failed`, { cause: e });
    }
  }

  async lastSeq(): Promise<number> {
    const jsm = await this.manager();
    try {
      const info = await jsm.streams.info(this.opts.streamName);
      return info.state.last_seq;
    } catch (e) {
      throw new OpStreamError('stream info failed', { cause: e });
    }
  }

  consumeFrom(seq: number): void {
    const generation = ++this.generation;
    const old = this.messages;
    this.messages = undefined;
    void old?.close();
    void this.consumeLoop(Math.max(1, seq), generation);
  }

  /** Stops consuming and watching. */
  async close(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.checkTimer) clearInterval(this.checkTimer);
    await this.messages?.close();
  }

  private async consumeLoop(startSeq: number, generation: number): Promise<void> {
    let next = startSeq;
    for (let attempt = 0; generation === this.generation && !this.stopped; attempt++) {
      try {
        const consumer = await this.js.consumers.get(this.opts.streamName, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next });
        // Short pulls with idle heartbeats: a consumer lost with a NATS node is noticed in
        // seconds, not after the client's default of about 30 s.
        const messages = await consumer.consume({ max_messages: 1000, expires: 5_000, idle_heartbeat: 1_000 });
        if (generation !== this.generation) {
          await messages.close();
          return;
        }
        this.messages = messages;
        attempt = 0;
        for await (const m of messages) {
          if (generation !== this.generation) break;
          next = m.seq + 1;
          const batch = batchFromItsOrigin(this.subjects, m.subject, m.seq, decodeEventBatch(m.data), this.log);
          if (!batch) this.log.error('skipped a stream message that is not an event batch', { seq: m.seq, subject: m.subject });
          const done = this.receiver!.receive(batch ?? { v: 1, events: [] }, m.seq);
          // Let the disk keep up: wait for the group commit when too much is pending.
          if (this.receiver!.pendingCommitEvents() > this.opts.commitBacklogMax) await done;
        }
      } catch (e) {
        if (generation !== this.generation || this.stopped) return;
        this.log.warn('consumer stopped; retrying', { error: String(e), from: next });
      }
      await sleep(Math.min(100 * 2 ** attempt, 2_000));
      void this.checkStream();
    }
  }

  /** Detects a lost, recreated, truncated or purged-past stream and heals. */
  private async checkStream(): Promise<void> {
    if (this.stopped || !this.receiver) return;
    let jsm: JetStreamManager;
    try {
      jsm = await this.manager();
    } catch {
      return;
    }
    try {
      // Read our position BEFORE asking: the consumer moves on while the request is out, and
      // a position read after it can pass the stream's answer and look like a shorter stream.
      const consumed = this.receiver.consumedSeq();
      const info = await jsm.streams.info(this.opts.streamName);
      if (this.createdAt !== undefined && info.created !== this.createdAt) {
        this.createdAt = info.created;
        this.log.warn('op stream was recreated', { stream: this.opts.streamName });
        this.receiver.streamReset(info.state.first_seq);
      } else if (info.state.last_seq < consumed) {
        this.log.warn('op stream came back shorter than what this replica consumed', { lastSeq: info.state.last_seq, consumed });
        this.receiver.streamReset(info.state.last_seq + 1);
      } else if (this.stalled(info.state.last_seq, consumed)) {
        // The stream has more than we read and our position has not moved for a while, with
        // nothing waiting for the disk: the consumer is stuck (its server died); start another.
        this.log.warn('consumer stalled; restarting it', { consumed, lastSeq: info.state.last_seq });
        this.consumeFrom(consumed + 1);
      } else if (info.state.first_seq > this.receiver.consumedSeq() + 1 && info.state.last_seq > consumed && !this.rejoining) {
        // (A fresh position here: a purge while the request was out must not look like one past us.)
        // Purged past our position (we missed a round): what we lack is only in the snapshot.
        this.rejoining = true;
        const ok = await this.receiver.rejoin(`stream starts at ${info.state.first_seq}, this replica consumed only ${consumed}`).finally(() => (this.rejoining = false));
        if (!ok) this.log.warn('re-join postponed');
      }
      this.createdAt ??= info.created;
    } catch (e) {
      if (!isStreamNotFound(e)) return;
      this.log.warn('op stream is gone; recreating it', { stream: this.opts.streamName });
      this.createdAt = undefined;
      if (await this.ensureStream()) this.receiver.streamReset(1);
    }
  }

  /** True when the consumer has not moved for `stallMs` although the stream holds more. */
  private stalled(lastSeq: number, consumed: number): boolean {
    const now = Date.now();
    if (consumed !== this.watch.consumed || lastSeq <= consumed || this.receiver!.pendingCommitEvents() > 0) {
      this.watch = { consumed, sinceMs: now };
      return false;
    }
    if (now - this.watch.sinceMs < STALL_MS) return false;
    this.watch = { consumed, sinceMs: now };
    return true;
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.opts.publishTimeoutMs });
    return this.jsm;
  }
}

/** How long the position may stand still while the stream holds more before the consumer is restarted. */
const STALL_MS = 3_000;

/** JetStream's "stream name already in use" (another config). */
const STREAM_NAME_IN_USE = 10058;
/** JetStream's "insufficient storage resources available": max_bytes exceeds the server's max_file_store. */
const INSUFFICIENT_RESOURCES = 10047;

/** Log fields of a refused stream creation: the server's error, and the setting to change when it is a size. */
function creationFailure(e: JetStreamApiError, opts: JetStreamOpStreamOptions): Record<string, unknown> {
  const fields: Record<string, unknown> = { stream: opts.streamName, code: e.code, error: e.message, maxBytes: opts.streamBytesMax };
  if (e.code === INSUFFICIENT_RESOURCES) {
    fields.hint = `the stream's size (${opts.streamBytesMax} bytes) exceeds what this server's JetStream may store: lower CRDT_STREAM_BYTES_MAX, or raise the server's jetstream max_file_store`;
  }
  return fields;
}

function isStreamNotFound(e: unknown): boolean {
  if (e instanceof JetStreamApiError) return e.code === JetStreamApiCodes.StreamNotFound;
  return String((e as Error)?.message ?? e).includes('stream not found');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
