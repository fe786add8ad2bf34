import type { BrokerStreamInfo } from '../ports';

/**
 * What one look at the stream concludes, and so what the follower does:
 * - `recreated`, `shorter`: the sequence numbers past what this replica read name other
 *   messages now; every replica republishes what no round has confirmed and reads the
 *   stream again from `fromSeq` (the core's `streamReset`);
 * - `stalled`: the consumer stopped although the stream holds more; start another at `fromSeq`;
 * - `purged-past`: the stream starts after this replica's position (it missed a round), so
 *   what it lacks is only in the snapshot: re-join;
 * - `ok`: nothing to do.
 */
export type StreamVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'recreated'; readonly fromSeq: number }
  | { readonly kind: 'shorter'; readonly fromSeq: number }
  | { readonly kind: 'stalled'; readonly fromSeq: number }
  | { readonly kind: 'purged-past'; readonly firstSeq: number };

/** One look at the stream, with this replica's position around it. */
export interface StreamObservation {
  readonly info: BrokerStreamInfo;
  /** The `created` of the stream this replica has been reading (undefined: none seen yet). */
  readonly knownCreated: string | undefined;
  /**
   * The consumed position read BEFORE asking for the info: the consumer moves on while the
   * request is out, and a position read after the answer can pass it and look like a
   * shorter stream.
   */
  readonly consumedBefore: number;
  /**
   * The position read AFTER the answer: the one before may predate the core's start
   * (position 0) or a purge seen while the request was out, and look like a purge past us.
   */
  readonly consumedAfter: number;
  /** The stall watchdog's opinion (see `StallWatchdog`). */
  readonly stalled: boolean;
  /** A re-join is already under way. */
  readonly rejoining: boolean;
}

/** Decides what the stream's state means for this replica; the rules in one place, in order. */
export function judgeStream(o: StreamObservation): StreamVerdict {
  const { info } = o;
  // After a re-creation or a tail loss the old sequence numbers name other messages (or
  // none): read the stream again from its first message, never from its new end.
  const fromFirst = Math.max(1, info.firstSeq);
  if (o.knownCreated !== undefined && info.created !== o.knownCreated) return { kind: 'recreated', fromSeq: fromFirst };
  if (info.lastSeq < o.consumedBefore) return { kind: 'shorter', fromSeq: fromFirst };
  if (o.stalled) return { kind: 'stalled', fromSeq: o.consumedBefore + 1 };
  const position = Math.max(o.consumedBefore, o.consumedAfter);
  if (info.firstSeq > position + 1 && info.lastSeq > o.consumedBefore && !o.rejoining) return { kind: 'purged-past', firstSeq: info.firstSeq };
  return { kind: 'ok' };
}

/**
 * True when a consumer asked for `wanted` got `got` first, and the messages between were
 * purged past this replica (`consumed`, what the core has processed). Messages are
 * numbered without holes and only a purge removes them from the front; asking for 1 means
 * "whatever the stream still has", so it is never a gap.
 */
export function isPurgeGap(wanted: number, got: number, consumed: number): boolean {
  return got > wanted && wanted > 1 && got > consumed + 1;
}
