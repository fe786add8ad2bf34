import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { summarize, type LatencySummary } from '../cluster/stats';

/**
 * The disk's floor under a durable write: write a small block at the start of one file and
 * fsync it, timed per round, in the directory the replicas keep their SQLite files in (the
 * same file system). `update` with `ack: local` must at least pay one of these.
 */

/** Options of `measureFsync`. */
export interface FsyncOptions {
  readonly dir: string;
  readonly rounds: number;
  readonly bytes: number;
}

/** Times write + fsync of `bytes` bytes, `rounds` times; the probe file is removed. */
export function measureFsync(o: FsyncOptions): LatencySummary {
  const file = join(o.dir, `fsync-probe-${process.pid}.bin`);
  const block = Buffer.alloc(o.bytes, 0x61);
  const fd = openSync(file, 'w');
  const samples: number[] = [];
  try {
    for (let i = 0; i < o.rounds; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, 0);
      fsyncSync(fd);
      samples.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return summarize(samples);
}
