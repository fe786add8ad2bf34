import { StreamCreateRefusedError } from './op-stream-error';
import type { ClockPort, LogPort, OpStreamPort, StreamBrokerPort, StreamReceiver, StrongNext, StrongPublish } from '../ports';
import { batchMessageId, decodeEventBatch, encodeEventBatch, type ReplicatedEvent } from '../replicated-event';
import { ConsumeLoop } from './consume-loop';
import { OpStreamError } from './op-stream-error';
import { StallWatchdog } from './stall-watchdog';
import { judgeStream } from './stream-verdict';

/** Settings of the op-stream rules (units last). */
export interface StreamFollowerOptions {
  /** The subject an origin's batches are published on (`<prefix>.ops.<origin>`). */
  readonly opsSubject: (origin: string) => string;
  /** The subject a key's strong writes are published on (`<prefix>.ops.~key.<key>`). */
  readonly strongSubject: (key: string) => string;
  /** How often the stream is looked at (lost, recreated, shorter, purged past us, consumer stalled). */
  readonly streamCheckMs: number;
  /** Events waiting for a group commit past which the consumer waits for the disk. */
  readonly commitBacklogMax: number;
  /** How long the position may stand still while the stream holds more before the consumer is restarted. */
  readonly stallMs: number;
  /** After a postponed re-join (a purge gap met by the consumer), when to read towards the gap again. */
  readonly rejoinRetryMs: number;
  /** Back-off between consumers after a failure. */
  readonly consumeRetryMsMin: number;
  readonly consumeRetryMsMax: number;
}

/** Production values (the simulator scales some down). */
export const DEFAULT_STREAM_RULES: Omit<StreamFollowerOptions, 'opsSubject' | 'strongSubject'> = {
  streamCheckMs: 2_000,
  commitBacklogMax: 20_000,
  stallMs: 3_000,
  rejoinRetryMs: 500,
  consumeRetryMsMin: 100,
  consumeRetryMsMax: 2_000,
};

/**
 * The op stream's rules, once for both worlds (STYLE.md, principle 5): the core's
 * `OpStreamPort` over a `StreamBrokerPort` that only moves bytes. It publishes batches
 * with their message id, delivers the stream to the core in order (`ConsumeLoop`), and
 * looks at the stream every `streamCheckMs` and after every failure (`judgeStream`): a
 * deleted stream is created again, a recreated or shorter one is read again from its
 * start while every replica republishes (`streamReset`), a stalled consumer is replaced,
 * and a stream purged past this replica's position makes it re-join from the snapshot.
 * Timers and time come from the `ClockPort`.
 */
export class StreamFollower implements OpStreamPort {
  private receiver: StreamReceiver | undefined;
  private loop: ConsumeLoop | undefined;
  /** Bumped by every `consumeFrom`: a retry scheduled for an older loop does nothing. */
  private generation = 0;
  private createdAt: string | undefined;
  /** The stream's `num_replicas` as last seen. */
  private replicas: number | undefined;
  private stopCheck: (() => void) | undefined;
  private checking = false;
  private rejoining = false;
  /** The stream's first sequence when the last re-join for a purge succeeded (see `purgedPast`). */
  private rejoinedAtFirst: number | undefined;
  private stopped = false;
  private readonly watchdog: StallWatchdog;

  constructor(
    private readonly broker: StreamBrokerPort,
    private readonly clock: ClockPort,
    private readonly log: LogPort,
    private readonly options: StreamFollowerOptions,
    /** The core threw into the stream rules: production exits and recovers from disk. */
    private readonly onCoreError: (err: unknown) => void,
  ) {
    this.watchdog = new StallWatchdog(options.stallMs);
  }

  /** Connects the core that receives the stream, and starts looking at the stream periodically. */
  attach(receiver: StreamReceiver): void {
    this.receiver = receiver;
    const loop = () => {
      if (this.stopped) return;
      this.check();
      this.stopCheck = this.clock.setTimer(this.options.streamCheckMs, loop);
    };
    this.stopCheck = this.clock.setTimer(this.options.streamCheckMs, loop);
  }

  /**
   * Creates the stream when missing. An existing stream keeps its configuration (the
   * adapter never overwrites limits an operator changed). False when the broker cannot be
   * reached (the periodic check tries again).
   */
  async ensureStream(): Promise<boolean> {
    try {
      let info = await this.broker.info();
      if (!info) {
        info = await this.broker.create();
        this.log.info('op stream ready', { firstSeq: info.firstSeq, lastSeq: info.lastSeq });
      }
      this.createdAt ??= info.created;
      this.replicas = info.replicas;
      return true;
    } catch (e) {
      // Refused: say why, in the server's words, and what to change. Unreachable: wait.
      if (e instanceof StreamCreateRefusedError) this.log.error('op stream cannot be created', { ...e.fields });
      else this.log.warn('op stream not reachable yet', { error: String(e) });
      return false;
    }
  }

  async publish(events: readonly ReplicatedEvent[], republish?: string): Promise<number> {
    const msgId = batchMessageId(events, republish);
    try {
      return await this.broker.publish(this.options.opsSubject(events[0].origin), encodeEventBatch(events), msgId);
    } catch (e) {
      // The stream may be gone: look now rather than at the next period.
      this.check();
      throw new OpStreamError(`publish of ${msgId} failed`, { cause: e });
    }
  }

  /**
   * A strong event goes alone, on its key's subject, conditional on the key's last strong
   * write; its message id is the event's (`batchMessageId`), so a retry after an unknown
   * outcome is stored once, and a copy of a stored event answers with its revision.
   */
  async publishStrong(event: ReplicatedEvent, expected: number): Promise<StrongPublish> {
    const msgId = batchMessageId([event]);
    let r;
    try {
      r = await this.broker.publishIfLast(this.options.strongSubject(event.key), encodeEventBatch([event]), msgId, expected);
    } catch (e) {
      this.check();
      throw new OpStreamError(`strong publish of ${msgId} failed`, { cause: e });
    }
    return r.ok ? { ok: true, revision: r.seq } : { ok: false, revision: r.lastSeq };
  }

  async strongRevision(key: string): Promise<number> {
    try {
      return await this.broker.lastSeqOn(this.options.strongSubject(key));
    } catch (e) {
      throw new OpStreamError(`the last strong write of ${JSON.stringify(key)} could not be read`, { cause: e });
    }
  }

  async strongNext(key: string, after: number): Promise<StrongNext> {
    const subject = this.options.strongSubject(key);
    try {
      const m = await this.broker.nextOn(subject, after + 1);
      const info = await this.broker.info();
      const firstSeq = info?.firstSeq ?? 1;
      const created = info?.created;
      const events = m ? decodeEventBatch(m.data)?.events : undefined;
      if (!m || !events || events.length !== 1) return { firstSeq, created };
      return { firstSeq, created, next: { revision: m.seq, origin: events[0].origin, seq: events[0].seq } };
    } catch (e) {
      throw new OpStreamError(`the strong write of ${JSON.stringify(key)} after revision ${after} could not be read`, { cause: e });
    }
  }

  streamReplicas(): number | undefined {
    return this.replicas;
  }

  incarnation(): string | undefined {
    return this.createdAt;
  }

  async lastSeq(): Promise<number> {
    let info;
    try {
      info = await this.broker.info();
    } catch (e) {
      throw new OpStreamError('stream info failed', { cause: e });
    }
    if (!info) throw new OpStreamError('stream info failed: the op stream does not exist');
    return info.lastSeq;
  }

  consumeFrom(seq: number): void {
    if (this.stopped || !this.receiver) return;
    const generation = ++this.generation;
    this.loop?.stop();
    const loop = new ConsumeLoop(
      this.broker,
      this.receiver,
      this.clock,
      this.log,
      {
        commitBacklogMax: this.options.commitBacklogMax,
        retryMsMin: this.options.consumeRetryMsMin,
        retryMsMax: this.options.consumeRetryMsMax,
        opsSubject: this.options.opsSubject,
        strongSubject: this.options.strongSubject,
      },
      {
        purgedPast: (wanted, first) => this.purgedPast(generation, wanted, first),
        consumerLost: () => this.check(),
        coreError: this.onCoreError,
      },
    );
    this.loop = loop;
    loop.start(seq);
  }

  /** Stops consuming and looking. */
  close(): void {
    this.stopped = true;
    this.generation++;
    this.stopCheck?.();
    this.loop?.stop();
  }

  /** Looks at the stream once (one look at a time), and heals what it finds. */
  check(): void {
    // Not before the core has loaded its state and asked for the stream (its first `consumeFrom`).
    if (this.stopped || !this.receiver || this.checking || this.generation === 0) return;
    this.checking = true;
    this.checkOnce()
      .catch((e: unknown) => this.onCoreError(e))
      .finally(() => (this.checking = false));
  }

  private async checkOnce(): Promise<void> {
    const receiver = this.receiver!;
    const consumedBefore = receiver.consumedSeq();
    let info;
    try {
      info = await this.broker.info();
    } catch {
      return; // unreachable: the next look, or the consumer's retry, tries again
    }
    if (this.stopped) return;
    if (info) this.replicas = info.replicas;
    if (!info) {
      this.log.warn('op stream is gone; recreating it');
      this.createdAt = undefined;
      if (await this.ensureStream()) receiver.streamReset(1);
      return;
    }
    const verdict = judgeStream({
      info,
      knownCreated: this.createdAt,
      consumedBefore,
      consumedAfter: receiver.consumedSeq(),
      stalled: this.watchdog.observe(consumedBefore, info.lastSeq, receiver.pendingCommitEvents(), this.clock.nowMs()),
      rejoining: this.rejoining,
    });
    switch (verdict.kind) {
      case 'recreated':
        this.createdAt = info.created;
        this.log.warn('op stream was recreated', { firstSeq: info.firstSeq });
        receiver.streamReset(verdict.fromSeq);
        break;
      case 'shorter':
        this.log.warn('op stream came back shorter than what this replica consumed', { lastSeq: info.lastSeq, consumed: consumedBefore });
        receiver.streamReset(verdict.fromSeq);
        break;
      case 'stalled':
        this.log.warn('consumer stalled; restarting it', { consumed: consumedBefore, lastSeq: info.lastSeq });
        this.consumeFrom(verdict.fromSeq);
        break;
      case 'purged-past':
        this.rejoin(`stream starts at ${info.firstSeq}, this replica consumed only ${consumedBefore}`, () => (this.rejoinedAtFirst = info.firstSeq));
        break;
      case 'ok':
        break;
    }
    this.createdAt ??= info.created;
  }

  /** The consumer met a purge gap: it has stopped; re-join, and read towards the gap again if the re-join is postponed. */
  private purgedPast(generation: number, wanted: number, first: number): void {
    if (this.rejoinedAtFirst === first) {
      // A re-join already loaded the newest snapshot and the stream still starts past it (an
      // older round purged further than the newest snapshot's position, which a held event
      // kept back): another re-join would load the same snapshot and meet the same gap,
      // forever. What the gap held is in that snapshot, or comes back through resend
      // requests; read on from the stream's first message.
      this.rejoinedAtFirst = undefined;
      this.log.warn('the newest snapshot does not reach the stream\'s first message; reading on from it', { wanted, first });
      this.consumeFrom(first);
      return;
    }
    this.log.warn('the stream was purged past this replica; re-joining', { wanted, first });
    this.rejoin(`stream starts at ${first}, this replica needs ${wanted}`, () => (this.rejoinedAtFirst = first), () => {
      this.clock.setTimer(this.options.rejoinRetryMs, () => {
        // Only if nothing restarted the consumer meanwhile (a re-join's load, a stream reset).
        if (!this.stopped && generation === this.generation) this.consumeFrom(wanted);
      });
    });
  }

  /** Starts a re-join unless one runs; `done` runs once it succeeded, `postponed` when the core could not re-join now. */
  private rejoin(reason: string, done: () => void, postponed?: () => void): void {
    if (this.rejoining) {
      postponed?.();
      return;
    }
    this.rejoining = true;
    this.receiver!.rejoin(reason)
      .then((ok) => {
        if (ok) done();
        if (ok || this.stopped) return;
        this.log.warn('re-join postponed');
        postponed?.();
      })
      .catch((e: unknown) => this.onCoreError(e))
      .finally(() => (this.rejoining = false));
  }
}
