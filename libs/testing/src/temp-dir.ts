import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A directory made for one test run, removed by `remove()`. */
export interface TempDir {
  readonly path: string;
  /** Deletes the directory and everything in it (never throws). */
  remove(): void;
}

/** Makes a fresh directory under the OS temp dir, named `crdt-<label>-XXXXXX`. */
export function makeTempDir(label = 'test'): TempDir {
  const path = mkdtempSync(join(tmpdir(), `crdt-${label}-`));
  return {
    path,
    remove: () => {
      try {
        rmSync(path, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Best effort: a leftover temp dir must not fail a test that passed.
      }
    },
  };
}
