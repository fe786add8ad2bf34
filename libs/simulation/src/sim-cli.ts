import { runSimulation, type SimOptions, type SimResult } from './simulation';

/**
 * `npm run sim -- [options]`: runs seeds of the deterministic cluster simulation and
 * prints every failing seed with its violations, the tail of its trace and the command
 * that replays it.
 *
 *   --seed N          run one seed (replay)
 *   --seeds N         run N seeds (from --from, default 1)
 *   --from N          first seed of --seeds
 *   --steps N         scheduler steps of the chaos phase (default 5000; more is longer)
 *   --verbose         print the whole trace of each seed as it runs
 *   --faults F        random (default: each seed draws its own), all or none
 *   --replicas N      cluster size (default: the seed's draw, 3 to 5)
 *   --twice           run each seed twice and check both runs are identical
 *   --strong-deletes  clients also delete the strong registers with strong deletes (compare-and-sets too)
 */

interface CliOptions {
  readonly seeds: number[];
  readonly steps: number;
  readonly verbose: boolean;
  readonly faults: 'random' | 'all' | 'none';
  readonly replicas: number | undefined;
  readonly twice: boolean;
  readonly strongDeletes: boolean;
}

const USAGE = 'usage: sim [--seed N | --seeds N [--from N]] [--steps N] [--verbose] [--faults random|all|none] [--replicas N] [--twice] [--strong-deletes]';

function parseArgs(argv: readonly string[]): CliOptions | string {
  let seed: number | undefined;
  let count: number | undefined;
  let from = 1;
  let steps = 5_000;
  let verbose = false;
  let faults: CliOptions['faults'] = 'random';
  let replicas: number | undefined;
  let twice = false;
  let strongDeletes = false;
  const nat = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, not ${JSON.stringify(v)}`);
    return n;
  };
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      switch (a) {
        case '--seed':
          seed = nat(a, argv[++i]);
          break;
        case '--seeds':
          count = nat(a, argv[++i]);
          break;
        case '--from':
          from = nat(a, argv[++i]);
          break;
        case '--steps':
          steps = nat(a, argv[++i]);
          break;
        case '--verbose':
          verbose = true;
          break;
        case '--twice':
          twice = true;
          break;
        case '--strong-deletes':
          strongDeletes = true;
          break;
        case '--replicas':
          replicas = nat(a, argv[++i]);
          if (replicas < 1 || replicas > 9) throw new Error('--replicas is 1 to 9');
          break;
        case '--faults': {
          const v = argv[++i];
          if (v !== 'random' && v !== 'all' && v !== 'none') throw new Error('--faults is random, all or none');
          faults = v;
          break;
        }
        case '--help':
        case '-h':
          return USAGE;
        default:
          throw new Error(`unknown option ${JSON.stringify(a)}`);
      }
    }
  } catch (e) {
    return `${(e as Error).message}\n${USAGE}`;
  }
  const seeds = seed !== undefined ? [seed] : Array.from({ length: count ?? 100 }, (_, i) => from + i);
  return { seeds, steps, verbose, faults, replicas, twice, strongDeletes };
}

function replayCommand(seed: number, o: CliOptions): string {
  const extra = [
    o.steps !== 5_000 ? `--steps ${o.steps}` : '',
    o.faults !== 'random' ? `--faults ${o.faults}` : '',
    o.replicas !== undefined ? `--replicas ${o.replicas}` : '',
    o.strongDeletes ? '--strong-deletes' : '',
  ].filter(Boolean);
  return `npm run sim -- --seed ${seed}${extra.length ? ` ${extra.join(' ')}` : ''} --verbose`;
}

function report(r: SimResult, o: CliOptions): void {
  const out = process.stdout;
  out.write(`\nFAIL seed ${r.seed} (${r.replicas} replicas, ${r.steps} steps, ${r.virtualMs} virtual ms, trace ${r.traceHash.slice(0, 16)})\n`);
  for (const v of r.violations) out.write(`  violation: ${v}\n`);
  out.write(`  faults injected: ${JSON.stringify(r.faults)}\n`);
  out.write('  trace tail:\n');
  for (const l of r.traceTail) out.write(`    ${l.length > 400 ? `${l.slice(0, 400)}...` : l}\n`);
  out.write(`  replay: ${replayCommand(r.seed, o)}\n`);
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n`);
    return parsed === USAGE ? 0 : 2;
  }
  const o = parsed;
  const started = Date.now();
  const totals: Record<string, number> = {};
  const failed: number[] = [];
  for (const seed of o.seeds) {
    const options: SimOptions = {
      seed,
      steps: o.steps,
      faults: o.faults,
      replicas: o.replicas,
      strongDeletes: o.strongDeletes,
      onTraceLine: o.verbose ? (l) => process.stdout.write(`${l}\n`) : undefined,
    };
    const r = await runSimulation(options);
    let ok = r.ok;
    if (o.twice) {
      const again = await runSimulation({ ...options, onTraceLine: undefined });
      if (again.traceHash !== r.traceHash) {
        ok = false;
        process.stdout.write(`\nFAIL seed ${seed}: not deterministic (trace ${r.traceHash.slice(0, 16)} then ${again.traceHash.slice(0, 16)})\n`);
      }
    }
    for (const [k, v] of Object.entries({ ...r.stats, ...prefixed('fault.', r.faults) })) totals[k] = (totals[k] ?? 0) + v;
    if (!ok) {
      failed.push(seed);
      if (!r.ok) report(r, o);
    } else if (o.seeds.length === 1) {
      process.stdout.write(`ok seed ${seed}: converged after ${r.virtualMs} virtual ms, ${r.steps} steps, trace ${r.traceHash.slice(0, 16)}\n`);
    }
    if (o.seeds.length > 1 && (o.seeds.indexOf(seed) + 1) % 100 === 0) {
      process.stderr.write(`... ${o.seeds.indexOf(seed) + 1}/${o.seeds.length} seeds, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`\n${o.seeds.length} seed(s), ${failed.length} failed, ${secs} s (faults: ${o.faults}, steps: ${o.steps})\n`);
  process.stdout.write(`totals: ${JSON.stringify(totals)}\n`);
  if (failed.length > 0) process.stdout.write(`failed seeds: ${failed.join(' ')}\n`);
  return failed.length > 0 ? 1 : 0;
}

function prefixed(prefix: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [prefix + k, v]));
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`sim crashed: ${String((e as Error)?.stack ?? e)}\n`);
    process.exit(3);
  },
);
