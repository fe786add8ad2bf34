import { jetstream } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeSnapshot, encodeSnapshot, type SnapshotRecord, type SnapshotSourcePort } from '#replication';

/** The object name the latest snapshot is kept under. */
export const LATEST = 'latest';
/** One read attempt's time bound, and how many attempts before giving up. */
const FETCH_ATTEMPT_MS = 10_000;
const FETCH_ATTEMPTS_MAX = 3;

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

  /**
   * Reads the latest snapshot. A read races with a round storing a newer one: the object
   * store then deletes the chunks being read and the read would wait for ever. So each
   * attempt is bounded in time, and a timed-out read starts again on the newest version.
   */
  async fetchLatest(): Promise<SnapshotRecord | undefined> {
    const os = await this.open();
    let lastError: unknown;
    for (let attempt = 0; attempt < FETCH_ATTEMPTS_MAX; attempt++) {
      const info = await os.info(LATEST);
      if (!info || info.deleted) return undefined;
      let timer: NodeJS.Timeout | undefined;
      try {
        const bytes = await Promise.race([
          os.getBlob(LATEST),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`reading ${this.bucket}/${LATEST} took over ${FETCH_ATTEMPT_MS} ms`)), FETCH_ATTEMPT_MS);
          }),
        ]);
        if (!bytes) return undefined;
        try {
          return decodeSnapshot(Buffer.from(bytes).toString('utf8'));
        } catch (e) {
          throw new Error(`object ${this.bucket}/${LATEST}: ${(e as Error).message}`);
        }
      } catch (e) {
        lastError = e;
      } finally {
        clearTimeout(timer);
      }
    }
    throw new Error(`could not read the latest snapshot in ${FETCH_ATTEMPTS_MAX} attempts`, { cause: lastError });
  }

  async publish(snapshot: SnapshotRecord): Promise<void> {
    const os = await this.open();
    await os.putBlob({ name: LATEST, description: `round ${snapshot.epoch}/${snapshot.round}` }, Buffer.from(encodeSnapshot(snapshot)));
  }

  private async open(): Promise<ObjectStore> {
    this.store ??= await new Objm(jetstream(this.nc)).create(this.bucket, { replicas: this.replicas });
    return this.store;
  }
}
