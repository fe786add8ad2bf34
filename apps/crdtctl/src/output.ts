import type { Output } from './run';

/**
 * Output on two streams. On a terminal the progress line rewrites itself in place (`\r`
 * and clear-to-end); elsewhere progress lines are dropped, since the final line says it all.
 */
export function streamOutput(stdout: NodeJS.WriteStream | NodeJS.WritableStream, stderr: NodeJS.WritableStream): Output {
  const tty = (stdout as NodeJS.WriteStream).isTTY === true;
  let shown = false;
  const clear = () => {
    if (shown) stdout.write('\r\x1b[K');
    shown = false;
  };
  return {
    line: (s) => {
      clear();
      stdout.write(`${s}\n`);
    },
    error: (s) => {
      clear();
      stderr.write(`${s}\n`);
    },
    progress: (s) => {
      if (!tty) return;
      stdout.write(`\r\x1b[K${s}`);
      shown = s !== '';
    },
  };
}
