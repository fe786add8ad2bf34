import { createHash, type Hash } from 'node:crypto';

/**
 * What a run did, as text: every step is folded into a running SHA-256 (two runs of one
 * seed must give the same hash, byte for byte), and the last lines are kept in a ring so
 * that a failing seed can print what led up to the failure.
 */
export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly ring: string[];
  private next = 0;
  private count = 0;

  constructor(
    private readonly tailLinesMax: number,
    /** Sees every line as it is written (the CLI's `--verbose` prints them). */
    private readonly onLine?: (line: string) => void,
  ) {
    this.ring = new Array<string>(tailLinesMax);
  }

  /** Records one line at virtual time `atMs`. */
  line(atMs: number, text: string): void {
    const l = `${atMs} ${text}`;
    this.hash.update(l);
    this.hash.update('\n');
    this.ring[this.next] = l;
    this.next = (this.next + 1) % this.tailLinesMax;
    this.count++;
    this.onLine?.(l);
  }

  /** Folds a step into the hash without keeping it (the scheduler's per-task record). */
  step(atMs: number, label: string): void {
    this.hash.update(`${atMs} ${label}\n`);
  }

  /** The last lines, oldest first. */
  tail(n = this.tailLinesMax): string[] {
    const kept = Math.min(this.count, this.tailLinesMax);
    const start = (this.next - kept + this.tailLinesMax) % this.tailLinesMax;
    const out: string[] = [];
    for (let i = 0; i < kept; i++) out.push(this.ring[(start + i) % this.tailLinesMax]);
    return out.slice(Math.max(0, out.length - n));
  }

  /** The hash of everything so far (hex). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
