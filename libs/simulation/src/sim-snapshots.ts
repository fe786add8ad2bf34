import type { SnapshotRecord, SnapshotSourcePort } from '#replication/ports';
import type { BrokerClient } from './broker-client';

/** The snapshot object store as one replica lifetime reaches it (through the broker, so outages and cut links apply). */
export class SimSnapshots implements SnapshotSourcePort {
  constructor(
    private readonly client: BrokerClient,
    private readonly timeoutMs: number,
  ) {}

  fetchLatest(): Promise<SnapshotRecord | undefined> {
    return this.client.call('snapshot get', this.timeoutMs, (b) => b.getSnapshot());
  }

  publish(snapshot: SnapshotRecord): Promise<void> {
    const text = JSON.stringify(snapshot);
    return this.client.call('snapshot put', this.timeoutMs, (b) => b.putSnapshot(JSON.parse(text) as SnapshotRecord));
  }
}
