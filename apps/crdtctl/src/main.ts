import { inboxPrefixOf, natsAuthFromEnv, NatsAuthSettingError, type NatsAuthOptions } from '#runtime';
import { parseArgs } from './args';
import { connectClient, UnreachableError } from './client';
import { EXIT } from './command';
import { isUnresolved, resolveConnection } from './connection';
import { formatUnreachable, helpText } from './format';
import { streamOutput } from './output';
import { runCommand } from './run';
import { runShell } from './shell';

/** Where crdtctl reads and writes; the process's streams unless a test gives others. */
export interface Io {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl-C or SIGTERM: ends `watch`, `sync`, `populate` and the shell (whose Ctrl-C at a terminal is its own). */
  readonly signal?: AbortSignal;
}

/** Runs crdtctl with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const out = streamOutput(io.stdout, io.stderr);
  const parsed = parseArgs(argv);
  if ('message' in parsed) {
    out.error(parsed.message);
    // A wrong form already shows its usage, and a coded refusal says what to do.
    if (!parsed.message.startsWith('usage:') && !parsed.message.startsWith('error ')) out.error('see `crdtctl help`');
    return EXIT.USAGE;
  }
  const { command, options } = parsed;
  if (command.name === 'help') {
    for (const l of helpText(command.topic)) out.line(l);
    return EXIT.OK;
  }
  const conn = resolveConnection(env);
  if (isUnresolved(conn)) {
    for (const l of conn.lines) out.error(l);
    return EXIT.UNREACHABLE;
  }
  const { url, prefix } = conn;
  // Credentials from the environment win; else the admin credential the cluster file lists
  // (npm start writes it, mode 0600), with the inbox prefix its permissions allow.
  let auth: NatsAuthOptions;
  try {
    auth = natsAuthFromEnv(env);
  } catch (e) {
    if (!(e instanceof NatsAuthSettingError)) throw e;
    out.error(`error: ${e.message}`);
    return EXIT.USAGE;
  }
  const admin = conn.credentials?.admin;
  if (auth.user === undefined && admin?.user !== undefined && admin.password !== undefined) {
    auth = { ...auth, user: admin.user, pass: admin.password, inboxPrefix: inboxPrefixOf(admin.user) };
  }
  let client;
  try {
    client = await connectClient(url, prefix, { reconnect: command.name === 'shell' || command.name === 'watch', auth });
  } catch (e) {
    if (!(e instanceof UnreachableError)) throw e;
    for (const l of formatUnreachable(url, e)) out.error(l);
    return EXIT.UNREACHABLE;
  }
  try {
    const base = { client, out, prefix, nowMs: Date.now, random: Math.random };
    if (command.name === 'shell') return await runShell(base, io.stdin, io.stdout, io.signal);
    return await runCommand(command, { ...base, options, signal: io.signal });
  } finally {
    await client.close();
  }
}

/** The command-line entry: process arguments and streams, Ctrl-C handling, exit code. */
export function cli(): void {
  const ctl = new AbortController();
  const interrupt = () => {
    // A second Ctrl-C leaves at once, whatever is still running.
    if (ctl.signal.aborted) process.exit(130);
    ctl.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  // `crdtctl help | head -1`: the reader left; stop quietly as other command-line tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
      throw e;
    });
  }
  main(process.argv.slice(2), process.env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: ctl.signal }).then(
    (code) => {
      process.exitCode = code;
      // stdin may keep the loop alive after the shell (or a pipe) is done with it.
      process.stdin.unref?.();
    },
    (e: unknown) => {
      process.stderr.write(`crdtctl failed: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = EXIT.ERROR;
    },
  );
}

if (require.main === module) cli();
