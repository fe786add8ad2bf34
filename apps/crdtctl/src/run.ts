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
} from './command';
import {
  formatBeforeSync,
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
  formatSync,
  formatTransportError,
  formatUpdate,
  formatValue,
  formatVariables,
  helpText,
} from './format';
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

async function dispatch(cmd: Command, ctx: RunContext): Promise<number> {
  const { client, out } = ctx;
  // The replica commands crdtctl sends are the protocol table's client commands (a name it does not list does not compile).
  const api = (command: ClientCommandName, body: Record<string, unknown>) => client.request(client.subjects.api(REPLICA_COMMANDS[command].name), body, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
  const after = () => (ctx.session?.lastToken ? { after: ctx.session.lastToken } : {});

  switch (cmd.name) {
    case 'help':
      for (const l of helpText(cmd.topic)) out.line(l);
      return EXIT.OK;
    case 'shell':
    case 'exit':
      return EXIT.OK; // handled by the caller
    case 'get':
      return show(ctx, await api('get', { key: cmd.key, ...after() }), formatGet);
    case 'create':
      return show(ctx, await api('create', { key: cmd.key, type: cmd.type, ...(cmd.options !== undefined ? { options: cmd.options } : {}) }), formatCreate);
    case 'update': {
      const body = {
        key: cmd.key,
        ...(cmd.ops !== undefined ? { ops: cmd.ops } : { op: cmd.op }),
        ...(cmd.type !== undefined ? { type: cmd.type } : {}),
        ...(cmd.ack !== undefined ? { ack: cmd.ack } : {}),
        ...after(),
      };
      return show(ctx, await api('update', body), (r) => formatUpdate(r, cmd.ack));
    }
    case 'keys':
      return show(ctx, await api('keys', cmd.prefix !== undefined ? { prefix: cmd.prefix } : {}), formatKeys);
    case 'history':
      return show(ctx, await api('history', { key: cmd.key }), formatHistory);
    case 'before-sync':
      return show(ctx, await api('before-sync', { key: cmd.key }), formatBeforeSync);
    case 'variables':
      return variables(ctx, cmd.prefix);
    case 'peers': {
      const beats = await listenHeartbeats(ctx);
      if (ctx.options.json) out.line(JSON.stringify(beats));
      else if (beats.length === 0) return noHeartbeats(ctx);
      else for (const l of formatMembers(beats, ctx.nowMs())) out.line(l);
      return EXIT.OK;
    }
    case 'status':
      return status(ctx);
    case 'rounds':
      return show(ctx, await client.request(client.subjects.coordinator('rounds'), {}, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT), formatRounds, 'coordinator');
    case 'sync':
      return sync(ctx);
    case 'watch':
      return watch(ctx, cmd.key);
    case 'populate':
      return populate(ctx, cmd.key, cmd.count, cmd.type);
  }
}

/** Prints a reply (or its error) and remembers its token; the exit code follows `ok`. */
function show(ctx: RunContext, r: Reply, format: (r: Reply) => string[], source: 'replica' | 'coordinator' = 'replica', formatFailure?: (r: Reply) => string[]): number {
  if (typeof r.token === 'string' && ctx.session) ctx.session.lastToken = r.token;
  if (r.ok !== true) {
    if (ctx.options.json) ctx.out.line(JSON.stringify(r));
    else {
      for (const l of formatFailure?.(r) ?? []) ctx.out.error(l);
      for (const l of formatErrorReply(r, source)) ctx.out.error(l);
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

async function watch(ctx: RunContext, key: string): Promise<number> {
  const { client, out } = ctx;
  const subject = client.subjects.changes(key);
  // Every replica announces each change it applies: show a change once, not once per replica.
  const shown = new Set<string>();
  const stop = client.subscribe(subject, (s, body) => {
    const b = body as { key?: unknown; origin?: unknown; seq?: unknown } | null;
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
    out.error(`watching ${subject} (Ctrl-C to stop)`);
    await sleep(Number.POSITIVE_INFINITY, ctx.signal);
  } finally {
    stop();
  }
  return EXIT.OK;
}

async function populate(ctx: RunContext, key: string, count: number, type: string): Promise<number> {
  const { client, out } = ctx;
  if (!isPopulateType(type)) {
    out.error(`error: populate cannot fill a ${type}; it fills ${POPULATE_TYPES.join(', ')}`);
    return EXIT.USAGE;
  }
  const started = ctx.nowMs();
  let sent = 0;
  let batches = 0;
  let token: string | undefined = ctx.session?.lastToken;
  while (sent < count && !ctx.signal?.aborted) {
    const n = Math.min(POPULATE_BATCH_OPS_MAX, count - sent);
    const r = await client.request(client.subjects.api(REPLICA_COMMANDS.update.name), { key, type, ops: randomOps(type, n, ctx.random), ...(token ? { after: token } : {}) }, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
    if (r.ok !== true) {
      out.progress('');
      for (const l of formatErrorReply(r)) out.error(l);
      out.error(`populate stopped after ${sent} of ${count} ops`);
      return EXIT.ERROR;
    }
    if (typeof r.token === 'string') token = r.token;
    sent += n;
    batches++;
    const ms = Math.max(1, ctx.nowMs() - started);
    out.progress(`populate ${key}: ${sent}/${count} ops in ${batches} batch${batches === 1 ? '' : 'es'}, ${Math.round((sent * 1000) / ms)} ops/s`);
  }
  if (ctx.session && token) ctx.session.lastToken = token;
  const ms = Math.max(1, ctx.nowMs() - started);
  out.progress('');
  out.line(`populate ${key}: ${sent} ${type} ops in ${batches} batch${batches === 1 ? '' : 'es'}, ${ms} ms (${Math.round((sent * 1000) / ms)} ops/s)${ctx.signal?.aborted ? ', stopped early' : ''}`);
  const v = await client.request(client.subjects.api(REPLICA_COMMANDS.get.name), { key, ...(token ? { after: token } : {}) }, ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
  if (v.ok === true) out.line(`${key} = ${formatValue(v.value)}`);
  return EXIT.OK;
}

async function variables(ctx: RunContext, prefix: string | undefined): Promise<number> {
  const { client, out } = ctx;
  const timeoutMs = ctx.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
  const list = await client.request(client.subjects.api(REPLICA_COMMANDS.keys.name), { ...(prefix !== undefined ? { prefix } : {}), limit: VARIABLES_KEYS_MAX }, timeoutMs);
  if (list.ok !== true) return show(ctx, list, () => []);
  const keys = (Array.isArray(list.keys) ? list.keys : []) as Array<{ key: string; type: string }>;
  const rows: Array<{ key: string; type: string; value?: unknown; error?: string }> = new Array(keys.length);
  const token = ctx.session?.lastToken;
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      const { key, type } = keys[i];
      const r = await client.request(client.subjects.api(REPLICA_COMMANDS.get.name), { key, ...(token ? { after: token } : {}) }, timeoutMs);
      const err = r.error as { code?: string } | undefined;
      rows[i] = r.ok === true ? { key, type, value: r.value } : { key, type, error: err?.code ?? 'error' };
    }
  };
  await Promise.all(Array.from({ length: Math.min(VARIABLES_CONCURRENCY, keys.length) }, worker));
  if (ctx.options.json) out.line(JSON.stringify({ ok: true, variables: rows, truncated: list.truncated === true }));
  else for (const l of formatVariables(rows, list.truncated === true)) out.line(l);
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
