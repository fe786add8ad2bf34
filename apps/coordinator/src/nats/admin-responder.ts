import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { coordinationError, type Coordinator, type LogPort } from '#coordination';
import { parseBody, type Subjects } from '#protocol';

/**
 * The coordinator's admin requests, plain JSON both ways:
 *
 * - `<prefix>.coordinator.status`: every coordinator answers (a standby names the leader);
 * - `<prefix>.coordinator.sync` and `<prefix>.coordinator.rounds`: only the leader is
 *   subscribed, so a request always reaches it (or gets "no responders" while nobody
 *   leads) and never a standby.
 */
export class AdminResponder {
  private readonly always: Subscription[] = [];
  private leaderOnly: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly coordinator: Coordinator,
    private readonly log: LogPort,
  ) {}

  /** Subscribes `status`. */
  start(): void {
    this.always.push(this.serve('status', async () => this.coordinator.status()));
  }

  /** Subscribes (leader) or unsubscribes (standby) the leader-only requests. */
  setLeader(leader: boolean): void {
    if (this.nc.isClosed()) return;
    if (leader && this.leaderOnly.length === 0) {
      this.leaderOnly = [this.serve('sync', async () => this.coordinator.sync()), this.serve('rounds', async (body) => this.coordinator.rounds(body))];
    } else if (!leader) {
      for (const s of this.leaderOnly) s.unsubscribe();
      this.leaderOnly = [];
    }
  }

  /** Unsubscribes everything. */
  close(): void {
    for (const s of [...this.always, ...this.leaderOnly]) s.unsubscribe();
    this.always.length = 0;
    this.leaderOnly = [];
  }

  private serve(command: string, handle: (body: Record<string, unknown>) => Promise<unknown>): Subscription {
    return this.nc.subscribe(this.subjects.coordinator(command), {
      callback: (err, msg) => {
        if (!err) void this.answer(msg, command, handle);
      },
    });
  }

  private async answer(msg: Msg, command: string, handle: (body: Record<string, unknown>) => Promise<unknown>): Promise<void> {
    const parsed = parseBody(msg.data);
    let reply: unknown;
    if (!parsed.ok) reply = coordinationError('BAD_REQUEST', parsed.error.message);
    else {
      try {
        reply = await handle(parsed.body);
      } catch (e) {
        this.log.error('admin request failed', { command, error: String((e as Error)?.stack ?? e) });
        reply = coordinationError('INTERNAL', `the coordinator failed to answer: ${(e as Error)?.message ?? e}`);
      }
    }
    if (!msg.reply) return;
    try {
      msg.respond(JSON.stringify(reply));
    } catch {
      /* the requester went away */
    }
  }
}
