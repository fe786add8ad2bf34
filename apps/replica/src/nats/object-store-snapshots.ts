import { jetstream } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { isNat, isObject, isVersionVector, type Json } from '../../../../libs/crdt/src';
import type { SnapshotRecord, SnapshotSourcePort } from '../../../../libs/replication/src';

/** The object name the latest snapshot is kept under. */
const LATEST = 'latest';

/**
 * Snapshots for joiners in a JetStream object store (chunked, so a snapshot may be far
 * larger than a NATS message). Only the latest is kept: a joiner needs nothing older.
 */
export class ObjectStoreSnapshots implements SnapshotSourcePort {
  private store: ObjectStore | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly replicas: number,
  ) {}

  async fetchLatest(): Promise<SnapshotRecord | undefined> {
    const os = await this.open();
    const info = await os.info(LATEST);
    if (!info || info.deleted) return undefined;
    const bytes = await os.getBlob(LATEST);
    if (!bytes) return undefined;
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (!isSnapshotRecord(parsed)) throw new Error(`object ${this.bucket}/${LATEST} is not a snapshot`);
    return parsed;
  }

  async publish(snapshot: SnapshotRecord): Promise<void> {
    const os = await this.open();
    await os.putBlob({ name: LATEST, description: `round ${snapshot.epoch}/${snapshot.round}` }, Buffer.from(JSON.stringify(snapshot)));
  }

  private async open(): Promise<ObjectStore> {
    this.store ??= await new Objm(jetstream(this.nc)).create(this.bucket, { replicas: this.replicas });
    return this.store;
  }
}

/** Checks a snapshot fetched from the cluster (it is input like any other). */
export function isSnapshotRecord(v: unknown): v is SnapshotRecord {
  return (
    isObject(v) &&
    isNat(v.epoch) &&
    isNat(v.round) &&
    isVersionVector(v.cut) &&
    isNat(v.streamSeq) &&
    Array.isArray(v.keys) &&
    v.keys.every((e: Json) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string')
  );
}
