import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** The op stream could not be purged. Keeps the client's error as `cause`. */
export class StreamPurgeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StreamPurgeError';
  }
}

/** Purges the op stream below a sequence after a committed round (`jsm.streams.purge(stream, { seq })`). */
export class StreamPurger {
  private jsm: JetStreamManager | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly streamName: string,
    private readonly timeoutMs: number,
  ) {}

  /** Removes every message with sequence < `keepFromSeq`; resolves with how many went. */
  async purge(keepFromSeq: number): Promise<number> {
    try {
      this.jsm ??= await jetstreamManager(this.nc, { timeout: this.timeoutMs });
      const r = await this.jsm.streams.purge(this.streamName, { seq: keepFromSeq });
      return r.purged;
    } catch (e) {
      throw new StreamPurgeError(`stream ${this.streamName} not purged below ${keepFromSeq}: ${(e as Error)?.message ?? e}`, { cause: e });
    }
  }
}
