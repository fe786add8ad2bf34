import type { TestCluster } from '../support/cluster';

/** A client that increments a counter through one replica until stopped, counting acknowledgements. */
export class IncrementLoad {
  acked = 0;
  attempted = 0;
  errors = new Map<string, number>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: TestCluster,
    readonly replica: string,
    readonly key: string,
    private readonly pauseMs = 2,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.attempted++;
      try {
        const r = await this.cluster.request('update', { key: this.key, type: 'pn-counter', op: { type: 'increment', by: 1 } }, this.replica, 2_000);
        if (r.ok) this.acked++;
        else this.errors.set(r.error!.code, (this.errors.get(r.error!.code) ?? 0) + 1);
      } catch (e) {
        // No reply (the replica is down): the write may or may not have landed; it is not acknowledged.
        const code = String(e).includes('503') || String(e).includes('no responders') ? 'NO_RESPONDERS' : 'NO_REPLY';
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  /** Stops and waits for the last request to end. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
