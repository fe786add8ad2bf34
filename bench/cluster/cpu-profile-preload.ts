/**
 * Preloaded (`node -r`) into a replica when the benchmark runs with BENCH_CPU_PROFILE_DIR:
 * starts the V8 CPU profiler at once and writes `<dir>/<REPLICA_ID>-<pid>.cpuprofile` on
 * SIGUSR2. `node --cpu-prof` would be simpler, but it writes its profile only on a normal
 * exit, and Nest's shutdown hooks end the process by re-raising SIGTERM, so nothing would
 * be written. Open the file in Chrome DevTools (Performance) or speedscope.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  // 100 µs sampling: fine enough for sub-millisecond request handling, cheap enough to leave on.
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 100 }, () => session.post('Profiler.start')),
  );
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) {
        process.stderr.write(`cpu profile failed: ${err.message}\n`);
        return;
      }
      const file = join(dir, `${process.env.REPLICA_ID ?? 'node'}-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
      process.stdout.write(JSON.stringify({ msg: 'cpu profile written', file }) + '\n');
    });
  });
}
