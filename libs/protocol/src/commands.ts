import { isPeerHeartbeat, parseResendRequest, type Heartbeat, type ResendRequest } from './heartbeat';
import { parseCreate, parseDelete, parseGet, parseKeyOnly, parseKeys, parseUpdate, type Parsed } from './requests';
import { parseCommit, parseCut, parseDigests, parseFreeze, parseResume } from './round-messages';
import type { Subjects } from './subjects';

/**
 * The one table of what a replica answers and hears. The replica app's transport
 * subscribes from it, the replica core routes from it, the simulator sends from it and
 * crdtctl knows the replica commands from it; nothing else lists commands.
 *
 * Requests (request/reply, the command is the subject's last token):
 * - `client` commands are answered on `<prefix>.api.<command>` (any one replica, a queue
 *   group) and on `<prefix>.replica.<id>.<command>` (that replica);
 * - `round` commands come from the coordinator, only on `<prefix>.replica.<id>.<command>`.
 * Events (fire and forget) each have their own subject.
 */

/** Who sends a request command, and so where it is answered. */
export type CommandKind = 'client' | 'round';

/** One request command of the table. */
export interface CommandSpec<Name extends string = string, Request = unknown, Kind extends CommandKind = CommandKind> {
  readonly name: Name;
  readonly kind: Kind;
  /** True when the command changes state (held during a round, refused while starting). */
  readonly write: boolean;
  /** Parses the JSON body into the typed request, or the error reply to send. */
  readonly parse: (body: Record<string, unknown>) => Parsed<Request>;
  /** One line for help texts. */
  readonly summary: string;
}

function command<Name extends string, Request, Kind extends CommandKind>(spec: CommandSpec<Name, Request, Kind>): CommandSpec<Name, Request, Kind> {
  return spec;
}

/** Every request command a replica answers, clients' first, in the order help texts list them. */
export const REPLICA_COMMANDS = {
  create: command({ name: 'create', kind: 'client', write: true, parse: parseCreate, summary: 'make a key of a CRDT type' }),
  update: command({ name: 'update', kind: 'client', write: true, parse: parseUpdate, summary: 'apply one op or an atomic batch to a key' }),
  delete: command({ name: 'delete', kind: 'client', write: true, parse: parseDelete, summary: 'remove a key (what this replica saw of it)' }),
  get: command({ name: 'get', kind: 'client', write: false, parse: parseGet, summary: 'read a key' }),
  keys: command({ name: 'keys', kind: 'client', write: false, parse: parseKeys, summary: 'list keys' }),
  history: command({ name: 'history', kind: 'client', write: false, parse: parseKeyOnly, summary: 'the events of a key since the last round' }),
  'before-sync': command({ name: 'before-sync', kind: 'client', write: false, parse: parseKeyOnly, summary: 'a key as the last compaction round left it' }),
  status: command({ name: 'status', kind: 'client', write: false, parse: parseStatus, summary: 'what the replica says of itself' }),
  freeze: command({ name: 'freeze', kind: 'round', write: false, parse: parseFreeze, summary: 'round phase 1: hold writes, flush the outbox' }),
  cut: command({ name: 'cut', kind: 'round', write: false, parse: parseCut, summary: 'round phase 2: reach the cut, report the digest' }),
  commit: command({ name: 'commit', kind: 'round', write: false, parse: parseCommit, summary: 'round phase 3: snapshot at the cut' }),
  resume: command({ name: 'resume', kind: 'round', write: false, parse: parseResume, summary: 'round phase 4: back to work' }),
  digests: command({ name: 'digests', kind: 'round', write: false, parse: parseDigests, summary: 'per-key digests after a mismatch' }),
} as const;

/** `status` takes no fields. */
function parseStatus(_body: Record<string, unknown>): Parsed<Record<string, never>> {
  return { ok: true, request: {} };
}

/** The name of a request command. */
export type CommandName = keyof typeof REPLICA_COMMANDS;

/** The typed request of a command. */
export type RequestOf<N extends CommandName> = (typeof REPLICA_COMMANDS)[N] extends CommandSpec<N, infer R, CommandKind> ? R : never;

/** Names of the client commands. */
export type ClientCommandName = { [N in CommandName]: (typeof REPLICA_COMMANDS)[N]['kind'] extends 'client' ? N : never }[CommandName];

/** Names of the round commands. */
export type RoundCommandName = Exclude<CommandName, ClientCommandName>;

const ALL = Object.values(REPLICA_COMMANDS) as ReadonlyArray<CommandSpec<CommandName>>;

/** Client command names, in table order. */
export const CLIENT_COMMAND_NAMES = ALL.filter((c) => c.kind === 'client').map((c) => c.name) as readonly ClientCommandName[];

/** Round command names, in table order. */
export const ROUND_COMMAND_NAMES = ALL.filter((c) => c.kind === 'round').map((c) => c.name) as readonly RoundCommandName[];

/** The table entry of a request command; undefined for a name the table does not list. */
export function commandSpec(name: string): CommandSpec<CommandName> | undefined {
  return Object.prototype.hasOwnProperty.call(REPLICA_COMMANDS, name) ? (REPLICA_COMMANDS as Record<string, CommandSpec<CommandName>>)[name] : undefined;
}

/** True when `name` is a client command. */
export function isClientCommand(name: string): name is ClientCommandName {
  return commandSpec(name)?.kind === 'client';
}

/** True when `name` is a client command that writes. */
export function isWriteCommand(name: string): boolean {
  const spec = commandSpec(name);
  return spec?.kind === 'client' && spec.write;
}

/** One fire-and-forget message a replica hears. */
export interface EventSpec<Name extends string = string, Body = unknown> {
  readonly name: Name;
  /** The subject it arrives on (a replica's own for `resend`). */
  readonly subject: (subjects: Subjects, replicaId: string) => string;
  /** Reads the body; undefined when it is not one (events are hints: a bad one is dropped). */
  readonly parse: (body: unknown) => Body | undefined;
}

function event<Name extends string, Body>(spec: EventSpec<Name, Body>): EventSpec<Name, Body> {
  return spec;
}

/** Every event a replica hears. */
export const REPLICA_EVENTS = {
  /** A peer misses this replica's events from `fromSeq` on. */
  resend: event<'resend', ResendRequest>({ name: 'resend', subject: (s, id) => s.replica(id, 'resend'), parse: parseResendRequest }),
  /** A peer's heartbeat (membership, progress, `ack: "all"`). */
  heartbeat: event<'heartbeat', Heartbeat>({ name: 'heartbeat', subject: (s) => s.heartbeat, parse: (b) => (isPeerHeartbeat(b) ? b : undefined) }),
  /** The coordinator's broadcast end of a round: a replica that missed a committed round re-joins. */
  'round-resume': event<'round-resume', unknown>({ name: 'round-resume', subject: (s) => s.round('resume'), parse: (b) => b }),
} as const;

/** The name of an event. */
export type EventName = keyof typeof REPLICA_EVENTS;

/** What a replica subscribes to: one subject, the requests or the event it carries. */
export type ReplicaSubscription =
  | { readonly kind: 'request'; readonly subject: string; readonly queue?: string; readonly commands: readonly CommandName[] }
  | { readonly kind: 'event'; readonly subject: string; readonly event: EventName };

/** Every subscription of replica `replicaId`, from the table. */
export function replicaSubscriptions(subjects: Subjects, replicaId: string): ReplicaSubscription[] {
  return [
    { kind: 'request', subject: subjects.api('*'), queue: subjects.queueGroup, commands: CLIENT_COMMAND_NAMES },
    { kind: 'request', subject: subjects.replica(replicaId, '*'), commands: [...CLIENT_COMMAND_NAMES, ...ROUND_COMMAND_NAMES] },
    ...(Object.values(REPLICA_EVENTS) as ReadonlyArray<EventSpec<EventName>>).map((e) => ({ kind: 'event' as const, subject: e.subject(subjects, replicaId), event: e.name })),
  ];
}

