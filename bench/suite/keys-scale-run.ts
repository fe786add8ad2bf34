import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScaleResult } from '../keys-scale.bench';

/** One key type's runs of the keys-scale benchmark. */
export interface KeysScaleRun {
  readonly keyType: 'pn-counter' | 'or-set';
  readonly runs: ScaleResult[];
}

/**
 * Runs the keys-scale benchmark (bench/keys-scale.bench.ts) in a child process, with
 * `--expose-gc` for exact heap figures and a heap large enough for a million keys, and
 * reads its results. A child process, so the million keys' heap is not this one's.
 */
export function runKeysScale(keyType: KeysScaleRun['keyType'], keyCounts: readonly number[], timeoutMs: number): KeysScaleRun {
  const dir = mkdtempSync(join(tmpdir(), 'bench-keys-scale-'));
  const out = join(dir, 'results.json');
  try {
    const child = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', join(__dirname, '..', 'keys-scale.bench.js')], {
      env: { ...process.env, KEYS_SCALE: keyCounts.join(','), KEY_TYPE: keyType, KEYS_SCALE_JSON: out },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: timeoutMs,
    });
    if (child.status !== 0) throw new Error(`keys-scale benchmark (${keyType}, ${keyCounts.join(',')}) exited with ${child.status ?? child.signal}`);
    return { keyType, runs: JSON.parse(readFileSync(out, 'utf8')) as ScaleResult[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
