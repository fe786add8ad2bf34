/**
 * The one table of the coordinator's admin requests, answered on
 * `<prefix>.coordinator.<command>` (plain JSON both ways). apps/coordinator's
 * `AdminResponder` subscribes from it and docs/asyncapi.yaml is checked against it
 * (test/protocol/asyncapi.spec.ts).
 *
 * `leaderOnly` commands are subscribed by the leading coordinator only, so a request always
 * reaches the leader (or gets "no responders" while nobody leads) and never a standby.
 */
export const COORDINATOR_COMMANDS = {
  status: { name: 'status', leaderOnly: false, summary: 'who leads, the live members and the last rounds' },
  sync: { name: 'sync', leaderOnly: true, summary: 'run a compaction round now and answer with its result' },
  rounds: { name: 'rounds', leaderOnly: true, summary: 'the recent round results, newest first' },
} as const;

/** The name of a coordinator admin request. */
export type CoordinatorCommandName = keyof typeof COORDINATOR_COMMANDS;

/** Coordinator admin request names, in table order. */
export const COORDINATOR_COMMAND_NAMES = Object.keys(COORDINATOR_COMMANDS) as readonly CoordinatorCommandName[];
