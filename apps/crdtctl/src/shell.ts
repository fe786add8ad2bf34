import { createInterface } from 'node:readline';
import { parseShellLine } from './args';
import { EXIT } from './command';
import { runCommand, type RunContext, type Session } from './run';

/**
 * The interactive shell: one prompt, every subcommand plus the short forms (`+5 x`,
 * `-3 x`). Reads carry the token of the shell's last write, so `+5 x` then `get x` shows
 * the increment even when the two requests land on different replicas. Ctrl-C stops a
 * running `watch`, `sync` or `populate`; at the prompt it leaves, as Ctrl-D and `exit` do.
 * `stop` (SIGTERM or SIGINT sent to the process, e.g. `docker stop` of a container whose
 * main process is the shell) ends the shell too.
 */
export async function runShell(
  base: Omit<RunContext, 'session' | 'signal' | 'options'>,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  stop?: AbortSignal,
): Promise<number> {
  const session: Session = {};
  const terminal = (input as NodeJS.ReadStream).isTTY === true && (output as NodeJS.WriteStream).isTTY === true;
  const rl = createInterface({ input, output, prompt: 'crdt> ', terminal, historySize: 1000 });
  let running: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (running) running.abort();
    else rl.close();
  });
  const leave = () => {
    running?.abort();
    rl.close();
  };
  if (stop?.aborted) leave();
  stop?.addEventListener('abort', leave, { once: true });
  // Piped input (a script) gets no banner and no prompts, only the commands' output.
  const prompt = () => terminal && rl.prompt();
  if (terminal) base.out.line(`connected to ${base.client.url} (prefix ${base.prefix}); type \`help\`, or \`exit\` to leave`);
  prompt();
  for await (const line of rl) {
    const parsed = parseShellLine(line);
    if (parsed === undefined) {
      // empty line
    } else if ('message' in parsed) {
      // The message says it all (a wrong form already reads `usage: ...`).
      base.out.error(parsed.message.startsWith('unknown command') ? `${parsed.message}; see \`help\`` : parsed.message);
    } else if (parsed.command.name === 'exit') {
      break;
    } else {
      running = new AbortController();
      try {
        await runCommand(parsed.command, { ...base, options: parsed.options, session, signal: running.signal });
      } catch (e) {
        base.out.error(`error: ${(e as Error)?.message ?? e}`);
      } finally {
        running = undefined;
      }
    }
    prompt();
  }
  stop?.removeEventListener('abort', leave);
  rl.close();
  return EXIT.OK;
}
