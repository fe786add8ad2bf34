import { checkKey } from '#protocol';
import {
  DEFAULT_KEY_TYPE,
  PLAIN_KEY_TYPE,
  POPULATE_COUNT_DEFAULT,
  POPULATE_COUNT_MAX,
  REQUEST_TIMEOUT_MS_MAX,
  usageError,
  type AckLevel,
  type Command,
  type Consistency,
  type GlobalOptions,
  type UsageError,
  type WatchTarget,
  type WriteConsistency,
} from './command';
import { tokenize } from './tokenize';

/** A parsed line: the command and the global options given with it. */
export interface ParsedLine {
  readonly command: Command;
  readonly options: GlobalOptions;
}

/** Where a line comes from: the process's arguments or the interactive shell. */
export type LineSource = 'cli' | 'shell';

/** Parses crdtctl's arguments (process.argv without node and the script). */
export function parseArgs(argv: readonly string[]): ParsedLine | UsageError {
  return parseWords(argv, 'cli');
}

/**
 * Parses one shell line: every subcommand, plus the short forms `+5 x` (increment x by
 * 5, creating a pn-counter if missing), `-3 x`, `exit`/`quit`. An empty line parses to
 * undefined.
 */
export function parseShellLine(line: string): ParsedLine | UsageError | undefined {
  const t = tokenize(line.trim());
  if (!t.ok) return usageError(t.message);
  if (t.words.length === 0) return undefined;
  return parseWords(t.words, 'shell');
}

/** `+5`, `-3`, `+` and `-` (by 1), and `5` (add 5): the seed shell's counter forms. */
const SHORT_FORM = /^([+-]?)(\d*)$/;

/** True for a short form word (not the empty string). */
function isShortForm(w: string): boolean {
  return w !== '' && SHORT_FORM.test(w);
}

/** Replica ids, as the replicas check them. */
const REPLICA_ID = /^[A-Za-z0-9_-]{1,64}$/;

function parseWords(words: readonly string[], source: LineSource): ParsedLine | UsageError {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (positional.length === 0 && isShortForm(w)) {
      positional.push(w); // a short form, not a flag
    } else if (w === '--') {
      positional.push(...words.slice(i + 1));
      break;
    } else if (w === '-h' || w === '--help') {
      flags.set('help', true);
    } else if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq >= 0 ? w.slice(2, eq) : w.slice(2);
      if (name === 'json') {
        flags.set(name, true);
        continue;
      }
      if (!VALUE_FLAGS.has(name)) return usageError(`unknown option --${name}; see \`crdtctl help\``);
      const value = eq >= 0 ? w.slice(eq + 1) : words[++i];
      if (value === undefined) return usageError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      positional.push(w);
    }
  }

  const timeout = flags.get('timeout');
  let timeoutMs: number | undefined;
  if (typeof timeout === 'string') {
    const n = Number(timeout);
    if (!Number.isInteger(n) || n < 1 || n > REQUEST_TIMEOUT_MS_MAX) return usageError(`--timeout is milliseconds, from 1 to ${REQUEST_TIMEOUT_MS_MAX}`);
    timeoutMs = n;
  }
  const replica = flags.get('replica');
  if (typeof replica === 'string' && !REPLICA_ID.test(replica)) return usageError('--replica is a replica id: 1 to 64 of A-Z a-z 0-9 _ -');
  const after = flags.get('after');
  const options: GlobalOptions = {
    json: flags.has('json'),
    timeoutMs,
    ...(typeof replica === 'string' ? { replica } : {}),
    ...(typeof after === 'string' ? { after } : {}),
  };

  if (flags.has('help') || positional.length === 0) {
    return { command: { name: 'help', topic: source === 'shell' ? 'shell' : undefined }, options };
  }
  const command = parseCommand(positional, flags, source);
  if (command.name === 'usage-error') return command;
  const allowed = FLAGS_OF[command.name] ?? [];
  for (const f of flags.keys()) {
    if (!GLOBAL_FLAGS.has(f) && !allowed.includes(f)) return usageError(`${command.name} takes no --${f}`);
  }
  // A read's consistency is an option of the request; a write's is on its command (see `writeConsistency`).
  const consistency = flags.get('consistency');
  if (typeof consistency === 'string' && command.name !== 'update' && command.name !== 'delete') {
    const read = readConsistency(command.name, consistency);
    if (typeof read !== 'string') return read;
    return { command, options: { ...options, consistency: read } };
  }
  return { command, options };
}

/** `--consistency` of a read: `get` takes local, latest or linearizable; `variables` local or latest. */
function readConsistency(verb: Command['name'], value: string): Consistency | UsageError {
  const linearizable = verb === 'get';
  if (value === 'local' || value === 'latest' || (linearizable && value === 'linearizable')) return value;
  const why =
    value === 'strong'
      ? ' (strong is for writes: put KEY VALUE, update KEY OP_JSON and del KEY)'
      : value === 'linearizable'
        ? ' (linearizable is for `get KEY` of an lww-register)'
        : '';
  return usageError(`--consistency of ${verb} is local${linearizable ? ', latest or linearizable' : ' or latest'}${why}`);
}

/**
 * `--consistency strong` and `--expect N` of a write (`put`, `update`, `del`): a strong write is
 * ordered by the op stream per key and answers the key's revision; `--expect` makes it a
 * compare-and-set (docs/protocol.md §17). `eventual` is the default and sends nothing.
 */
function writeConsistency(verb: string, flags: Map<string, string | true>): { consistency?: WriteConsistency; expect?: number } | UsageError {
  const consistency = flags.get('consistency');
  const expectFlag = flags.get('expect');
  if (consistency !== undefined && consistency !== 'strong' && consistency !== 'eventual') {
    const why = consistency === 'linearizable' || consistency === 'latest' || consistency === 'local' ? ` (${consistency} is for reads: get KEY)` : '';
    return usageError(`--consistency of ${verb} is strong or eventual (the default)${why}`);
  }
  if (expectFlag === undefined) return consistency === 'strong' ? { consistency } : {};
  if (consistency !== 'strong') return usageError('--expect N (a compare-and-set) needs --consistency strong');
  const expect = typeof expectFlag === 'string' && /^\d+$/.test(expectFlag) ? Number(expectFlag) : Number.NaN;
  if (!Number.isSafeInteger(expect)) return usageError('--expect is a revision: a whole number from 0 (0: the key has had no strong write), as a strong write or a linearizable get prints it');
  return { consistency, expect };
}

const GLOBAL_FLAGS = new Set(['json', 'timeout', 'help', 'replica']);
const VALUE_FLAGS = new Set(['timeout', 'type', 'ack', 'count', 'replica', 'after', 'consistency', 'expect', 'prefix']);
const FLAGS_OF: Partial<Record<Command['name'], string[]>> = {
  update: ['type', 'ack', 'after', 'consistency', 'expect'],
  delete: ['ack', 'after', 'consistency', 'expect'],
  get: ['after', 'consistency'],
  variables: ['prefix', 'after', 'consistency'],
  populate: ['type', 'count', 'after'],
};

function parseCommand(args: string[], flags: Map<string, string | true>, source: LineSource): Command | UsageError {
  const [verb, ...rest] = args;
  const arity = (min: number, max: number, usage: string): UsageError | undefined =>
    rest.length < min || rest.length > max ? usageError(`usage: ${usage}`) : undefined;
  const key = (k: string): UsageError | undefined => {
    const bad = checkKey(k);
    return bad ? usageError(bad.error.message) : undefined;
  };

  const short = SHORT_FORM.exec(verb);
  if (short && verb !== '') {
    if (rest.length !== 1) return usageError(`usage: ${verb} KEY (for example \`+5 visits\`, \`-2 visits\` or \`5 visits\`)`);
    // A short form adds to a pn-counter, which merges: strong writes are for lww-register keys.
    for (const f of ['consistency', 'expect']) {
      if (flags.has(f)) return usageError(`${verb} KEY adds to a pn-counter and takes no --${f}; strong writes are for lww-register keys: put KEY VALUE --consistency strong`);
    }
    const by = short[2] === '' ? 1 : Number(short[2]);
    if (!Number.isSafeInteger(by)) return usageError('the amount must be a safe integer');
    return key(rest[0]) ?? {
      name: 'update',
      key: rest[0],
      op: { type: short[1] === '-' ? 'decrement' : 'increment', by },
      type: DEFAULT_KEY_TYPE,
    };
  }

  switch (verb) {
    case 'help':
      return { name: 'help', topic: source === 'shell' || rest[0] === 'shell' ? 'shell' : undefined };
    case 'rounds':
      return arity(0, 0, verb) ?? { name: verb };
    case 'status':
    case 'peers':
    case 'sync':
    case 'missing':
      return arity(0, 1, `${verb} [KEY]`) ?? (rest[0] !== undefined ? key(rest[0]) : undefined) ?? { name: verb, ...(rest[0] !== undefined ? { key: rest[0] } : {}) };
    case 'keys':
      return arity(0, 1, `${verb} [PREFIX]`) ?? { name: verb, prefix: rest[0] };
    case 'variables': {
      const bad = arity(0, 1, 'variables [KEY] [--prefix PREFIX]') ?? (rest[0] !== undefined ? key(rest[0]) : undefined);
      if (bad) return bad;
      const prefix = flags.get('prefix');
      if (rest[0] !== undefined && prefix !== undefined) return usageError('variables takes a KEY or --prefix PREFIX, not both');
      return { name: 'variables', ...(rest[0] !== undefined ? { key: rest[0] } : {}), ...(typeof prefix === 'string' ? { prefix } : {}) };
    }
    case 'get':
    case 'history':
    case 'before-sync':
      return arity(1, 1, `${verb} KEY`) ?? key(rest[0]) ?? { name: verb, key: rest[0] };
    case 'before':
      return arity(1, 1, 'before KEY') ?? key(rest[0]) ?? { name: 'before-sync', key: rest[0] };
    case 'put': {
      const bad = arity(2, 2, 'put KEY VALUE [--consistency strong [--expect REVISION]] (VALUE is JSON, or else taken as a string)') ?? key(rest[0]);
      if (bad) return bad;
      const strong = writeConsistency(verb, flags);
      if ('message' in strong) return strong;
      return { name: 'update', key: rest[0], op: { type: 'set', value: jsonOrString(rest[1]) }, type: PLAIN_KEY_TYPE, ...strong };
    }
    case 'del':
    case 'delete': {
      const bad = arity(1, 1, `${verb} KEY [--ack local|stream|all] [--consistency strong [--expect REVISION]]`) ?? key(rest[0]);
      if (bad) return bad;
      const ack = flags.get('ack');
      if (ack !== undefined && ack !== 'local' && ack !== 'stream' && ack !== 'all') return usageError('--ack is local, stream or all');
      const strong = writeConsistency(verb, flags);
      if ('message' in strong) return strong;
      return { name: 'delete', key: rest[0], ...(ack !== undefined ? { ack: ack as AckLevel } : {}), ...strong };
    }
    case 'req': {
      const bad = arity(1, 2, "req SUBJECT [JSON] (for example: req crdt.api.get '{\"key\":\"x\"}')");
      if (bad) return bad;
      if (!/^[^\s*>]+$/.test(rest[0]) || rest[0].split('.').some((t) => t === '')) return usageError(`SUBJECT ${JSON.stringify(rest[0])} must be a NATS subject without wildcards, like crdt.api.get`);
      if (rest[1] === undefined) return { name: 'req', subject: rest[0], body: {} };
      const body = parseJson(rest[1], 'JSON', `req ${rest[0]} '{"key":"x"}'`);
      return 'error' in body ? body.error : { name: 'req', subject: rest[0], body: body.value };
    }
    case 'create': {
      const bad = arity(1, 3, 'create KEY [TYPE] [OPTIONS_JSON] (TYPE defaults to pn-counter)') ?? key(rest[0]);
      if (bad) return bad;
      if (rest[1] === undefined) return { name: 'create', key: rest[0], type: DEFAULT_KEY_TYPE };
      if (rest[2] === undefined) return { name: 'create', key: rest[0], type: rest[1] };
      const options = parseJson(rest[2], 'OPTIONS_JSON', `create ${rest[0]} ${rest[1]} '{"states":["open","closed"]}'`);
      return 'error' in options ? options.error : { name: 'create', key: rest[0], type: rest[1], options: options.value };
    }
    case 'update': {
      const bad = arity(2, 2, 'update KEY OP_JSON [--type TYPE] [--ack local|stream|all] [--consistency strong [--expect REVISION]]') ?? key(rest[0]);
      if (bad) return bad;
      const parsed = parseJson(rest[1], 'OP_JSON', `update ${rest[0]} '{"type":"increment","by":2}'`);
      if ('error' in parsed) return parsed.error;
      const v = parsed.value;
      const isObj = typeof v === 'object' && v !== null;
      if (!isObj) return usageError('OP_JSON is an op object like {"type":"add","value":"x"} or an array of them');
      if (Array.isArray(v) && v.length === 0) return usageError('OP_JSON is an empty array: give at least one op');
      const type = flags.get('type');
      const ack = flags.get('ack');
      if (ack !== undefined && ack !== 'local' && ack !== 'stream' && ack !== 'all') return usageError('--ack is local, stream or all');
      const strong = writeConsistency(verb, flags);
      if ('message' in strong) return strong;
      return {
        name: 'update',
        key: rest[0],
        ...(Array.isArray(v) ? { ops: v } : { op: v }),
        ...(typeof type === 'string' ? { type } : {}),
        ...(ack !== undefined ? { ack: ack as AckLevel } : {}),
        ...strong,
      };
    }
    case 'watch': {
      if (rest.length > 1) return usageError('usage: watch [KEY|PREFIX*|PATTERN] (for example `watch visits`, `watch "tag*"`, `watch "users.*"` or `watch` for every key)');
      const target = watchTarget(rest[0]);
      return 'message' in target ? target : { name: 'watch', target };
    }
    case 'populate': {
      const bad = arity(1, 1, 'populate KEY [--count N] [--type TYPE]') ?? key(rest[0]);
      if (bad) return bad;
      const countFlag = flags.get('count');
      const count = typeof countFlag === 'string' ? Number(countFlag) : POPULATE_COUNT_DEFAULT;
      if (!Number.isInteger(count) || count < 1 || count > POPULATE_COUNT_MAX) return usageError(`--count is a whole number from 1 to ${POPULATE_COUNT_MAX}`);
      const type = flags.get('type');
      return { name: 'populate', key: rest[0], count, type: typeof type === 'string' ? type : DEFAULT_KEY_TYPE };
    }
    case 'shell':
      if (source === 'shell') return usageError('already in the shell');
      return arity(0, 0, 'shell') ?? { name: 'shell' };
    case 'exit':
    case 'quit':
      if (source !== 'shell') return usageError(`${verb} works in the shell only`);
      return { name: 'exit' };
    default:
      return usageError(`unknown command ${JSON.stringify(verb)}`);
  }
}

function parseJson(text: string, what: string, example: string): { value: unknown } | { error: UsageError } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: usageError(`${what} is not JSON (${(e as Error).message}); for example: ${example}`) };
  }
}

/** A VALUE of `put`: JSON when it parses (`42`, `true`, `{"a":1}`, `"quoted"`), else the word as a string. */
function jsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What `watch` listens to. NATS wildcards match whole dot-separated parts only (`*` one
 * part, `>` the rest), so `tag*` (a star inside a part) is taken as the key prefix `tag`
 * and filtered by crdtctl, while `users.*` and `users.>` go to NATS as they are.
 */
export function watchTarget(arg: string | undefined): WatchTarget | UsageError {
  if (arg === undefined || arg === '>') return { pattern: '>' };
  const parts = arg.split('.');
  if (parts.every((p) => p === '*' || p === '>' || !/[*>]/.test(p)) && parts.some((p) => p === '*' || p === '>')) {
    if (parts.slice(0, -1).includes('>')) return usageError('">" matches the rest of a key and must come last, as in `watch "users.>"`');
    return { pattern: arg };
  }
  if (arg.endsWith('*') && !arg.slice(0, -1).includes('*') && !arg.includes('>')) {
    const prefix = arg.slice(0, -1);
    if (prefix === '' ) return { pattern: '>' };
    return { prefix };
  }
  if (/[*>]/.test(arg)) return usageError(`watch ${JSON.stringify(arg)}: use KEY, PREFIX* (one star at the end) or NATS wildcards on whole dot-separated parts (users.*, users.>)`);
  const bad = checkKey(arg);
  return bad ? usageError(bad.error.message) : { key: arg };
}
