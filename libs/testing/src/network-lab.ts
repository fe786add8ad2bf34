import { execFileSync } from 'node:child_process';

/**
 * Real network partitions between real processes, from Linux network namespaces
 * (`ip netns`, veth pairs and a bridge, from iproute2; needs root). Each host of the lab
 * is a namespace with one address on a private /24; the test process stays in the root
 * namespace and reaches every host through the bridge. Processes start inside a host by
 * running under `ip netns exec` (which execs in place: the pid a test signals is the
 * process itself).
 *
 * Two kinds of cut:
 * - `split(groups)`: hosts in different groups can no longer reach each other (each
 *   side's route to the other side becomes a blackhole, so connects fail and established
 *   connections break); the test process still reaches every host, as a client on the
 *   far side of a partition would.
 * - `isolate(host)`: the host's link to the bridge goes down: everything it sends or is
 *   sent is silently dropped, the test process included, until `reconnect`.
 */

/** Why the lab cannot run here (not root, no iproute2, namespaces refused), or undefined. */
export function networkLabUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root';
  const probe = `crdtprobe${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    return undefined;
  } catch (e) {
    return `ip netns does not work here: ${String((e as Error)?.message ?? e).split('\n')[0]}`;
  }
}

/** Runs `ip ARGS`; throws with ip's stderr. */
function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** One host of the lab. */
interface LabHost {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
  /** The veth end in the root namespace (on the bridge). */
  readonly rootLink: string;
}

export class NetworkLab {
  private readonly hosts = new Map<string, LabHost>();
  /** Blackhole routes currently installed, as [netns, address]. */
  private cuts: Array<readonly [string, string]> = [];
  private disposed = false;
  /** The FORWARD rule `allowForwarding` added (removed by `dispose`). */
  private forwardRule = false;

  private constructor(
    private readonly tag: string,
    private readonly bridge: string,
    private readonly subnet: string,
  ) {}

  /** Creates the bridge and one namespace per host name (letters and digits, short). */
  static create(hostNames: readonly string[]): NetworkLab {
    const why = networkLabUnavailable();
    if (why) throw new Error(`network lab unavailable: ${why}`);
    if (hostNames.length === 0 || hostNames.length > 200) throw new Error('a network lab has 1 to 200 hosts');
    // Interface names are at most 15 characters: a short tag from the pid keeps parallel runs apart.
    const tag = (process.pid % 0xffff).toString(16);
    const subnet = freeSubnet();
    const lab = new NetworkLab(tag, `cbr${tag}`, subnet);
    try {
      ip(['link', 'add', lab.bridge, 'type', 'bridge']);
      lab.allowForwarding();
      ip(['addr', 'add', `${subnet}.1/24`, 'dev', lab.bridge]);
      ip(['link', 'set', lab.bridge, 'up']);
      hostNames.forEach((name, i) => lab.addHost(name, i));
    } catch (e) {
      lab.dispose();
      throw e;
    }
    return lab;
  }

  /**
   * Frames between the lab's hosts cross the bridge, and with br_netfilter loaded (Docker
   * loads it) they pass the host's FORWARD chain, whose policy Docker sets to DROP. Where
   * iptables exists, one rule lets the lab's own bridge through; `dispose` removes it.
   */
  private allowForwarding(): void {
    try {
      execFileSync('iptables', ['-I', 'FORWARD', '1', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT'], { stdio: 'ignore', timeout: 10_000 });
      this.forwardRule = true;
    } catch {
      // no iptables: nothing filters bridged frames
    }
  }

  private addHost(name: string, i: number): void {
    if (!/^[a-z0-9]{1,8}$/i.test(name)) throw new Error(`host name ${JSON.stringify(name)}: 1 to 8 letters or digits`);
    const netns = `crdt${this.tag}-${name}`;
    const rootLink = `cv${this.tag}r${i}`;
    const hostLink = `cv${this.tag}h${i}`;
    const address = `${this.subnet}.${10 + i}`;
    ip(['netns', 'add', netns]);
    this.hosts.set(name, { name, netns, address, rootLink });
    ip(['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', hostLink]);
    ip(['link', 'set', hostLink, 'netns', netns]);
    ip(['link', 'set', rootLink, 'master', this.bridge]);
    ip(['link', 'set', rootLink, 'up']);
    ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', hostLink]);
    ip(['-n', netns, 'link', 'set', hostLink, 'up']);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  }

  private host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${JSON.stringify(name)} in the lab (hosts: ${[...this.hosts.keys()].join(', ')})`);
    return h;
  }

  /** The host's address (its processes listen on it; others connect to it). */
  address(host: string): string {
    return this.host(host).address;
  }

  /** The command prefix that runs a program inside the host's namespace. */
  prefix(host: string): string[] {
    return ['ip', 'netns', 'exec', this.host(host).netns];
  }

  /** Cuts every pair of hosts in different groups (both directions); hosts in no group keep every link. */
  split(groups: ReadonlyArray<readonly string[]>): void {
    for (const [gi, group] of groups.entries()) {
      for (const [oi, other] of groups.entries()) {
        if (gi === oi) continue;
        for (const a of group) {
          for (const b of other) {
            const netns = this.host(a).netns;
            const to = this.host(b).address;
            ip(['-n', netns, 'route', 'add', 'blackhole', `${to}/32`]);
            this.cuts.push([netns, to]);
          }
        }
      }
    }
  }

  /** Removes every cut `split` made. */
  healSplit(): void {
    const cuts = this.cuts;
    this.cuts = [];
    for (const [netns, to] of cuts) {
      try {
        ip(['-n', netns, 'route', 'del', 'blackhole', `${to}/32`]);
      } catch {
        // already gone (the namespace was removed)
      }
    }
  }

  /** Takes the host off the network: everything to or from it is dropped silently. */
  isolate(host: string): void {
    ip(['link', 'set', this.host(host).rootLink, 'down']);
  }

  /** Puts an isolated host back on the network. */
  reconnect(host: string): void {
    ip(['link', 'set', this.host(host).rootLink, 'up']);
  }

  /** Puts every host back on the network and removes every cut. */
  healAll(): void {
    this.healSplit();
    for (const h of this.hosts.keys()) this.reconnect(h);
  }

  /** Removes the namespaces and the bridge (processes still inside keep running, without network). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const h of this.hosts.values()) {
      try {
        ip(['netns', 'del', h.netns]);
      } catch {
        // not created
      }
    }
    try {
      ip(['link', 'del', this.bridge]);
    } catch {
      // not created
    }
    if (this.forwardRule) {
      try {
        execFileSync('iptables', ['-D', 'FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT'], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // already gone
      }
    }
  }
}

/** A 10.x.y /24 no route of this machine uses yet. */
function freeSubnet(): string {
  const routes = ip(['route', 'show']);
  for (let attempt = 0; attempt < 500; attempt++) {
    const x = 100 + Math.floor(Math.random() * 150);
    const y = Math.floor(Math.random() * 256);
    const subnet = `10.${x}.${y}`;
    if (!routes.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.x.y.0/24 subnet found for the network lab');
}
