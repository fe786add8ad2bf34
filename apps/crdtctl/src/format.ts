import { isTimestamp, wallMsOf } from '#crdt/causality/hlc';
import type { Heartbeat } from '#replication/ports';
import { COMMAND_EXAMPLES, isTypeName } from '#crdt';
import { withArticle } from '#crdt/type-article';
import type { TransportError } from './client';

/**
 * Pure formatting of crdtctl's output: every function takes data and returns lines, so
 * the output is testable without a cluster. Replies of the coordinator are read
 * leniently (fields it does not send are left out), since its status shape may grow.
 */

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Values longer than this print on several lines. */
const INLINE_VALUE_CHARS_MAX = 100;

/** A JSON value for people: compact when short or flat (a list of scalars), indented when long and nested. */
export function formatValue(v: unknown): string {
  const compact = JSON.stringify(v) ?? 'undefined';
  if (compact.length <= INLINE_VALUE_CHARS_MAX) return compact;
  const members = Array.isArray(v) ? v : isObj(v) ? Object.values(v) : [];
  return members.every((m) => typeof m !== 'object' || m === null) ? compact : JSON.stringify(v, null, 2);
}

/** Longest value a table cell shows, characters. */
const CELL_VALUE_CHARS_MAX = 80;

/** A value cut to fit a table cell, saying how much was left out. */
export function cellValue(v: unknown): string {
  const compact = JSON.stringify(v) ?? '';
  if (compact.length <= CELL_VALUE_CHARS_MAX) return compact;
  const size = Array.isArray(v) ? ` (${v.length} elements)` : isObj(v) ? ` (${Object.keys(v).length} entries)` : '';
  return `${compact.slice(0, CELL_VALUE_CHARS_MAX)}…${size}`;
}

/** Pads cells into aligned columns. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

// ------------------------------------------------------------------ errors and hints

/** What to do about each error code of the protocol. */
const HINTS: Record<string, string> = {
  BAD_REQUEST: 'check the command against `crdtctl help`',
  UNKNOWN_COMMAND: 'the replica does not know this command: is it an older version?',
  NOT_FOUND: 'create it first (`create KEY TYPE`), or pass --type with update to create it on first write',
  TYPE_MISMATCH: 'see the key\'s type with `get KEY`, and send ops of that type',
  UNKNOWN_TYPE: 'types: ew-flag, dw-flag, g-counter, pn-counter, lww-register, mv-register, g-set, 2p-set, lww-set, or-set, or-map, text, list, lifecycle',
  INVALID_OP: 'the message says what the key\'s type expects; `get KEY` shows the type',
  INVALID_OPTIONS: 'the message says which options the type takes',
  TOO_LARGE: 'split the batch or shorten the key or value',
  TIMEOUT: 'retry, or raise --timeout',
  NOT_CAUGHT_UP: 'the replica is behind; retry shortly',
  FROZEN: 'a compaction round was running; nothing was applied, retry',
  OVERLOADED: 'the replica is busy; nothing was applied, retry shortly',
  UNAVAILABLE: 'the replica is starting or re-joining; retry shortly',
  CLOCK_SKEW: 'the replica\'s clock is off from its peers\'; nothing was applied: use another replica, and fix its clock (NTP)',
  INTERNAL: 'the replica logged the failure; look at its log',
  CONFLICT: 'another strong write came first: read the key with `get KEY --consistency linearizable`, then send --expect with its revision',
  STRONG_UNSUPPORTED: 'only lww-register keys (put KEY VALUE) take --consistency strong and linearizable; write and read this key without it',
  STRONG_UNAVAILABLE: 'this deployment\'s op stream is replicated, where strong writes and linearizable reads are off (docs/protocol.md §17); write and read without them',
};

/** What to do about the coordinator's error codes (libs/coordination/src/error-codes.ts). */
const COORDINATOR_HINTS: Record<string, string> = {
  BAD_REQUEST: 'check the command against `crdtctl help`',
  NOT_LEADER: 'another coordinator leads, or none yet: retry in a few seconds',
  STOPPING: 'the coordinator is shutting down: retry once it (or another) is back',
  NO_MEMBERS: 'no replica sends heartbeats: start the replicas (`npm start`)',
  REPLICA_STARTING: 'a replica is still catching up: retry when `crdtctl status` shows every member in mode Work',
  TIMEOUT: 'a replica did not answer a phase in time: see `crdtctl status`, then retry',
  UNREACHABLE: 'a replica stopped or lost its connection: see `crdtctl status`',
  REFUSED: 'a replica refused a phase: its code and message are listed above',
  BAD_REPLY: 'a replica runs another protocol version: check the versions',
  DIGEST_MISMATCH: 'replicas differ at the same cut: a replication bug; report it with the keys named',
  INTERNAL: 'the coordinator logged the failure; look at its log',
};

/** The commands a type takes, as an INVALID_OP hint: `an or-set takes {"type":"add","value":"x"} or ...`. */
export function opHintFor(type: string): string | undefined {
  if (!isTypeName(type)) return undefined;
  return `${withArticle(type)} takes ${COMMAND_EXAMPLES[type].map((c) => JSON.stringify(c)).join(' or ')}`;
}

/** What a failed request was, for the hints that depend on it. */
export interface FailedRequest {
  readonly key: string;
  /** A strong write (`--consistency strong`): a TIMEOUT leaves its outcome unknown. */
  readonly strongWrite?: boolean;
}

/** What to do after a strong write whose outcome is unknown (no reply, or TIMEOUT without an event). */
function strongUnknownHint(key: string): string {
  return `the strong write may or may not take effect: \`get ${key} --consistency linearizable\` tells which (value and revision); then send it with --expect REVISION, so it cannot apply twice`;
}

/**
 * An error reply: its code and message, and a hint of what to do (for INVALID_OP, for the
 * key's type; for CONFLICT, the revision to expect; for a strong write's TIMEOUT, how to
 * learn its outcome).
 */
export function formatErrorReply(reply: Obj, source: 'replica' | 'coordinator' = 'replica', keyType?: string, request?: FailedRequest): string[] {
  const e = isObj(reply.error) ? reply.error : {};
  const code = str(e.code) ?? 'ERROR';
  const revision = num(reply.revision);
  let message = str(e.message) ?? JSON.stringify(reply);
  // A CONFLICT names the key's current revision (the replicas' message does; a reply that only carries it gets it added).
  if (code === 'CONFLICT' && revision !== undefined && !message.includes(`revision ${revision}`)) message += ` (the key is at revision ${revision})`;
  const lines = [`error ${code}: ${message}`];
  const key = request?.key ?? 'KEY';
  // A write that timed out waiting for its ack is durable all the same: sending it again would apply it twice.
  const hint = code === 'TIMEOUT' && source === 'replica' && num(reply.seq) !== undefined
    ? `the write is durable as event ${str(reply.replica) ?? ''}#${reply.seq} and will replicate: do not send it again; ask for a weaker --ack or raise --timeout next time`
    : code === 'TIMEOUT' && source === 'replica' && request?.strongWrite === true
      ? strongUnknownHint(key)
      : code === 'CONFLICT' && source === 'replica' && revision !== undefined
        ? `another strong write came first; read it (\`get ${key} --consistency linearizable\`) and, if yours still applies, send it with --expect ${revision}`
        : code === 'INVALID_OP' && source === 'replica' && keyType !== undefined && opHintFor(keyType) !== undefined
          ? opHintFor(keyType)
          : (source === 'coordinator' ? COORDINATOR_HINTS : HINTS)[code];
  if (hint) lines.push(`hint: ${hint}`);
  return lines;
}

/** A strong write that got no reply within --timeout: its outcome is unknown, so not "retry". */
export function formatStrongNoReply(e: TransportError, key: string): string[] {
  return [`error: ${e.message}`, `hint: ${strongUnknownHint(key)}; raise --timeout next time`];
}

/** `before KEY` found nothing: say what a round is, not how to create a key. */
export function formatBeforeSyncFailure(reply: Obj): string[] {
  const e = isObj(reply.error) ? reply.error : {};
  if (e.code !== 'NOT_FOUND') return formatErrorReply(reply);
  return [`error NOT_FOUND: ${str(e.message) ?? ''}`, 'hint: `before KEY` shows the value fixed by the last compaction round; `sync` runs a round now'];
}

/** A request that got no reply, with what to check. */
export function formatTransportError(e: TransportError, prefix: string): string[] {
  const coordinator = e.subject.startsWith(`${prefix}.coordinator.`);
  switch (e.kind) {
    case 'no-responders':
      return coordinator
        ? [`error: no coordinator answers on ${prefix}.coordinator.*`, 'hint: is the cluster running? try `npm start` (it starts the coordinator and three replicas)']
        : [`error: no replica answers on ${prefix}.api.*`, 'hint: is the cluster running? try `npm start`, or check CRDT_PREFIX'];
    case 'timeout':
      return [`error: ${e.message}`, `hint: the ${coordinator ? 'coordinator' : 'replica'} may be busy, paused or cut off; retry, or raise --timeout`];
    default:
      return [`error: ${e.message}`];
  }
}

/** NATS cannot be reached. */
export function formatUnreachable(url: string, cause: unknown): string[] {
  const why = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
  if (/authorization violation|authentication/i.test(why)) {
    return [
      `error: NATS at ${url} refused the login (${why})`,
      'hint: the server requires credentials: set NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE); `npm start` prints the ones to use',
    ];
  }
  return [
    `error: cannot reach NATS at ${url} (${why})`,
    'hint: is nats-server running? `npm start` runs one with the cluster and prints the NATS_URL to use; or set NATS_URL',
  ];
}

// ------------------------------------------------------------------ key commands

/** `get`: the key's value (and, read linearizably, the revision it is at). */
export function formatGet(r: Obj): string[] {
  const revision = num(r.revision) !== undefined ? ` at revision ${r.revision}` : '';
  return [`${str(r.key)} (${str(r.type)})${revision} = ${formatValue(r.value)}`];
}

/** `create`. */
export function formatCreate(r: Obj): string[] {
  return [r.created === false ? `${str(r.key)} (${str(r.type)}) already exists; nothing changed` : `created ${str(r.key)} (${str(r.type)})`];
}

/** `update`. */
export function formatUpdate(r: Obj, ack: string | undefined): string[] {
  const seq = num(r.seq) !== undefined ? ` as event ${str(r.replica) ?? ''}#${r.seq}` : '';
  // A strong write's revision: the value to give --expect next.
  const revision = num(r.revision) !== undefined ? ` at revision ${r.revision}` : '';
  return [`updated ${str(r.key)} (${str(r.type)})${seq}${revision}${ack && ack !== 'local' ? `, acknowledged by ${ack === 'all' ? 'every live replica' : 'the stream'}` : ''}`];
}

/** `delete` / `del`. */
export function formatDelete(r: Obj, ack: string | undefined): string[] {
  const seq = num(r.seq) !== undefined ? ` as event ${str(r.replica) ?? ''}#${r.seq}` : '';
  const acked = ack && ack !== 'local' ? `, acknowledged by ${ack === 'all' ? 'every live replica' : 'the stream'}` : '';
  const revision = num(r.revision) !== undefined ? ` at revision ${r.revision}` : '';
  return [`deleted ${str(r.key)} (${str(r.type)})${seq}${revision}${acked}; an update this replica had not seen survives it`];
}

/** `keys`. */
export function formatKeys(r: Obj): string[] {
  const keys = Array.isArray(r.keys) ? r.keys.filter(isObj) : [];
  if (keys.length === 0) return ['(no keys)'];
  const lines = table(['KEY', 'TYPE'], keys.map((k) => [str(k.key) ?? '?', str(k.type) ?? '?']));
  if (r.truncated === true) lines.push(`(more keys than listed; narrow with a prefix)`);
  return lines;
}

/** `variables`: keys with their values. */
export function formatVariables(rows: ReadonlyArray<{ key: string; type: string; value?: unknown; error?: string }>, truncated: boolean): string[] {
  if (rows.length === 0) return ['(no keys)'];
  const lines = table(
    ['KEY', 'TYPE', 'VALUE'],
    rows.map((r) => [r.key, r.type, r.error !== undefined ? `(${r.error})` : cellValue(r.value)]),
  );
  if (truncated) lines.push('(more keys than listed; narrow with a prefix)');
  return lines;
}

/** A timestamp as an ISO time (HLC readings carry wall-clock milliseconds). */
function formatTime(ms: unknown): string {
  const n = num(ms);
  if (n === undefined) return '?';
  const d = new Date(n);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** A hybrid-logical-clock timestamp as the wall-clock time it stands for. */
function formatHlc(t: unknown): string {
  return isTimestamp(t) ? formatTime(wallMsOf(t)) : '?';
}

/** `history`: events since the last round, oldest first. */
export function formatHistory(r: Obj): string[] {
  const events = Array.isArray(r.events) ? r.events.filter(isObj) : [];
  const since = isObj(r.sinceRound) ? ` since round ${r.sinceRound.epoch}/${r.sinceRound.round}` : '';
  const lines = [`${str(r.key)} (${str(r.type)}): ${events.length} event${events.length === 1 ? '' : 's'}${since}`];
  for (const e of events) {
    const ops = Array.isArray(e.ops) ? e.ops : [];
    const what = ops.length === 0 ? 'create' : ops.length === 1 ? JSON.stringify(ops[0]) : `${ops.length} ops: ${JSON.stringify(ops).slice(0, 200)}`;
    lines.push(`  ${str(e.origin)}#${e.seq}  ${formatHlc(e.time)}  ${what}`);
  }
  if (r.truncated === true) lines.push('  (older events left out)');
  return lines;
}

/** `before-sync`: the value at the last compaction round. */
export function formatBeforeSync(r: Obj): string[] {
  const round = isObj(r.round) ? `round ${r.round.epoch}/${r.round.round}` : 'the last round';
  return [`${str(r.key)} (${str(r.type)}) at ${round} = ${formatValue(r.value)}`];
}

/** A change notice from `watch`. */
export function formatNotice(subject: string, body: unknown, nowMs: number, prefix: string): string {
  const time = new Date(nowMs).toISOString().slice(11, 23);
  if (!isObj(body)) return `${time}  ${subject}  ${JSON.stringify(body)}`;
  const key = str(body.key) ?? subject.slice(`${prefix}.changes.`.length);
  const origin = body.origin !== undefined ? `  by ${str(body.origin)}#${body.seq}` : '';
  return `${time}  ${key} (${str(body.type) ?? '?'})${origin}`;
}

// ------------------------------------------------------------------ cluster commands

/**
 * How far each member is behind the most advanced one: the events (summed over
 * origins) that some member has applied and this one has not.
 */
export function appliedLag(members: ReadonlyArray<Pick<Heartbeat, 'replica' | 'applied'>>): Map<string, number> {
  const max: Record<string, number> = {};
  for (const m of members) for (const [o, n] of Object.entries(m.applied ?? {})) if (n > (max[o] ?? 0)) max[o] = n;
  const lag = new Map<string, number>();
  for (const m of members) {
    let behind = 0;
    for (const [o, n] of Object.entries(max)) behind += Math.max(0, n - (m.applied?.[o] ?? 0));
    lag.set(m.replica, behind);
  }
  return lag;
}

/** Reads member records from a status reply (`members` or `replicas`, as an array or a map by id). */
export function membersOf(r: Obj): Heartbeat[] {
  const raw = r.members ?? r.replicas;
  const list = Array.isArray(raw) ? raw : isObj(raw) ? Object.entries(raw).map(([id, v]) => (isObj(v) ? { replica: id, ...v } : v)) : [];
  return list.filter((m): m is Heartbeat => isObj(m) && typeof m.replica === 'string');
}

/** How long ago a member was heard: the coordinator's `ageMs`, else from the heartbeat's send time. */
function seen(m: Heartbeat & { ageMs?: unknown }, nowMs: number): string {
  const age = num(m.ageMs) ?? (num(m.sentMs) !== undefined ? nowMs - m.sentMs : undefined);
  return age === undefined ? '?' : `${Math.max(0, Math.round(age))} ms ago`;
}

/** The members table: mode, applied lag, op-log size, outbox depth, keys, stream position, round. */
export function formatMembers(members: readonly Heartbeat[], nowMs: number): string[] {
  if (members.length === 0) return ['(no replicas heard)'];
  const lag = appliedLag(members);
  const sorted = [...members].sort((a, b) => a.replica.localeCompare(b.replica));
  return table(
    ['REPLICA', 'MODE', 'LAG', 'OPLOG', 'OUTBOX', 'KEYS', 'STREAMSEQ', 'ROUND', 'SEEN'],
    sorted.map((m) => [
      m.replica,
      String(m.mode ?? '?'),
      String(lag.get(m.replica) ?? 0),
      String(m.opLogLength ?? '?'),
      String(m.outboxDepth ?? '?'),
      String(m.keys ?? '?'),
      String(m.streamSeq ?? '?'),
      m.epoch !== undefined ? `${m.epoch}/${m.round}` : '?',
      seen(m as Heartbeat & { ageMs?: unknown }, nowMs),
    ]),
  );
}

/** A digest, shortened for people. */
function shortDigest(d: unknown): string {
  return typeof d === 'string' ? (d.length > 12 ? `${d.slice(0, 12)}…` : d) : '?';
}

/** A version vector in one short line: `r1:5 r2:7`. */
function formatVector(v: unknown): string {
  if (!isObj(v)) return '?';
  const parts = Object.keys(v).sort().map((k) => `${k}:${v[k]}`);
  return parts.length === 0 ? '(empty)' : parts.join(' ');
}

/**
 * One round's record (a `RoundResult` of libs/coordination): its outcome, trigger, phase
 * timings, members and, when aborted, why and which replicas failed. Lines after the
 * first are indented details.
 */
export function formatRound(r: unknown): string[] {
  if (!isObj(r)) return [JSON.stringify(r)];
  const id = `round ${r.epoch ?? '?'}/${r.round ?? '?'}`;
  const outcome = str(r.outcome) ?? '?';
  const trigger = str(r.trigger);
  const t = isObj(r.timings) ? r.timings : {};
  const head = [`${id} ${outcome}${trigger ? ` (${trigger})` : ''}`];
  if (num(t.totalMs) !== undefined) head.push(`in ${t.totalMs} ms`);
  if (num(r.startedAtMs) !== undefined) head.push(`at ${formatTime(r.startedAtMs)}`);
  if (str(r.coordinator)) head.push(`by ${r.coordinator}`);
  const lines = [head.join(' ')];
  if (num(t.freezeMs) !== undefined) {
    lines.push(`  freeze ${t.freezeMs} ms, cut ${t.cutMs ?? 0} ms, commit ${t.commitMs ?? 0} ms; client writes held ${t.writesHeldMs ?? '?'} ms`);
  }
  const members = Array.isArray(r.members) ? r.members.join(', ') : undefined;
  if (members) lines.push(`  members ${members}${r.digest !== undefined ? `, digest ${shortDigest(r.digest)}` : ''}${str(r.publisher) ? `, snapshot by ${r.publisher}` : ''}`);
  if (num(r.keepFromSeq) !== undefined) lines.push(`  stream purged below seq ${r.keepFromSeq}`);
  if (str(r.purgeError)) lines.push(`  purge failed: ${r.purgeError}`);
  if (outcome !== 'committed' && (str(r.reason) || str(r.code))) lines.push(`  why: ${str(r.code) ? `${r.code}: ` : ''}${str(r.reason) ?? ''}`);
  for (const f of Array.isArray(r.failures) ? r.failures.filter(isObj) : []) {
    lines.push(`  failure: ${str(f.replica) ?? 'coordinator'} at ${str(f.phase)}: ${str(f.code)}${str(f.replicaCode) ? `/${f.replicaCode}` : ''} ${str(f.message) ?? ''}`.trimEnd());
  }
  if (Array.isArray(r.mismatchedKeys) && r.mismatchedKeys.length > 0) {
    const total = num(r.mismatchedKeysTotal) ?? r.mismatchedKeys.length;
    lines.push(`  keys that differ (${total}): ${r.mismatchedKeys.join(', ')}${total > r.mismatchedKeys.length ? ', …' : ''}`);
  }
  return lines;
}

/** `rounds` (newest first, as the coordinator sends them). */
export function formatRounds(r: Obj): string[] {
  const rounds = Array.isArray(r.rounds) ? r.rounds : [];
  if (rounds.length === 0) return ['(no rounds yet)'];
  return rounds.flatMap(formatRound);
}

/** The reply to `sync`: the round's record (also on failure, when the coordinator sends it). */
export function formatSync(r: Obj, requestToReplyMs: number): string[] {
  const lines = isObj(r.result) ? formatRound(r.result) : [r.ok === true ? 'round done' : 'round not run'];
  lines.push(`(${Math.round(requestToReplyMs)} ms from request to reply)`);
  return lines;
}

/**
 * One round progress event (a `RoundEvent` on `<prefix>.rounds.events`), timed from when
 * `sync` was sent.
 */
export function formatRoundEvent(e: unknown, sinceStartMs: number): string[] {
  const t = `+${String(Math.max(0, Math.round(sinceStartMs))).padStart(5)} ms`;
  if (!isObj(e)) return [`${t}  ${JSON.stringify(e)}`];
  const id = `round ${e.epoch ?? '?'}/${e.round ?? '?'}`;
  const phase = str(e.phase) ?? '?';
  let what: string;
  switch (phase) {
    case 'started':
      what = `started${str(e.trigger) ? ` (${e.trigger})` : ''}; members ${Array.isArray(e.members) ? e.members.join(', ') : '?'}`;
      break;
    case 'frozen':
      what = `frozen in ${e.freezeMs ?? '?'} ms; cut ${formatVector(e.cut)}`;
      break;
    case 'cut':
      what = `cut reached in ${e.cutMs ?? '?'} ms; ${e.digest !== undefined ? `digest ${shortDigest(e.digest)}` : `digests differ: ${JSON.stringify(e.digests)}`}`;
      break;
    case 'mismatch':
      what = `MISMATCH on ${e.mismatchedKeysTotal ?? '?'} keys${Array.isArray(e.mismatchedKeys) ? `: ${e.mismatchedKeys.join(', ')}` : ''}`;
      break;
    case 'committed':
      what = `committed in ${e.commitMs ?? '?'} ms${str(e.publisher) ? `; snapshot published by ${e.publisher}` : ''}`;
      break;
    case 'resumed':
      what = `resumed${e.committed === false ? ' (aborted)' : ''}; client writes were held ${e.writesHeldMs ?? '?'} ms`;
      break;
    case 'purged':
      what = `stream purged below seq ${e.keepFromSeq ?? '?'}`;
      break;
    case 'done': {
      const result = isObj(e.result) ? e.result : {};
      what = `done: ${str(result.outcome) ?? '?'}${num(isObj(result.timings) ? result.timings.totalMs : undefined) !== undefined ? ` in ${(result.timings as Obj).totalMs} ms` : ''}`;
      break;
    }
    default: {
      const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !['v', 'coordinator', 'epoch', 'round', 'phase', 'atMs'].includes(k)));
      what = `${phase} ${JSON.stringify(rest)}`;
    }
  }
  return [`${t}  ${id} ${what}`];
}

/** Fields of a coordinator status reply that get their own lines. */
const STATUS_SHOWN = new Set(['ok', 'coordinator', 'leader', 'isLeader', 'epoch', 'members', 'running', 'lastRounds', 'rounds', 'freeze', 'schedule']);

/** Milliseconds as people read them. */
function formatMs(ms: unknown): string {
  const n = num(ms);
  if (n === undefined) return '?';
  return n >= 10_000 ? `${Math.round(n / 1000)} s` : `${n} ms`;
}

/** `status` from the coordinator's reply (`StatusReply` of libs/coordination). */
export function formatStatus(r: Obj, nowMs: number): string[] {
  const lines: string[] = [];
  const leader = r.isLeader === true ? 'the leader' : r.leader ? `following leader ${r.leader}` : 'no leader holds the lease';
  lines.push(`coordinator ${str(r.coordinator) ?? '?'}: ${leader}, epoch ${r.epoch ?? '?'}`);
  lines.push(`running: ${isObj(r.running) ? `round ${r.running.epoch}/${r.running.round}` : 'no round'}`);
  if (isObj(r.schedule)) lines.push(`schedule: a round every ${formatMs(r.schedule.intervalMs)}, or when an op log passes ${r.schedule.opLogThreshold ?? '?'} events`);
  if (isObj(r.freeze)) {
    const f = r.freeze;
    lines.push(
      `rounds: ${f.committedRounds ?? 0} committed, ${f.abortedRounds ?? 0} aborted; writes held last ${formatMs(f.lastWritesHeldMs ?? undefined)}, max ${formatMs(f.maxWritesHeldMs ?? undefined)}, mean ${formatMs(f.meanWritesHeldMs ?? undefined)}`,
    );
  }
  for (const [k, v] of Object.entries(r)) if (!STATUS_SHOWN.has(k)) lines.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  lines.push('', ...formatMembers(membersOf(r), nowMs));
  const rounds = Array.isArray(r.lastRounds) ? r.lastRounds : Array.isArray(r.rounds) ? r.rounds : [];
  lines.push('', rounds.length === 0 ? 'last rounds: none yet' : 'last rounds (newest first):');
  for (const round of rounds.slice(0, 5)) lines.push(...formatRound(round).map((l) => `  ${l}`));
  return lines;
}

/** `status` from heartbeats alone (no coordinator answered). */
export function formatHeartbeatStatus(beats: readonly Heartbeat[], prefix: string, nowMs: number): string[] {
  const lines = [`no coordinator answered on ${prefix}.coordinator.status; from replica heartbeats on ${prefix}.heartbeat:`, ''];
  lines.push(...formatMembers(beats, nowMs));
  const last = beats.reduce<{ epoch: number; round: number } | undefined>(
    (best, b) => (b.epoch !== undefined && (!best || b.epoch > best.epoch || (b.epoch === best.epoch && b.round > best.round)) ? { epoch: b.epoch, round: b.round } : best),
    undefined,
  );
  lines.push('', last && (last.epoch > 0 || last.round > 0) ? `last round heard of: ${last.epoch}/${last.round}` : 'no round heard of yet');
  return lines;
}

// ------------------------------------------------------------------ help

/** crdtctl's help. */
export function helpText(topic?: 'shell'): string[] {
  const commands = [
    '  status [KEY]                    members, modes, applied lag, op-log sizes, outbox depth, last rounds;',
    '                                  with KEY also its value on each replica',
    '  peers [KEY]                     replicas heard on the heartbeat subject in ~1 s; with KEY its value on each',
    '  missing [KEY]                   events each replica lacks or holds back waiting for a dependency;',
    '                                  with KEY the key\'s events (since the last round) some replica lacks',
    '  keys [PREFIX]                   list keys',
    '  variables [KEY] [--prefix P]    keys with their values (all, one KEY, or those starting with P)',
    '  get KEY [--consistency local|latest|linearizable]',
    '                                  read a key; linearizable: at the key\'s last strong write, with its revision',
    '  create KEY [TYPE] [OPTIONS_JSON]       make a key of a CRDT type (default pn-counter)',
    '  +N KEY, -N KEY, N KEY           add or subtract N (a pn-counter, created if missing)',
    '  put KEY VALUE [--consistency strong [--expect REV]]',
    '                                  set a plain key (an lww-register; VALUE is JSON or a string); read it with get',
    '  del KEY [--ack local|stream|all]       delete a key on every replica (also: delete KEY); an update',
    '                                  concurrent with it (not yet seen by that replica) survives',
    '  update KEY OP_JSON [--type T] [--ack local|stream|all] [--consistency strong [--expect REV]]',
    '                                  apply an op ({...}) or a batch ([{...},...]); --type creates the key if missing',
    '  history KEY                     events of a key since the last compaction round',
    '  before KEY                      the key\'s value at the last compaction round (also: before-sync KEY)',
    '  sync [KEY]                      run a compaction round now, printing each phase (then KEY at the round)',
    '  rounds                          recent compaction rounds',
    '  watch [KEY|PREFIX*|PATTERN]     print change notices (default: every key) until Ctrl-C;',
    '                                  PATTERN uses NATS wildcards on whole dot-separated parts (users.*, users.>)',
    '  populate KEY [--count N] [--type T]   send N random ops in batches (default 1000, pn-counter)',
    '  req SUBJECT [JSON]              send a raw request and print the JSON reply',
  ];
  const options = [
    'options: --replica ID (talk to that replica only), --after TOKEN (wait until the replica covers the token),',
    '         --consistency local|latest|linearizable (get; variables: local|latest), --json, --timeout MS',
    'strong writes (lww-register keys; docs/protocol.md §17): put or update with --consistency strong is ordered',
    '         by the op stream and prints the key\'s revision; --expect REV makes it a compare-and-set: it applies only',
    '         if the key is still at REV (0: no strong write yet), else error CONFLICT names the current revision',
  ];
  if (topic === 'shell') {
    return [
      'commands (as on the command line, without `crdtctl`):',
      ...commands,
      '  help, exit (or Ctrl-D)',
      ...options,
      'reads in the shell wait for the shell\'s own earlier writes (read-your-writes across replicas).',
    ];
  }
  return [
    'crdtctl: admin CLI of the CRDT store over NATS',
    '',
    'usage: crdtctl COMMAND [ARGS] [OPTIONS]',
    '',
    'commands:',
    ...commands,
    '  shell                           interactive prompt with the same commands',
    '',
    ...options,
    'environment: NATS_URL (else the cluster file $DATA_ROOT/cluster.json that npm start writes; DATA_ROOT default ./data), CRDT_PREFIX (default crdt),',
    '  NATS_USER + NATS_PASSWORD or NATS_PASSWORD_FILE (a secured cluster; else the cluster file\'s admin credential), NATS_TLS_CA (TLS)',
    'exit codes: 0 ok, 1 error reply or no answer, 2 usage, 3 cannot reach NATS',
  ];
}
