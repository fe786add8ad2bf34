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

  requestResend(origin: string, fromSeq: number, holder = origin): void {
    // `origin` rides along so a peer asked for another origin's events knows whose (a replica
    // that predates it reads only `fromSeq`, and is only ever asked for its own).
    this.send(this.subjects.replica(holder, 'resend'), { fromSeq, origin });
  }

  private send(subject: string, body: Json): void {
    // A closed or reconnecting connection buffers or drops notices; they are hints, never the data.
    if (this.nc.isClosed()) return;
    try {
      // A Buffer, not a string: see NatsJsonServer's replies.
      this.nc.publish(subject, Buffer.from(JSON.stringify(body)));
    } catch {
      /* notices are best effort */
    }
  }
}
