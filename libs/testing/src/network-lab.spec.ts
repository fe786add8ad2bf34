import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { networkLabUnavailable, NetworkLab } from './network-lab';

/**
 * The network lab against the real kernel: processes in namespaces, a bridge, blackhole
 * routes and a link taken down. Needs root (CI runs as root); elsewhere it says why and
 * checks nothing.
 */

const unavailable = networkLabUnavailable();
const maybe = unavailable ? it.skip : it;
if (unavailable) process.stdout.write(`network lab tests skipped: ${unavailable}\n`);

/** Tries a TCP connection from the root namespace; 'ok', or why not. */
function connectFromRoot(host: string, port: number, timeoutMs = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (r: string) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.once('error', (e) => done(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    s.connect(port, host, () => done('ok'));
  });
}

/** Tries a TCP connection from inside a lab host; 'ok', or why not. */
function connectFrom(lab: NetworkLab, from: string, host: string, port: number): string {
  const script = `const s=require('net').connect(${port},'${host}',()=>{console.log('ok');process.exit(0)});s.on('error',e=>{console.log('error '+(e.code||e.message));process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},1500)`;
  const [cmd, ...args] = lab.prefix(from);
  return execFileSync(cmd, [...args, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 }).trim();
}

describe('network lab', () => {
  let lab: NetworkLab | undefined;
  let server: ChildProcess | undefined;
  afterEach(() => {
    server?.kill('SIGKILL');
    lab?.dispose();
  });

  maybe('network lab - split cuts hosts apart but not from the test; isolate drops everything; healing restores both', async () => {
    lab = NetworkLab.create(['a', 'b']);
    const port = 40_000 + (process.pid % 20_000);
    const [cmd, ...args] = lab.prefix('b');
    server = spawn(cmd, [...args, process.execPath, '-e', `require('net').createServer(s=>s.end()).listen(${port},'0.0.0.0',()=>console.log('pid '+process.pid))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pidLine = await new Promise<string>((resolve) => server!.stdout!.once('data', (d: Buffer) => resolve(String(d).trim())));
    // `ip netns exec` runs the program in place: the pid a test signals is the program's own.
    expect(pidLine).toBe(`pid ${server.pid}`);
    const b = lab.address('b');

    expect(await connectFromRoot(b, port)).toBe('ok');
    expect(connectFrom(lab, 'a', b, port)).toBe('ok');

    lab.split([['a'], ['b']]);
    expect(connectFrom(lab, 'a', b, port)).not.toBe('ok');
    expect(await connectFromRoot(b, port)).toBe('ok');
    lab.healSplit();
    expect(connectFrom(lab, 'a', b, port)).toBe('ok');

    lab.isolate('b');
    expect(await connectFromRoot(b, port)).toBe('timeout');
    expect(connectFrom(lab, 'a', b, port)).toBe('timeout');
    lab.reconnect('b');
    expect(await connectFromRoot(b, port)).toBe('ok');

    const names = [...lab.prefix('a'), ...lab.prefix('b')].filter((p) => p.startsWith('crdt'));
    lab.dispose();
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of names) expect(left).not.toContain(n);
  }, 30_000);
});
