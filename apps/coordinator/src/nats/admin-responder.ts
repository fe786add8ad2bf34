import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { COORDINATOR_COMMAND_NAMES, COORDINATOR_COMMANDS, coordinationError, type Coordinator, type CoordinatorCommandName, type LogPort } from '#coordination';
import { parseBody, type Subjects } from '#protocol';

type Handler = (body: Record<string, unknown>) => Promise<unknown>;

/**
 * The coordinator's admin requests (libs/coordination/src/admin-commands.ts), plain JSON
 * both ways:
 *
 * - `<prefix>.coordinator.status`: every coordinator answers (a standby names the leader);
 * - `<prefix>.coordinator.sync` and `<prefix>.coordinator.rounds` (`leaderOnly`): only the
 *   leader is subscribed, so a request always reaches it (or gets "no responders" while
 *   nobody leads) and never a standby.
 */
export class AdminResponder {
  private readonly always: Subscription[] = [];
  private leaderOnly: Subscription[] = [];
  /** One handler per command of the table (a command added there fails to compile until it is answered here). */
  private readonly handlers: Record<CoordinatorCommandName, Handler> = {
    status: async () => this.coordinator.status(),
    sync: async () => this.coordinator.sync(),
    rounds: async (body) => this.coordinator.rounds(body),
  };

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly coordinator: Coordinator,
    private readonly log: LogPort,
  ) {}

  /** Subscribes the commands every coordinator answers (`status`). */
  start(): void {
    for (const name of COORDINATOR_COMMAND_NAMES) if (!COORDINATOR_COMMANDS[name].leaderOnly) this.always.push(this.serve(name));
  }

  /** Subscribes (leader) or unsubscribes (standby) the leader-only requests. */
  setLeader(leader: boolean): void {
    if (this.nc.isClosed()) return;
    if (leader && this.leaderOnly.length === 0) {
      this.leaderOnly = COORDINATOR_COMMAND_NAMES.filter((name) => COORDINATOR_COMMANDS[name].leaderOnly).map((name) => this.serve(name));
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

  private serve(command: CoordinatorCommandName): Subscription {
    return this.nc.subscribe(this.subjects.coordinator(command), {
      callback: (err, msg) => {
        if (!err) void this.answer(msg, command, this.handlers[command]);
      },
    });
  }

  private async answer(msg: Msg, command: string, handle: Handler): Promise<void> {
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
