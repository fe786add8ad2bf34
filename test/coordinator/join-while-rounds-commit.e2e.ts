import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../support/cluster';
import { CoordinatedCluster } from '../support/coordinated-cluster';

/**
 * A replica joins (empty data directory) and reads the snapshot of the last round
 * (object `latest` in the snapshot object store), while a round commits and replaces it.
 * With a snapshot of several megabytes (dozens of 128 KiB chunks) a read takes long
 * enough for that to happen in a deployment with frequent rounds. The test makes it
 * certain: it watches the object store's stream for the joiner's chunk consumer, pauses
 * the joiner (SIGSTOP) as soon as that consumer exists and still has chunks to deliver,
 * runs a round (whose publisher writes the new `latest` and purges the old chunks), and
 * continues the joiner. The joiner must still come up and converge.
 */

const MEMBERS = ['r1', 'r2'];
/** 40 keys of ~200 KB: a snapshot of about 8 MB (about 60 chunks). */
const BIG_KEYS = 40;
const VALUE_CHARS = 200_000;
/** The snapshot bucket's backing stream (`CRDT_SNAPSHOT_BUCKET` default `CRDT_OPS_SNAPSHOTS`). */
const SNAPSHOT_STREAM = 'OBJ_CRDT_OPS_SNAPSHOTS';

describe('join while a round replaces the snapshot', () => {
  let cc: CoordinatedCluster;

  beforeAll(async () => {
    cc = await CoordinatedCluster.start(MEMBERS);
    await cc.startCoordinator('c1');
    await cc.waitForLeader('c1');
    for (let i = 0; i < BIG_KEYS; i++) {
      const value = `${i}:`.padEnd(VALUE_CHARS, String.fromCharCode(97 + (i % 26)));
      await cc.cluster.ok('update', { key: `big-${i}`, type: 'lww-register', op: { type: 'set', value } }, MEMBERS[i % 2]);
    }
    await cc.cluster.converged(MEMBERS);
    await cc.syncCommitted();
  }, 60_000);

  afterEach(async () => cc?.afterEachTest(), 30_000);

  afterAll(async () => cc?.stop(), 30_000);

  /**
   * Starts r3 on an empty disk and pauses it while its read of `latest` still has chunks
   * to come; false when the read finished before the pause (then the caller tries again).
   */
  async function pauseJoinerMidRead(): Promise<boolean> {
    const jsm = await jetstreamManager(cc.cluster.nc);
    const app = cc.spawnReplica('r3');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && app.running) {
      const consumers = await jsm.consumers.list(SNAPSHOT_STREAM).next();
      // Only a reader of chunks has a consumer on the bucket's stream; the members do not read.
      const reader = consumers.find((c) => c.config.filter_subject?.includes('.C.'));
      if (reader) {
        app.pause();
        const info = await jsm.consumers.info(SNAPSHOT_STREAM, reader.name).catch(() => undefined);
        if (info && info.num_pending > 0) return true;
        app.kill('SIGKILL');
        await app.exited;
        rmSync(cc.cluster.dataDir('r3'), { recursive: true, force: true });
        return false;
      }
      await sleep(1);
    }
    throw new Error(`r3 never read the snapshot: ${app.logs().slice(-5).join('\n')}`);
  }

  /**
   * Regression: `ObjectStore.getBlob` consumes the chunks of the revision it looked up; a
   * put of a new revision purges those chunks, and the read then waited for them forever.
   * A joiner hung in `ReplicaCore.start`, a re-joining replica in `rejoin`. `fetchLatest`
   * now bounds each read and starts again on the newest revision.
   */
  it('join while a round replaces the snapshot - a joiner whose snapshot read is overtaken by a new snapshot still comes up and converges', async () => {
    let caught = false;
    for (let attempt = 0; attempt < 5 && !caught; attempt++) caught = await pauseJoinerMidRead();
    expect(caught).toBe(true);
    const round = await cc.syncCommitted();
    const r3 = cc.replica('r3');
    r3.resume();
    const startedAt = Date.now();
    const joined = await r3.waitForLog((l) => l.msg === 'joined from snapshot' || l.msg === 'no snapshot fetched; joining from the start of the stream', 15_000).catch((e: Error) => e);
    process.stdout.write(
      `join while a round replaces the snapshot: r3 paused mid-read, round ${round.epoch}/${round.round} replaced the snapshot; ` +
        `${joined instanceof Error ? 'r3 never finished its read (last lines: ' + JSON.stringify(r3.logs().slice(-3).map((l) => l.slice(0, 160))) + ')' : `r3: "${joined.msg}" ${Date.now() - startedAt} ms after it continued`}\n`,
    );
    expect(joined).not.toBeInstanceOf(Error);
    const all = [...MEMBERS, 'r3'];
    await cc.settled(all);
    const values = await Promise.all(all.map((id) => cc.cluster.ok('get', { key: `big-${BIG_KEYS - 1}` }, id)));
    for (const v of values) expect(v.value).toEqual(values[0].value);
    await cc.waitForMembers(all);
    expect((await cc.syncCommitted()).members).toEqual(all);
  }, 60_000);
});
