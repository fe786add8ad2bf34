import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { opStreamConfig } from '#app-replica/nats/op-stream-config';

/**
 * The broker's own JetStream publish rate, as the yardstick for the cluster's write
 * throughput: `js.publish` of N messages of a fixed size to a scratch stream configured
 * like the op stream (file storage, same limits and duplicate window), with a window of
 * publishes in flight. The scratch stream is deleted afterwards.
 */

/** Options of `measureJetStreamPublish`. */
export interface PublishBaselineOptions {
  readonly messages: number;
  readonly messageBytes: number;
  /** Publishes awaiting their ack at any time. */
  readonly inFlightMax: number;
  readonly warmupMessages: number;
}

/** What the publish baseline found. */
export interface PublishBaselineResult {
  readonly messages: number;
  readonly messageBytes: number;
  readonly inFlightMax: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
}

const STREAM = 'BENCH_SCRATCH';
const SUBJECT = 'bench.scratch.data';
const STREAM_BYTES_MAX = 1024 ** 3;

/** Publishes into a scratch stream and reports acknowledged messages per second. */
export async function measureJetStreamPublish(nc: NatsConnection, o: PublishBaselineOptions): Promise<PublishBaselineResult> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add(opStreamConfig(STREAM, 'bench.scratch.>', 1, STREAM_BYTES_MAX));
  try {
    const js = jetstream(nc, { timeout: 10_000 });
    // A JSON-ish body of the requested size, like an event batch on the op stream.
    const payload = Buffer.from(JSON.stringify({ v: 1, pad: 'x'.repeat(Math.max(0, o.messageBytes - 18)) }));
    const run = async (count: number): Promise<number> => {
      let next = 0;
      const t0 = performance.now();
      // `inFlightMax` loops, each with one publish outstanding: a sliding window of that size.
      await Promise.all(
        Array.from({ length: Math.min(o.inFlightMax, count) }, async () => {
          while (next < count) {
            next++;
            await js.publish(SUBJECT, payload);
          }
        }),
      );
      return (performance.now() - t0) / 1000;
    };
    await run(o.warmupMessages);
    const seconds = await run(o.messages);
    return {
      messages: o.messages,
      messageBytes: payload.length,
      inFlightMax: o.inFlightMax,
      seconds,
      msgsPerSec: o.messages / seconds,
      mbPerSec: (o.messages * payload.length) / seconds / 1e6,
    };
  } finally {
    await jsm.streams.delete(STREAM).catch(() => undefined);
  }
}
