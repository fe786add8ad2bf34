import { REPLICA_COMMANDS, type ClientCommandName, type Heartbeat } from '#protocol';
import { TransportError, type CrdtClientPort, type Reply } from './client';
import {
  EXIT,
  HEARTBEAT_LISTEN_MS,
  POPULATE_BATCH_OPS_MAX,
  REQUEST_TIMEOUT_MS_DEFAULT,
  STATUS_PROBE_MS,
  SYNC_TIMEOUT_MS_DEFAULT,
  type Command,
  type GlobalOptions,
  type WatchTarget,
} from './command';
import {
  formatBeforeSync,
  formatBeforeSyncFailure,
  formatCreate,
  formatErrorReply,
  formatGet,
  formatHeartbeatStatus,
  formatHistory,
  formatKeys,
  formatMembers,
  formatNotice,
  formatRoundEvent,
  formatRounds,
  formatStatus,
  formatStrongNoReply,
  formatSync,
  formatTransportError,
  formatDelete,
  formatUpdate,
  formatValue,
  formatVariables,
  helpText,
  type FailedRequest,
} from './format';
import { withArticle } from '#crdt/type-article';
import { watchSubject } from '#client/watch';
import { formatAcrossReplicas, formatMissing, formatReplicaStatus, missingByReplica, missingEventsOfKey } from './format-replicas';
import { isPopulateType, POPULATE_TYPES, randomOps } from './populate-ops';

/** Where output goes: lines on stdout, errors on stderr, and a progress line that rewrites itself. */
export interface Output {
  line(s: string): void;
  error(s: string): void;
  /** A line that the next progress (or line) replaces, where the terminal allows. */
  progress(s: string): void;
}

/** What the shell remembers between commands. */
export interface Session {
  /** The causal token of the shell's last write or read: later reads wait for it. */
  lastToken?: string;
}

/** Everything a command runs with. */
export interface RunContext {
  readonly client: CrdtClientPort;
  readonly out: Output;
  readonly options: GlobalOptions;
  /** The subject prefix (CRDT_PREFIX). */
  readonly prefix: string;
  /** Present in the shell: reads and writes carry the last token. */
  readonly session?: Session;
  /** Ends long commands (`watch`, `sync`, `populate`) early: Ctrl-C. */
  readonly signal?: AbortSignal;
  readonly nowMs: () => number;
  readonly random: () => number;
}

/** Keys `variables` reads at most. */
const VARIABLES_KEYS_MAX = 1_000;
/** Changes `watch` remembers to show each once (oldest forgotten first). */
const WATCH_SEEN_MAX = 10_000;
/** `get`s `variables` keeps in flight. */
const VARIABLES_CONCURRENCY = 16;

/** Runs one command; resolves with the exit code. Never throws for transport failures. */
export async function runCommand(cmd: Command, ctx: RunContext): Promise<number> {
  try {
    return await dispatch(cmd, ctx);
  } catch (e) {
    if (e instanceof TransportError) {
      for (const l of formatTransportError(e, ctx.prefix)) ctx.out.error(l);
      return EXIT.ERROR;
    }
    throw e;
  }
}

/** The subject of a replica command: the one `--replica` names, else any replica (queue group). */
function subjectOf(ctx: RunContext, command: ClientCommandName): string {
  const name = REPLICA_COMMANDS[command].name;
  return ctx.options.replica !== undefined ? ctx.client.subjects.replica(ctx.options.replica, name) : ctx.client.subjects.api(name);
}

/** Sends a replica command to `--replica` or any replica. */
function ask(ctx: RunContext, command: ClientCommandName, body: Record<string, unknown>): Promise<Reply> {
  return ctx.client.request(subjectOf(ctx, command), body, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
}

/** `after`: `--after TOKEN`, else the shell's last token. */
function afterOf(ctx: RunContext): { after?: string } {
  const t = ctx.options.after ?? ctx.session?.lastToken;
  return t ? { after: t } : {};
}

async function dispatch(cmd: Command, ctx: RunContext): Promise<number> {
  const { client, out } = ctx;
  const consistency = ctx.options.consistency ? { consistency: ctx.options.consistency } : {};

  switch (cmd.name) {
    case 'help':
      for (const l of helpText(cmd.topic)) out.line(l);
      return EXIT.OK;
    case 'shell':
    case 'exit':
      return EXIT.OK; // handled by the caller
    case 'get':
      return show(ctx, await ask(ctx, 'get', { key: cmd.key, ...afterOf(ctx), ...consistency }), formatGet);
    case 'create':
      return show(ctx, await ask(ctx, 'create', { key: cmd.key, type: cmd.type, ...(cmd.options !== undefined ? { options: cmd.options } : {}) }), formatCreate);
    case 'update': {
      const body = {
        key: cmd.key,
        ...(cmd.ops !== undefined ? { ops: cmd.ops } : { op: cmd.op }),
        ...(cmd.type !== undefined ? { type: cmd.type } : {}),
        ...(cmd.ack !== undefined ? { ack: cmd.ack } : {}),
        ...(cmd.consistency !== undefined ? { consistency: cmd.consistency } : {}),
        ...(cmd.expect !== undefined ? { expect: cmd.expect } : {}),
        ...afterOf(ctx),
      };
      let r: Reply;
      try {
        r = await ask(ctx, 'update', body);
      } catch (e) {
        // A strong write with no reply may or may not take effect: say how to learn which.
        if (!(e instanceof TransportError) || e.kind !== 'timeout' || cmd.consistency !== 'strong') throw e;
        for (const l of formatStrongNoReply(e, cmd.key)) ctx.out.error(l);
        return EXIT.ERROR;
      }
      // INVALID_OP: the hint shows the commands of the key's own type.
      const code = (r.error as { code?: unknown } | undefined)?.code;
      const type = code === 'INVALID_OP' ? (cmd.type ?? (await keyType(ctx, cmd.key))) : undefined;
      return show(ctx, r, (x) => formatUpdate(x, cmd.ack), 'replica', undefined, type, { key: cmd.key, strongWrite: cmd.consistency === 'strong' });
    }
    case 'delete': {
      const strong = { ...(cmd.consistency !== undefined ? { consistency: cmd.consistency } : {}), ...(cmd.expect !== undefined ? { expect: cmd.expect } : {}) };
      const r = await ask(ctx, 'delete', { key: cmd.key, ...(cmd.ack !== undefined ? { ack: cmd.ack } : {}), ...strong, ...afterOf(ctx) });
      return show(ctx, r, (x) => formatDelete(x, cmd.ack), 'replica', undefined, undefined, { key: cmd.key, strongWrite: cmd.consistency === 'strong' });
    }
    case 'keys':
      return show(ctx, await ask(ctx, 'keys', cmd.prefix !== undefined ? { prefix: cmd.prefix } : {}), formatKeys);
    case 'history':
      return show(ctx, await ask(ctx, 'history', { key: cmd.key }), formatHistory);
    case 'before-sync':
      return showBeforeSync(ctx, await ask(ctx, 'before-sync', { key: cmd.key }));
    case 'variables':
      return variables(ctx, cmd.key, cmd.prefix);
    case 'peers': {
      const beats = (await listenHeartbeats(ctx)).filter((b) => ctx.options.replica === undefined || b.replica === ctx.options.replica);
      if (ctx.options.json && cmd.key === undefined) out.line(JSON.stringify(beats));
      else if (beats.length === 0) return noHeartbeats(ctx);
      else if (!ctx.options.json) for (const l of formatMembers(beats, ctx.nowMs())) out.line(l);
      return cmd.key === undefined ? EXIT.OK : acrossReplicas(ctx, cmd.key, beats.map((b) => b.replica));
    }
    case 'status': {
      const code = ctx.options.replica !== undefined ? show(ctx, await ask(ctx, 'status', {}), formatReplicaStatus) : await status(ctx);
      if (cmd.key === undefined || code !== EXIT.OK) return code;
      out.line('');
      return acrossReplicas(ctx, cmd.key);
    }
    case 'missing':
      return missing(ctx, cmd.key);
    case 'rounds':
      return show(ctx, await client.request(client.subjects.coordinator('rounds'), {}, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT), formatRounds, 'coordinator');
    case 'sync': {
      const code = await sync(ctx);
      if (cmd.key === undefined || code !== EXIT.OK) return code;
      // A round covers every key; show the key's value as the round fixed it.
      return showBeforeSync(ctx, await ask(ctx, 'before-sync', { key: cmd.key }));
    }
    case 'watch':
      return watch(ctx, cmd.target);
    case 'populate':
      return populate(ctx, cmd.key, cmd.count, cmd.type);
    case 'req': {
      const r = await client.request(cmd.subject, cmd.body, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
      out.line(JSON.stringify(r));
      return r.ok === false ? EXIT.ERROR : EXIT.OK;
    }
  }
}

/** `before KEY`: its own hint when no round has fixed the key. */
function showBeforeSync(ctx: RunContext, r: Reply): number {
  if (r.ok === true || ctx.options.json) return show(ctx, r, formatBeforeSync);
  for (const l of formatBeforeSyncFailure(r)) ctx.out.error(l);
  return EXIT.ERROR;
}

/** The key's type, read from a replica; undefined when it cannot be read. */
async function keyType(ctx: RunContext, key: string): Promise<string | undefined> {
  const r = await ask(ctx, 'get', { key }).catch(() => undefined);
  return r?.ok === true && typeof r.type === 'string' ? r.type : undefined;
}

/** The replicas to ask one by one: `--replica`, else those heard on the heartbeat subject. */
async function replicaIds(ctx: RunContext, heard?: readonly string[]): Promise<string[]> {
  if (ctx.options.replica !== undefined) return [ctx.options.replica];
  return [...(heard ?? (await listenHeartbeats(ctx)).map((b) => b.replica))].sort();
}

/** Asks each replica in turn for `command`; a replica that does not answer gets its failure as a reply. */
async function askEach(ctx: RunContext, ids: readonly string[], command: string, body: Record<string, unknown>): Promise<Array<[string, Reply]>> {
  return Promise.all(
    ids.map(async (id): Promise<[string, Reply]> => {
      try {
        return [id, await ctx.client.request(ctx.client.subjects.replica(id, command), body, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT)];
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        return [id, { ok: false, error: { code: e.kind === 'timeout' ? 'NO_REPLY' : 'NO_RESPONDERS', message: e.message } }];
      }
    }),
  );
}

/** `status KEY`, `peers KEY`: the key's value on each replica. */
async function acrossReplicas(ctx: RunContext, key: string, heard?: readonly string[]): Promise<number> {
  const ids = await replicaIds(ctx, heard);
  if (ids.length === 0) return noHeartbeats(ctx);
  // With the shell's token (or --after), each replica shows at least what this session wrote and read.
  const rows = await askEach(ctx, ids, 'get', { key, ...afterOf(ctx) });
  if (ctx.options.json) ctx.out.line(JSON.stringify({ ok: true, key, replicas: Object.fromEntries(rows) }));
  else for (const l of formatAcrossReplicas(key, rows)) ctx.out.line(l);
  return EXIT.OK;
}

/**
 * `missing`: the events each replica lacks. Without a key: from each replica's status,
 * the events it holds back waiting for a dependency (`waiting`) and, against the most
 * advanced replica's applied vector, the ranges it has not applied. With a key: the
 * events on the key (since the last round) that some replica lists in its history and
 * another does not.
 */
async function missing(ctx: RunContext, key: string | undefined): Promise<number> {
  const ids = await replicaIds(ctx);
  if (ids.length === 0) return noHeartbeats(ctx);
  if (key === undefined) {
    const statuses = await askEach(ctx, ids, 'status', {});
    const rows = missingByReplica(statuses);
    if (ctx.options.json) ctx.out.line(JSON.stringify({ ok: true, replicas: rows }));
    else for (const l of formatMissing(rows)) ctx.out.line(l);
    return EXIT.OK;
  }
  const histories = await askEach(ctx, ids, 'history', { key });
  const rows = missingEventsOfKey(histories);
  if (ctx.options.json) ctx.out.line(JSON.stringify({ ok: true, key, replicas: rows }));
  else for (const l of formatMissing(rows, key)) ctx.out.line(l);
  return EXIT.OK;
}

/** Prints a reply (or its error) and remembers its token; the exit code follows `ok`. */
function show(
  ctx: RunContext,
  r: Reply,
  format: (r: Reply) => string[],
  source: 'replica' | 'coordinator' = 'replica',
  formatFailure?: (r: Reply) => string[],
  keyType?: string,
  request?: FailedRequest,
): number {
  if (typeof r.token === 'string' && ctx.session) ctx.session.lastToken = r.token;
  if (r.ok !== true) {
    if (ctx.options.json) ctx.out.line(JSON.stringify(r));
    else {
      for (const l of formatFailure?.(r) ?? []) ctx.out.error(l);
      for (const l of formatErrorReply(r, source, keyType, request)) ctx.out.error(l);
    }
    return EXIT.ERROR;
  }
  if (ctx.options.json) ctx.out.line(JSON.stringify(r));
  else for (const l of format(r)) ctx.out.line(l);
  return EXIT.OK;
}

/** Collects heartbeats for about a second; the newest per replica. */
async function listenHeartbeats(ctx: RunContext): Promise<Heartbeat[]> {
  const latest = new Map<string, Heartbeat>();
  const stop = ctx.client.subscribe(ctx.client.subjects.heartbeat, (_s, body) => {
    const b = body as Heartbeat;
    if (typeof b === 'object' && b !== null && typeof b.replica === 'string') latest.set(b.replica, b);
  });
  try {
    await sleep(HEARTBEAT_LISTEN_MS, ctx.signal);
  } finally {
    stop();
  }
  return [...latest.values()];
}

function noHeartbeats(ctx: RunContext): number {
  ctx.out.error(`error: no replica heartbeats heard on ${ctx.client.subjects.heartbeat} in ${HEARTBEAT_LISTEN_MS} ms`);
  ctx.out.error('hint: is the cluster running? try `npm start`, or check NATS_URL and CRDT_PREFIX');
  return EXIT.ERROR;
}

async function status(ctx: RunContext): Promise<number> {
  const { client, out } = ctx;
  let reply: Reply | undefined;
  try {
    reply = await client.request(client.subjects.coordinator('status'), {}, Math.min(ctx.options.timeoutMs ?? STATUS_PROBE_MS, STATUS_PROBE_MS));
  } catch (e) {
    if (!(e instanceof TransportError) || (e.kind !== 'no-responders' && e.kind !== 'timeout')) throw e;
  }
  if (reply) return show(ctx, reply, (r) => formatStatus(r, ctx.nowMs()), 'coordinator');
  const beats = await listenHeartbeats(ctx);
  if (beats.length === 0) {
    out.error(`error: no coordinator answers on ${client.subjects.coordinator('status')} and no replica heartbeats were heard`);
    out.error('hint: is the cluster running? try `npm start`');
    return EXIT.ERROR;
  }
  if (ctx.options.json) out.line(JSON.stringify({ ok: true, coordinator: null, members: beats }));
  else for (const l of formatHeartbeatStatus(beats, ctx.prefix, ctx.nowMs())) out.line(l);
  return EXIT.OK;
}

async function sync(ctx: RunContext): Promise<number> {
  const { client, out } = ctx;
  const started = ctx.nowMs();
  // Subscribe before asking, so the round's first phase is not missed.
  const stop = client.subscribe(client.subjects.roundEvents, (_s, body) => {
    if (ctx.options.json) out.line(JSON.stringify(body));
    else for (const l of formatRoundEvent(body, ctx.nowMs() - started)) out.line(l);
  });
  try {
    await client.flush();
    const reply = await client.request(client.subjects.coordinator('sync'), {}, ctx.options.timeoutMs ?? SYNC_TIMEOUT_MS_DEFAULT);
    const tookMs = ctx.nowMs() - started;
    return show(ctx, reply, (r) => formatSync(r, tookMs), 'coordinator', (r) => (r.result !== undefined ? formatSync(r, tookMs) : []));
  } finally {
    stop();
  }
}

async function watch(ctx: RunContext, target: WatchTarget): Promise<number> {
  const { client, out } = ctx;
  // NATS wildcards match whole dot-separated parts: a prefix inside a part is filtered here.
  const { suffix, filter } = watchSubject(target);
  const subject = client.subjects.changes(suffix);
  const only = ctx.options.replica;
  // Every replica announces each change it applies: show a change once, not once per replica.
  const shown = new Set<string>();
  const stop = client.subscribe(subject, (s, body) => {
    const b = body as { key?: unknown; origin?: unknown; seq?: unknown; replica?: unknown } | null;
    if (filter !== undefined && !(b && typeof b.key === 'string' && b.key.startsWith(filter))) return;
    if (only !== undefined && b?.replica !== only) return;
    if (b && typeof b === 'object' && b.origin !== undefined && b.seq !== undefined) {
      const id = `${String(b.key)}\u0000${String(b.origin)}\u0000${String(b.seq)}`;
      if (shown.has(id)) return;
      shown.add(id);
      if (shown.size > WATCH_SEEN_MAX) shown.delete(shown.values().next().value!);
    }
    out.line(ctx.options.json ? JSON.stringify({ subject: s, notice: body }) : formatNotice(s, body, ctx.nowMs(), ctx.prefix));
  });
  try {
    await client.flush();
    const what = filter !== undefined
      ? `keys starting with ${JSON.stringify(filter)} on ${subject} (NATS wildcards match whole dot-separated parts, so crdtctl filters the rest)`
      : subject;
    out.error(`watching ${what}${only !== undefined ? ` as applied by ${only}` : ''} (Ctrl-C to stop)`);
    await sleep(Number.POSITIVE_INFINITY, ctx.signal);
  } finally {
    stop();
  }
  return EXIT.OK;
}

async function populate(ctx: RunContext, key: string, count: number, type: string): Promise<number> {
  const { client, out } = ctx;
  if (!isPopulateType(type)) {
    out.error(`error: populate cannot fill ${withArticle(type)}; it fills ${POPULATE_TYPES.join(', ')}`);
    return EXIT.USAGE;
  }
  const started = ctx.nowMs();
  let sent = 0;
  let batches = 0;
  let token: string | undefined = afterOf(ctx).after;
  // Text and list inserts need the current length (inserts only: it never shrinks under us).
  let length = 0;
  if (type === 'text' || type === 'list') {
    const now = await ask(ctx, 'get', { key, ...(token ? { after: token } : {}) });
    if (now.ok === true && now.type === type) length = (now.value as string | unknown[]).length;
  }
  while (sent < count && !ctx.signal?.aborted) {
    const n = Math.min(POPULATE_BATCH_OPS_MAX, count - sent);
    const r = await ask(ctx, 'update', { key, type, ops: randomOps(type, n, ctx.random, length), ...(token ? { after: token } : {}) });
    if (r.ok !== true) {
      out.progress('');
      for (const l of formatErrorReply(r)) out.error(l);
      out.error(`populate stopped after ${sent} of ${count} ops`);
      return EXIT.ERROR;
    }
    if (typeof r.token === 'string') token = r.token;
    sent += n;
    length += n;
    batches++;
    const ms = Math.max(1, ctx.nowMs() - started);
    out.progress(`populate ${key}: ${sent}/${count} ops in ${batches} batch${batches === 1 ? '' : 'es'}, ${Math.round((sent * 1000) / ms)} ops/s`);
  }
  if (ctx.session && token) ctx.session.lastToken = token;
  const ms = Math.max(1, ctx.nowMs() - started);
  out.progress('');
  out.line(`populate ${key}: ${sent} ${type} ops in ${batches} batch${batches === 1 ? '' : 'es'}, ${ms} ms (${Math.round((sent * 1000) / ms)} ops/s)${ctx.signal?.aborted ? ', stopped early' : ''}`);
  const v = await ask(ctx, 'get', { key, ...(token ? { after: token } : {}) });
  if (v.ok === true) out.line(`${key} = ${formatValue(v.value)}`);
  return EXIT.OK;
}

async function variables(ctx: RunContext, key: string | undefined, prefix: string | undefined): Promise<number> {
  const { out } = ctx;
  const consistency = ctx.options.consistency ? { consistency: ctx.options.consistency } : {};
  let keys: Array<{ key: string; type: string }>;
  let truncated = false;
  if (key !== undefined) {
    // `variables x`: the one key, as the seed shell shows it (a prefix is `--prefix`).
    const r = await ask(ctx, 'get', { key, ...afterOf(ctx), ...consistency });
    if (r.ok !== true) return show(ctx, r, () => []);
    keys = [{ key, type: String(r.type) }];
  } else {
    const list = await ask(ctx, 'keys', { ...(prefix !== undefined ? { prefix } : {}), limit: VARIABLES_KEYS_MAX });
    if (list.ok !== true) return show(ctx, list, () => []);
    keys = (Array.isArray(list.keys) ? list.keys : []) as Array<{ key: string; type: string }>;
    truncated = list.truncated === true;
  }
  const rows: Array<{ key: string; type: string; value?: unknown; error?: string }> = new Array(keys.length);
  const after = afterOf(ctx);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      const { key: k, type } = keys[i];
      const r = await ask(ctx, 'get', { key: k, ...after, ...consistency });
      const err = r.error as { code?: string } | undefined;
      rows[i] = r.ok === true ? { key: k, type, value: r.value } : { key: k, type, error: err?.code ?? 'error' };
    }
  };
  await Promise.all(Array.from({ length: Math.min(VARIABLES_CONCURRENCY, keys.length) }, worker));
  if (ctx.options.json) out.line(JSON.stringify({ ok: true, variables: rows, truncated }));
  else {
    if (prefix !== undefined) out.line(`keys starting with ${JSON.stringify(prefix)}:`);
    for (const l of formatVariables(rows, truncated)) out.line(l);
  }
  return EXIT.OK;
}

/** Waits `ms` (forever when infinite) or until `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done() {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
