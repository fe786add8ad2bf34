/**
 * Notices a consumer that stopped delivering although the stream holds more: its position
 * has not moved for `stallMs`, and nothing waits for the disk (a consumer waiting for a
 * group commit is slow, not stuck). A consumer lost with its NATS node can sit there
 * without an error; the follower then starts another. Time comes from the caller.
 */
export class StallWatchdog {
  private consumed = -1;
  private sinceMs = 0;

  constructor(private readonly stallMs: number) {}

  /** Takes one look; true when the consumer counts as stalled (then it re-arms: the next true is `stallMs` later). */
  observe(consumed: number, lastSeq: number, pendingCommitEvents: number, nowMs: number): boolean {
    if (consumed !== this.consumed || lastSeq <= consumed || pendingCommitEvents > 0 || nowMs < this.sinceMs) {
      this.consumed = consumed;
      this.sinceMs = nowMs;
      return false;
    }
    if (nowMs - this.sinceMs < this.stallMs) return false;
    this.sinceMs = nowMs;
    return true;
  }
}
