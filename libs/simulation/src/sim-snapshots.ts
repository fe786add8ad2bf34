import type { SnapshotRecord, SnapshotSourcePort } from '#replication/ports';
import { decodeSnapshot, encodeSnapshot } from '#replication/snapshot-codec';
import type { BrokerClient } from './broker-client';

/** The snapshot object store as one replica lifetime reaches it (through the broker, so outages and cut links apply). */
export class SimSnapshots implements SnapshotSourcePort {
  constructor(
    private readonly client: BrokerClient,
    private readonly timeoutMs: number,
  ) {}

  /** The object's text, decoded as the replica's adapter decodes it. */
  async fetchLatest(): Promise<SnapshotRecord | undefined> {
    const text = await this.client.call('snapshot get', this.timeoutMs, (b) => b.getSnapshot());
    return text === undefined ? undefined : decodeSnapshot(text);
  }

  publish(snapshot: SnapshotRecord): Promise<void> {
    const text = encodeSnapshot(snapshot);
    return this.client.call('snapshot put', this.timeoutMs, (b) => b.putSnapshot(text));
  }
}
