import type { NatsConnection } from '@nats-io/transport-node';
import { requestJson } from '#testing';
import type { Prng } from '#simulation/prng';
import { outcomeOfErrorCode, type Ledger, type WriteKind, WRITE_KINDS } from './ledger';

/**
 * The fault suite's clients: one write loop per (kind, replica), each sending updates
 * straight to its replica (`crdt.replica.<id>.update`) so every replica takes writes of
 * every kind, and recording every outcome in the ledger. Every write is unique and
 * non-idempotent on purpose (an increment, an add of a fresh element, an insert of a
 * fresh marker), so a write applied twice or lost shows in the final values.
 */

/** Bounds of the writers (units last). */
export interface WriterLimits {
  /** Keys per kind (`counter-0`, `counter-1`, ...). */
  readonly keysPerKind: number;
  /** Fields per or-map key, each a pn-counter. */
  readonly fieldsPerMap: number;
  /** Pause between two writes of one loop. */
  readonly pauseMsMin: number;
  readonly pauseMsMax: number;
  /** Extra pause after a failed write (the replica may be down). */
  readonly failurePauseMs: number;
  /** The client's bound on one request (a round may hold a write 2 s). */
  readonly requestTimeoutMs: number;
  /** Share of writes sent with `ack: "stream"` (the rest use the default `ack: "local"`). */
  readonly streamAckShare: number;
  /** The `timeoutMs` of those writes. */
  readonly streamAckTimeoutMs: number;
}

/** Defaults: about 12 loops × 40 writes/s at most, kept low enough for a two-core CI machine running 8 processes. */
export const DEFAULT_WRITER_LIMITS: WriterLimits = {
  keysPerKind: 3,
  fieldsPerMap: 4,
  pauseMsMin: 10,
  pauseMsMax: 40,
  failurePauseMs: 100,
  requestTimeoutMs: 5_000,
  streamAckShare: 0.2,
  streamAckTimeoutMs: 1_500,
};

type Reply = { ok: boolean; error?: { code: string; message: string } };

/** The write loops of one run. */
export class Writers {
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    /** The connection of a client beside the replica (see FaultCluster.clientFor). */
    private readonly clientFor: (replica: string) => NatsConnection,
    private readonly ledger: Ledger,
    private readonly replicaIds: readonly string[],
    private readonly prng: Prng,
    private readonly limits: WriterLimits = DEFAULT_WRITER_LIMITS,
  ) {}

  /** Starts every loop. */
  start(): void {
    this.running = true;
    for (const kind of WRITE_KINDS) {
      for (const replica of this.replicaIds) this.loops.push(this.loop(kind, replica, this.prng.fork(`writer-${kind}-${replica}`)));
    }
  }

  /** Stops every loop and waits for the writes in flight to end. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(kind: WriteKind, replica: string, prng: Prng): Promise<void> {
    const { limits } = this;
    for (let n = 1; this.running; n++) {
      const key = `${kind}-${prng.int(0, limits.keysPerKind - 1)}`;
      const ack = prng.chance(limits.streamAckShare) ? { ack: 'stream', timeoutMs: limits.streamAckTimeoutMs } : {};
      // Unique per write: the loop's replica, kind and number.
      const unique = `${replica}.${n}`;
      let body: Record<string, unknown>;
      let record: (outcome: 'acked' | 'refused' | 'uncertain', code?: string) => void;
      switch (kind) {
        case 'counter':
          body = { key, type: 'pn-counter', op: { type: 'increment', by: 1 } };
          record = (o, c) => this.ledger.counter(key, 1, o, c);
          break;
        case 'or-set': {
          const element = `e.${unique}`;
          body = { key, type: 'or-set', op: { type: 'add', value: element } };
          record = (o, c) => this.ledger.setAdd(key, element, o, c);
          break;
        }
        case 'or-map': {
          const field = `f${prng.int(0, limits.fieldsPerMap - 1)}`;
          const by = prng.int(1, 5);
          body = { key, type: 'or-map', op: { type: 'update', field, fieldType: 'pn-counter', op: { type: 'increment', by } } };
          record = (o, c) => this.ledger.mapField(key, field, by, o, c);
          break;
        }
        case 'text': {
          // Inserted at index 0, a marker stays contiguous whatever is inserted concurrently.
          const marker = `<${unique}>`;
          body = { key, type: 'text', op: { type: 'insert', index: 0, text: marker } };
          record = (o, c) => this.ledger.textInsert(key, marker, o, c);
          break;
        }
      }
      let failed = false;
      try {
        const r = await requestJson<Reply>(this.clientFor(replica), `crdt.replica.${replica}.update`, { ...body, ...ack }, limits.requestTimeoutMs);
        if (r.ok) record('acked');
        else {
          failed = true;
          record(outcomeOfErrorCode(r.error?.code ?? 'INTERNAL'), r.error?.code ?? 'MALFORMED_REPLY');
        }
      } catch (e) {
        failed = true;
        // No reply: the replica may have applied it (it was paused, killed after the
        // commit, or the client's server went away). "No responders" is counted apart
        // but treated the same way, as the protocol documents.
        const text = String((e as Error)?.message ?? e) + String((e as { cause?: unknown })?.cause ?? '');
        record('uncertain', /no responders/i.test(text) ? 'NO_RESPONDERS' : /timeout/i.test(text) ? 'NO_REPLY' : 'TRANSPORT');
      }
      await sleep(failed ? limits.failurePauseMs : prng.int(limits.pauseMsMin, limits.pauseMsMax));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
