/**
 * Preloaded (`node -r`) into a replica when the benchmark runs with BENCH_CPU_PROFILE_DIR:
 * starts the V8 CPU profiler at once and, on PROFILE_SIGNAL, writes
 * `<dir>/<REPLICA_ID>-<pid>-<n>.cpuprofile` and starts a new profile (so each signal writes
 * the phase since the last). `node --cpu-prof` would be simpler, but it writes only on a
 * normal exit, and Nest's shutdown hooks end the process by re-raising SIGTERM, so nothing
 * would be written. Open the file in Chrome DevTools (Performance) or speedscope.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { PROFILE_SIGNAL } from './profile-signal';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  mkdirSync(dir, { recursive: true });
  let written = 0;
  const session = new Session();
  session.connect();
  // 100 µs sampling: fine enough for sub-millisecond request handling, cheap enough to leave on.
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 100 }, () => session.post('Profiler.start')),
  );
  process.on(PROFILE_SIGNAL, () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) {
        process.stderr.write(`cpu profile failed: ${err.message}\n`);
        return;
      }
      const file = join(dir, `${process.env.REPLICA_ID ?? 'node'}-${process.pid}-${++written}.cpuprofile`);
      try {
        writeFileSync(file, JSON.stringify(result.profile));
        process.stdout.write(JSON.stringify({ msg: 'cpu profile written', file }) + '\n');
      } catch (e) {
        process.stderr.write(`cpu profile not written to ${file}: ${String(e)}\n`);
      }
      session.post('Profiler.start');
    });
  });
}
