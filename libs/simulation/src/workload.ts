import { isObject, vvMerge, type Json, type VersionVector } from '#crdt';
import { isWriteCommand, type ClientCommandName } from '#protocol/commands';
import { decodeToken, encodeToken } from '#replication/causal-token';
import type { Prng } from './prng';
import type { World } from './world';

/** One write a client sent, and what became of it. */
export interface WriteRecord {
  readonly id: number;
  readonly client: string;
  readonly replica: string;
  readonly key: string;
  readonly body: Record<string, unknown>;
  readonly sentAtMs: number;
  /** `ok`: acknowledged; `error`: refused with a code; `lost`: no reply (timeout, crash). */
  outcome: 'pending' | 'ok' | 'error' | 'lost';
  code?: string;
  /** The origin's seq from an `ok` reply. */
  seq?: number;
  /** Elements this write adds (or-set keys `s.*`). */
  readonly elements: string[];
}

/** Settings of the clients. */
export interface WorkloadOptions {
  readonly clients: number;
  readonly thinkMsMin: number;
  readonly thinkMsMax: number;
  /** How long a client waits for a reply before counting it lost. */
  readonly replyTimeoutMs: number;
  /** Strong deletes of the strong registers too (see `SimOptions.strongDeletes`). */
  readonly strongDeletes?: boolean;
}

/** Wire request timeouts the clients ask for (`timeoutMs`). */
const WAITS_MS = [0, 100, 500, 1_500];

/**
 * Clients sending random commands to random replicas over the network: writes to every
 * key family (counters, add-only sets, sets with removes, maps with nested types,
 * registers, text, lists, flags, a key whose type is contested, and registers written
 * only by strong writes and compare-and-sets and read linearizably) and deletes of them
 * (of the strong registers only with `strongDeletes`: strong deletes), with every ack
 * level, sometimes after their session's causal token, and reads. Every write and its
 * reply is kept for the checker. Sessions merge the tokens of their replies, so an
 * `after` covers everything the client has seen.
 */
export class Workload {
  readonly writes: WriteRecord[] = [];
  readonly stats = { sent: 0, ok: 0, errors: 0, lost: 0, reads: 0, readsOk: 0 };
  readonly errorCodes = new Map<string, number>();
  private running = false;
  private nextId = 1;

  constructor(
    private readonly world: World,
    private readonly prng: Prng,
    private readonly replicaIds: () => readonly string[],
    private readonly options: WorkloadOptions,
  ) {}

  /** Starts every client's loop. */
  start(): void {
    this.running = true;
    for (let i = 1; i <= this.options.clients; i++) {
      const client = new Client(`client${i}`);
      this.world.scheduler.after(this.prng.int(0, this.options.thinkMsMax), `client ${client.name}`, () => this.step(client));
    }
  }

  /** Stops sending new commands (replies still in flight are recorded). */
  stop(): void {
    this.running = false;
  }

  private step(client: Client): void {
    if (!this.running) return;
    const replicas = this.replicaIds();
    const replica = client.sticky && this.prng.chance(0.7) ? client.sticky : this.prng.pick(replicas);
    client.sticky = replica;
    const { command, body, elements, key } = this.command(client);
    const write = isWriteCommand(command);
    const record: WriteRecord | undefined = write
      ? { id: this.nextId++, client: client.name, replica, key, body, sentAtMs: this.world.scheduler.nowMs, outcome: 'pending', elements }
      : undefined;
    if (record) this.writes.push(record);
    this.stats.sent++;
    if (!write) this.stats.reads++;
    this.send(client, replica, command, body, (reply) => {
      if (reply === undefined) {
        this.stats.lost++;
        if (record) record.outcome = 'lost';
      } else if (isObject(reply) && reply.ok === true) {
        this.stats.ok++;
        if (!write) this.stats.readsOk++;
        if (typeof reply.token === 'string') client.observe(reply.token);
        if (record) {
          record.outcome = 'ok';
          if (typeof reply.seq === 'number') record.seq = reply.seq;
        }
        if (typeof reply.revision === 'number') client.revisions.set(key, reply.revision);
        if (command === 'get' && typeof reply.value === 'string') client.textLength.set(key, reply.value.length);
        if (command === 'get' && Array.isArray(reply.value)) client.textLength.set(key, reply.value.length);
      } else {
        this.stats.errors++;
        const code = isObject(reply) && isObject(reply.error) && typeof reply.error.code === 'string' ? reply.error.code : 'MALFORMED';
        this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
        if (record) {
          record.outcome = 'error';
          record.code = code;
          // A TIMEOUT names the write it is about: durable on that replica, it must replicate.
          if (code === 'TIMEOUT' && isObject(reply) && typeof reply.seq === 'number') record.seq = reply.seq;
        }
        if (code === 'CONFLICT' && isObject(reply) && typeof reply.revision === 'number') client.revisions.set(key, reply.revision);
        if (code === 'INTERNAL' || code === 'MALFORMED') this.world.monitor.violation(`${replica} answered ${command} ${JSON.stringify(body)} with ${JSON.stringify(reply)}`);
      }
      this.world.scheduler.after(this.prng.int(this.options.thinkMsMin, this.options.thinkMsMax), `client ${client.name}`, () => this.step(client));
    });
  }

  /** Request/reply over the network; `done(undefined)` when no reply comes in time. */
  private send(client: Client, replica: string, command: ClientCommandName, body: Record<string, unknown>, done: (reply: Json | undefined) => void): void {
    const w = this.world;
    const target = w.replica(replica);
    let settled = false;
    const settle = (r: Json | undefined) => {
      if (settled) return;
      settled = true;
      cancel();
      done(r);
    };
    const cancel = w.scheduler.after(this.options.replyTimeoutMs, `timeout ${client.name}`, () => settle(undefined));
    const text = JSON.stringify(body);
    w.net.send('request', client.name, replica, command, () => {
      const answer = target?.onRequest(command, JSON.parse(text) as Record<string, unknown>);
      if (!answer) return; // no responders: the client waits out its timeout
      void answer.then((reply) => {
        const replyText = JSON.stringify(reply);
        w.net.send('request', replica, client.name, `${command} reply`, () => settle(JSON.parse(replyText) as Json));
      });
    });
  }

  private command(client: Client): { command: ClientCommandName; key: string; body: Record<string, unknown>; elements: string[] } {
    const p = this.prng;
    const id = this.nextId;
    const ack = p.weighted({ local: 5, stream: 3, all: 2 });
    const wait = () => p.pick(WAITS_MS);
    const base = (key: string): Record<string, unknown> => {
      const b: Record<string, unknown> = { key, ack, timeoutMs: wait() };
      if (client.token && p.chance(0.25)) b.after = client.token;
      return b;
    };
    const family = p.weighted({ counter: 6, addSet: 5, map: 4, register: 3, strong: 3, set: 2, text: 2, list: 1, flag: 1, contested: 1, del: 1, read: 6 });
    switch (family) {
      case 'counter': {
        const key = `c.${p.int(0, 2)}`;
        const n = p.chance(0.2) ? p.int(2, 3) : 1;
        const ops: Json[] = [];
        for (let i = 0; i < n; i++) ops.push(p.chance(0.7) ? { type: 'increment', by: p.int(1, 5) } : { type: 'decrement', by: p.int(1, 3) });
        return { command: 'update', key, body: { ...base(key), type: 'pn-counter', ...(n === 1 ? { op: ops[0] } : { ops }) }, elements: [] };
      }
      case 'addSet': {
        const key = `s.${p.int(0, 2)}`;
        const count = p.chance(0.2) ? p.int(2, 3) : 1;
        const elements = Array.from({ length: count }, (_, i) => `w${id}.${i}`);
        const op = count === 1 ? { type: 'add', value: elements[0] } : { type: 'add', values: elements };
        return { command: 'update', key, body: { ...base(key), type: 'or-set', op }, elements };
      }
      case 'map': {
        const key = `m.${p.int(0, 1)}`;
        const field = p.weighted({ cnt: 4, tags: 2, name: 2, doc: 2, sub: 1, tmp: 2 });
        let op: Json;
        switch (field) {
          case 'cnt':
            op = { type: 'update', field: 'cnt', fieldType: 'pn-counter', op: { type: 'increment', by: p.int(1, 4) } };
            break;
          case 'tags':
            op = { type: 'update', field: 'tags', fieldType: 'or-set', op: { type: p.chance(0.7) ? 'add' : 'remove', value: p.pick(['a', 'b', 'c']) } };
            break;
          case 'name':
            op = { type: 'update', field: 'name', fieldType: 'lww-register', op: { type: 'set', value: `n${id}` } };
            break;
          case 'doc':
            op = p.chance(0.7)
              ? { type: 'update', field: 'doc', fieldType: 'text', op: { type: 'insert', index: 0, text: `d${id}` } }
              : { type: 'update', field: 'doc', fieldType: 'text', op: { type: 'delete', index: 0, count: 1 } };
            break;
          case 'sub':
            op = { type: 'update', field: 'sub', fieldType: 'or-map', op: { type: 'update', field: 'n', fieldType: 'pn-counter', op: { type: 'increment' } } };
            break;
          default:
            op = p.chance(0.5) ? { type: 'remove', field: 'tmp' } : { type: 'update', field: 'tmp', fieldType: 'ew-flag', op: { type: 'enable' } };
        }
        return { command: 'update', key, body: { ...base(key), type: 'or-map', op }, elements: [] };
      }
      case 'register': {
        const key = `r.${p.int(0, 1)}`;
        return { command: 'update', key, body: { ...base(key), type: 'lww-register', op: { type: 'set', value: `v${id}` } }, elements: [] };
      }
      case 'strong': {
        // Strong writes (blind, and compare-and-sets at the revision the client last saw) and linearizable reads of registers only they write.
        const key = `g.${p.int(0, 1)}`;
        // Weight 0 without strongDeletes: the same draw as before that option existed (the regression seeds' workload).
        const kind = p.weighted({ blind: 2, cas: 3, read: 3, del: this.options.strongDeletes ? 1 : 0 });
        if (kind === 'read') return { command: 'get', key, body: { key, consistency: 'linearizable', timeoutMs: p.pick([100, 500, 1_500]) }, elements: [] };
        if (kind === 'del') {
          const body: Record<string, unknown> = { ...base(key), consistency: 'strong' };
          if (p.chance(0.5)) body.expect = client.revisions.get(key) ?? 0;
          return { command: 'delete', key, body, elements: [] };
        }
        const body: Record<string, unknown> = { ...base(key), type: 'lww-register', op: { type: 'set', value: `g${id}` }, consistency: 'strong' };
        if (kind === 'cas') body.expect = client.revisions.get(key) ?? 0;
        return { command: 'update', key, body, elements: [] };
      }
      case 'set': {
        const key = 'x.0';
        return { command: 'update', key, body: { ...base(key), type: 'or-set', op: { type: p.chance(0.6) ? 'add' : 'remove', value: p.pick(['a', 'b', 'c', 'd']) } }, elements: [] };
      }
      case 'text': {
        const key = 't.0';
        const len = client.textLength.get(key) ?? 0;
        const op = p.chance(0.65) || len === 0 ? { type: 'insert', index: p.int(0, len), text: p.pick(['a', 'bc', 'def', `<${id}>`]) } : { type: 'delete', index: p.int(0, len - 1), count: 1 };
        return { command: 'update', key, body: { ...base(key), type: 'text', op }, elements: [] };
      }
      case 'list': {
        const key = 'l.0';
        const len = client.textLength.get(key) ?? 0;
        const op = p.chance(0.6) || len === 0 ? { type: 'insert', index: p.int(0, len), value: id } : p.chance(0.5) ? { type: 'set', index: p.int(0, len - 1), value: -id } : { type: 'delete', index: p.int(0, len - 1) };
        return { command: 'update', key, body: { ...base(key), type: 'list', op }, elements: [] };
      }
      case 'flag': {
        const key = 'f.0';
        return { command: 'update', key, body: { ...base(key), type: 'ew-flag', op: { type: p.chance(0.6) ? 'enable' : 'disable' } }, elements: [] };
      }
      case 'contested': {
        // Concurrent creates of one key with different types: every replica must pick the same variant.
        const key = 'v.0';
        const type = p.pick(['pn-counter', 'or-set', 'lww-register']);
        if (p.chance(0.5)) return { command: 'create', key, body: { key, type }, elements: [] };
        const op = type === 'pn-counter' ? { type: 'increment' } : type === 'or-set' ? { type: 'add', value: `q${id}` } : { type: 'set', value: id };
        return { command: 'update', key, body: { ...base(key), type, op }, elements: [] };
      }
      case 'del': {
        // Deletes of every family: the model and the acknowledged-write check apply the observed-remove rule.
        const key = p.pick(['c.0', 'c.1', 's.0', 's.1', 'm.0', 'r.0', 'r.1', 't.0', 'l.0', 'x.0', 'f.0', 'v.0']);
        return { command: 'delete', key, body: { ...base(key) }, elements: [] };
      }
      default: {
        const key = p.pick(['c.0', 'c.1', 's.0', 's.1', 'm.0', 'r.0', 't.0', 'l.0', 'x.0', 'v.0']);
        const body: Record<string, unknown> = { key, timeoutMs: wait() };
        if (client.token && p.chance(0.5)) body.after = client.token;
        if (p.chance(0.2)) body.consistency = 'latest';
        return { command: 'get', key, body, elements: [] };
      }
    }
  }
}

/** One client session: its sticky replica, its merged causal token, what it last read. */
class Client {
  sticky: string | undefined;
  private vv: VersionVector = {};
  token: string | undefined;
  readonly textLength = new Map<string, number>();
  /** The last revision of each strong key this client saw (its next compare-and-set expects it). */
  readonly revisions = new Map<string, number>();

  constructor(readonly name: string) {}

  /** Merges a reply's token into the session's. */
  observe(token: string): void {
    const vv = decodeToken(token);
    if (!vv) return;
    this.vv = vvMerge(this.vv, vv);
    this.token = encodeToken(this.vv);
  }
}
