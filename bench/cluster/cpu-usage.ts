import { readFileSync } from 'node:fs';

/**
 * CPU time used by processes over a phase, read from /proc/<pid>/stat (Linux). Unlike wall
 * time it does not grow when other work on the machine takes the cores, so it tells what a
 * phase cost each process even on a busy machine. Elsewhere the figures are absent.
 */

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on every common Linux). */
const TICKS_PER_SEC = 100;

/** CPU seconds (user + system) of `pid` so far; undefined when it cannot be read. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SEC : undefined;
  } catch {
    return undefined;
  }
}

/** A set of named processes whose CPU time is read at the start and end of a phase. */
export class CpuMeter {
  private readonly start = new Map<string, number | undefined>();

  constructor(private readonly pids: ReadonlyMap<string, number>) {
    for (const [name, pid] of pids) this.start.set(name, cpuSecondsOf(pid));
  }

  /** CPU seconds each process used since the meter was made (absent where unreadable). */
  used(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of this.pids) {
      const a = this.start.get(name);
      const b = cpuSecondsOf(pid);
      if (a !== undefined && b !== undefined) out[name] = Number((b - a).toFixed(2));
    }
    return out;
  }
}
