import { errors, type NatsConnection } from '@nats-io/transport-node';
import { ReplicaRequestError, type ReplicaPhase } from '#coordination';
import type { Subjects } from '#protocol';

/** Round requests to one replica on `<prefix>.replica.<id>.<phase>`: plain JSON both ways. */
export class NatsReplicaRequests {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
  ) {}

  /** Sends `body`, resolves with the parsed reply; rejects with `ReplicaRequestError` when none comes. */
  async request(replicaId: string, phase: ReplicaPhase, body: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const subject = this.subjects.replica(replicaId, phase);
    let data: string;
    try {
      const msg = await this.nc.request(subject, JSON.stringify(body), { timeout: Math.max(1, timeoutMs) });
      data = msg.string();
    } catch (e) {
      if (e instanceof errors.TimeoutError) throw new ReplicaRequestError('TIMEOUT', `${subject}: no reply within ${timeoutMs} ms`, { cause: e });
      if (e instanceof errors.RequestError && e.isNoResponders()) throw new ReplicaRequestError('NO_RESPONDERS', `${subject}: nobody answers (replica ${replicaId} is gone)`, { cause: e });
      throw new ReplicaRequestError('TRANSPORT', `${subject}: ${(e as Error)?.message ?? e}`, { cause: e });
    }
    try {
      return JSON.parse(data) as unknown;
    } catch {
      // Not JSON: let the round name it as a bad reply from this replica.
      return data;
    }
  }
}
