import { writeFileSync } from 'node:fs';
import { runSimulation } from './simulation';

test('scratch', async () => {
  const seeds = (process.env.SEEDS ?? '1').split(',').map(Number);
  for (const seed of seeds) {
    const t0 = Date.now();
    const lines: string[] = [];
    const r = await runSimulation({ seed, steps: Number(process.env.STEPS ?? 3000), faults: (process.env.FAULTS as 'none') ?? 'random', onTraceLine: process.env.VERBOSE ? (l) => lines.push(l) : undefined });
    if (process.env.VERBOSE) writeFileSync(`/tmp/sim-${seed}.log`, lines.join('\n'));
    console.log(seed, r.ok, Date.now() - t0, 'ms', r.virtualMs, r.steps, JSON.stringify(r.stats), JSON.stringify(r.errorCodes), '\n', r.violations.join('\n'), '\n', r.ok || process.env.QUIET ? '' : r.traceTail.slice(-15).join('\n'));
  }
});
