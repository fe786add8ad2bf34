import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { LeaseEntry, LeaseRecord, LeaseStorePort } from '#coordination';
import { isNat, isObject } from '#crdt/json';

/** The KV key holding the lease. */
export const LEASE_KEY = 'leader';

/** The lease store could not be reached or answered with an unexpected error. Keeps the client's error as `cause`. */
export class LeaseStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseStoreError';
  }
}

/** True when a KV write failed because the key's revision moved (someone else wrote first). */
function isRevisionConflict(e: unknown): boolean {
  return (
    e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function parseRecord(v: unknown): LeaseRecord | undefined {
  if (!isObject(v) || typeof v.id !== 'string' || !isNat(v.epoch) || !isNat(v.expiresAtMs)) return undefined;
  return { id: v.id, epoch: v.epoch, expiresAtMs: v.expiresAtMs };
}

/**
 * The leader lease in a NATS KV bucket: key `leader`, value `{id, epoch, expiresAtMs}`
 * as JSON. Compare-and-set is the KV's own: `create` succeeds only when the key is absent
 * or deleted, `update` only when the key's last revision is the one given.
 */
export class KvLeaseStore implements LeaseStorePort {
  private constructor(
    /** The bucket, shared with the round history (`KvRoundHistory`). */
    readonly kv: KV,
  ) {}

  /**
   * Opens the bucket, creating it when missing (two coordinators may race to create it;
   * the server accepts an identical config twice). Every KV call is bounded by `timeoutMs`.
   */
  static async open(nc: NatsConnection, bucket: string, opts: { timeoutMs: number; replicas: number }): Promise<KvLeaseStore> {
    const js = jetstream(nc, { timeout: opts.timeoutMs });
    try {
      return new KvLeaseStore(await new Kvm(js).create(bucket, { history: 1, replicas: opts.replicas, timeout: opts.timeoutMs }));
    } catch (e) {
      throw new LeaseStoreError(`KV bucket ${bucket} could not be opened or created: ${(e as Error)?.message ?? e}`, { cause: e });
    }
  }

  async read(): Promise<LeaseEntry | undefined> {
    let e;
    try {
      e = await this.kv.get(LEASE_KEY);
    } catch (err) {
      throw new LeaseStoreError(`lease not read: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    if (!e) return undefined;
    if (e.operation !== 'PUT') return { value: undefined, revision: e.revision };
    let value: LeaseRecord | undefined;
    try {
      value = parseRecord(e.json());
    } catch {
      value = undefined; // not JSON: treated as no lease, and overwritten by compare-and-set
    }
    return { value, revision: e.revision };
  }

  async create(value: LeaseRecord): Promise<number | undefined> {
    try {
      return await this.kv.create(LEASE_KEY, JSON.stringify(value));
    } catch (e) {
      if (isRevisionConflict(e)) return undefined;
      throw new LeaseStoreError(`lease not created: ${(e as Error)?.message ?? e}`, { cause: e });
    }
  }

  async update(value: LeaseRecord, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(LEASE_KEY, JSON.stringify(value), revision);
    } catch (e) {
      if (isRevisionConflict(e)) return undefined;
      throw new LeaseStoreError(`lease not updated: ${(e as Error)?.message ?? e}`, { cause: e });
    }
  }
}
