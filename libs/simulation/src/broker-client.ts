import type { SimBroker } from './sim-broker';
import { BROKER, type SimNetwork } from './sim-network';
import type { Life, Scheduler } from './scheduler';

/** A request to the broker got no reply in time (lost request or reply, broker down, link cut). */
export class BrokerTimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`${what}: timeout after ${timeoutMs} ms`);
    this.name = 'BrokerTimeoutError';
  }
}

/**
 * One process's connection to the NATS server: a request travels to the broker, runs
 * there at arrival (even if its sender died meanwhile: it was already on the wire), and
 * its reply travels back, settling the caller's promise only while the caller lives.
 * A broker outage or a cut link loses the request; the caller times out.
 */
export class BrokerClient {
  constructor(
    readonly node: string,
    private readonly life: Life,
    private readonly scheduler: Scheduler,
    private readonly net: SimNetwork,
    private readonly broker: SimBroker,
  ) {}

  /** True when this process can reach a running broker now. */
  get connected(): boolean {
    return this.broker.up && this.net.reachable(this.node, BROKER);
  }

  /**
   * Runs `atBroker` on the server. Its result is the reply; a throw there is an error
   * reply. `loseReply` (asked once the server acted) drops the reply: a lost publish ack.
   */
  call<T>(what: string, timeoutMs: number, atBroker: (b: SimBroker) => T, loseReply?: () => boolean): Promise<T> {
    const life = this.life;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const cancel = this.scheduler.after(timeoutMs, `timeout ${life.name} ${what}`, () => {
        if (settled || !life.alive) return;
        settled = true;
        reject(new BrokerTimeoutError(what, timeoutMs));
      });
      this.net.send('broker', this.node, BROKER, what, () => {
        if (!this.broker.up) return;
        let reply: { ok: true; value: T } | { ok: false; error: unknown };
        try {
          reply = { ok: true, value: atBroker(this.broker) };
        } catch (e) {
          reply = { ok: false, error: e };
        }
        if (loseReply?.()) return;
        this.net.send('broker', BROKER, this.node, `${what} reply`, () => {
          if (settled || !life.alive) return;
          settled = true;
          cancel();
          if (reply.ok) resolve(reply.value);
          else reject(reply.error);
        });
      });
    });
  }
}
