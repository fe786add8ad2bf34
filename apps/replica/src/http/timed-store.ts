import type { CommitBatch, StorePort } from '#replication';

/**
 * Times the store's group commits for the metrics: `onCommit` gets each batch's event count
 * and how long the write and sync took. Every other call passes straight through.
 */
export function timeCommits<S extends StorePort>(store: S, onCommit: (events: number, seconds: number) => void): StorePort {
  return {
    load: () => store.load(),
    saveReplicaId: (id) => store.saveReplicaId(id),
    async commit(batch: CommitBatch) {
      const t0 = process.hrtime.bigint();
      await store.commit(batch);
      onCommit(batch.events.length, Number(process.hrtime.bigint() - t0) / 1e9);
    },
    history: (key, limit) => store.history(key, limit),
    ownEventsAfter: (origin, afterSeq, limit) => store.ownEventsAfter(origin, afterSeq, limit),
    snapshotKey: (key) => store.snapshotKey(key),
    writeSnapshot: (s) => store.writeSnapshot(s),
    truncate: (cut, rowsMax) => store.truncate(cut, rowsMax),
    resetTo: (s, seq, keep) => store.resetTo(s, seq, keep),
    opLogLength: () => store.opLogLength(),
  };
}
