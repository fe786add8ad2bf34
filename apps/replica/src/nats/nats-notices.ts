import type { NatsConnection } from '@nats-io/transport-node';
import type { Heartbeat, NoticePort } from '#replication';
import type { Subjects } from '#protocol';
import type { Json } from '#crdt';

/** Change notices, heartbeats and resend requests on core NATS (fire and forget). */
export class NatsNotices implements NoticePort {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
  ) {}

  changed(key: string, notice: Json): void {
    this.send(this.subjects.changes(key), notice);
  }

  heartbeat(beat: Heartbeat): void {
    this.send(this.subjects.heartbeat, beat as unknown as Json);
  }

  requestResend(origin: string, fromSeq: number): void {
    this.send(this.subjects.replica(origin, 'resend'), { fromSeq });
  }

  private send(subject: string, body: Json): void {
    // A closed or reconnecting connection buffers or drops notices; they are hints, never the data.
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(subject, JSON.stringify(body));
    } catch {
      /* notices are best effort */
    }
  }
}
