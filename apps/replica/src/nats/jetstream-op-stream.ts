import { DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type MsgRequest, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { StreamCreateRefusedError, type BrokerConsumer, type ConditionalPublish, type BrokerMessage, type BrokerStreamInfo, type StreamBrokerPort } from '#replication';
import { opStreamConfig } from './op-stream-config';

/** Options of the JetStream broker adapter. */
export interface JetStreamBrokerOptions {
  readonly streamName: string;
  /** The stream's subjects filter (`<prefix>.ops.>`). */
  readonly subjectsFilter: string;
  readonly streamReplicas: number;
  readonly streamBytesMax: number;
  /** Timeout of a publish and of a JetStream API request. */
  readonly publishTimeoutMs: number;
}

/**
 * The op stream's broker on JetStream, and nothing more: publish with `Nats-Msg-Id`, an
 * ordered consumer from a start sequence, the stream's info, and its creation. Every rule
 * about what the stream's state means lives in libs/replication (`StreamFollower`).
 */
export class JetStreamBroker implements StreamBrokerPort {
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: JetStreamBrokerOptions,
  ) {
    this.js = jetstream(nc, { timeout: opts.publishTimeoutMs });
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<number> {
    const ack = await this.js.publish(subject, data, { msgID: msgId, timeout: this.opts.publishTimeoutMs });
    return ack.seq;
  }

  /**
   * `Nats-Expected-Last-Subject-Sequence` with `Nats-Msg-Id`: the server checks the id
   * first, so a retry of a stored message is acknowledged as a duplicate with its
   * sequence, and the condition second, refused with 10071 "wrong last sequence: N".
   */
  async publishIfLast(subject: string, data: Uint8Array, msgId: string, expectedLastSeq: number): Promise<ConditionalPublish> {
    try {
      const ack = await this.js.publish(subject, data, { msgID: msgId, expect: { lastSubjectSequence: expectedLastSeq }, timeout: this.opts.publishTimeoutMs });
      return { ok: true, seq: ack.seq };
    } catch (e) {
      const last = wrongLastSequence(e);
      if (last !== undefined) return { ok: false, lastSeq: last };
      throw e;
    }
  }

  async lastSeqOn(subject: string): Promise<number> {
    const jsm = await this.manager();
    // STREAM.MSG.GET is answered by the stream's leader from its log (the stream has no direct get).
    const m = await jsm.streams.getMessage(this.opts.streamName, { last_by_subj: subject });
    return m ? m.seq : 0;
  }

  async nextOn(subject: string, fromSeq: number): Promise<BrokerMessage | undefined> {
    const jsm = await this.manager();
    // STREAM.MSG.GET with next_by_subj: the first message on the subject at or after the sequence.
    // (nats-server 2.9+ answers it; the client's `MsgRequest` type does not list the form.)
    const m = await jsm.streams.getMessage(this.opts.streamName, { seq: fromSeq, next_by_subj: subject } as unknown as MsgRequest);
    return m ? { seq: m.seq, subject: m.subject, data: m.data } : undefined;
  }

  async consume(fromSeq: number): Promise<BrokerConsumer> {
    const consumer = await this.js.consumers.get(this.opts.streamName, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq });
    // Short pulls with idle heartbeats: a consumer lost with a NATS node is noticed in
    // seconds, not after the client's default of about 30 s.
    const messages = await consumer.consume({ max_messages: 1000, expires: 5_000, idle_heartbeat: 1_000 });
    return new JetStreamConsumer(messages);
  }

  async info(): Promise<BrokerStreamInfo | undefined> {
    const jsm = await this.manager();
    try {
      return infoOf(await jsm.streams.info(this.opts.streamName));
    } catch (e) {
      if (isStreamNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * Creates the stream with the configuration in `opStreamConfig` when missing. Another
   * replica may create it first: then its info is the answer.
   */
  async create(): Promise<BrokerStreamInfo> {
    const jsm = await this.manager();
    const config = opStreamConfig(this.opts.streamName, this.opts.subjectsFilter, this.opts.streamReplicas, this.opts.streamBytesMax);
    const info = await jsm.streams.add(config).catch(async (e: unknown) => {
      // Another replica created it first (with another config: 10058 "stream name already in use").
      if (e instanceof JetStreamApiError && e.code === STREAM_NAME_IN_USE) return jsm.streams.info(this.opts.streamName);
      // The server refused: keep its code and words, and name the setting to change.
      if (e instanceof JetStreamApiError) throw new StreamCreateRefusedError(`the server refused to create stream ${this.opts.streamName}: ${e.message}`, creationFailure(e, this.opts), { cause: e });
      throw e;
    });
    return infoOf(info);
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.opts.publishTimeoutMs });
    return this.jsm;
  }
}

/** An ordered JetStream consumer as a `BrokerConsumer`. */
class JetStreamConsumer implements BrokerConsumer {
  private readonly it: AsyncIterator<{ seq: number; subject: string; data: Uint8Array }>;
  private closed = false;

  constructor(private readonly messages: ConsumerMessages) {
    this.it = messages[Symbol.asyncIterator]();
  }

  async next(): Promise<BrokerMessage | undefined> {
    if (this.closed) return undefined;
    const r = await this.it.next();
    if (r.done || this.closed) return undefined;
    return { seq: r.value.seq, subject: r.value.subject, data: r.value.data };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.messages.close().catch(() => undefined);
  }
}

/** JetStream's "stream name already in use" (another config). */
const STREAM_NAME_IN_USE = 10058;
/** JetStream's "insufficient storage resources available": max_bytes exceeds the server's max_file_store. */
const INSUFFICIENT_RESOURCES = 10047;

/** Log fields of a refused stream creation: the server's error, and the setting to change when it is a size. */
function creationFailure(e: JetStreamApiError, opts: JetStreamBrokerOptions): Record<string, unknown> {
  const fields: Record<string, unknown> = { stream: opts.streamName, code: e.code, error: e.message, maxBytes: opts.streamBytesMax };
  if (e.code === INSUFFICIENT_RESOURCES) {
    fields.hint = `the stream's size (${opts.streamBytesMax} bytes) exceeds what this server's JetStream may store: lower CRDT_STREAM_BYTES_MAX, or raise the server's jetstream max_file_store`;
  }
  return fields;
}

/** The subject's last sequence from a refused conditional publish (10071 "wrong last sequence: N"), or undefined for any other failure. */
function wrongLastSequence(e: unknown): number | undefined {
  if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.StreamWrongLastSequence) return undefined;
  const m = /wrong last sequence: (\d+)/.exec(e.message);
  if (!m) throw new Error(`a refused conditional publish without the subject's last sequence: ${e.message}`, { cause: e });
  return Number(m[1]);
}

function infoOf(info: StreamInfo): BrokerStreamInfo {
  return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, created: info.created, replicas: info.config.num_replicas ?? 1 };
}

function isStreamNotFound(e: unknown): boolean {
  if (e instanceof JetStreamApiError) return e.code === JetStreamApiCodes.StreamNotFound;
  return String((e as Error)?.message ?? e).includes('stream not found');
}
