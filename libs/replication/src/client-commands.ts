import { canonicalJson, vvLeq, type Json, type VersionVector } from '#crdt';
import {
  CLIENT_COMMAND_NAMES,
  commandSpec,
  errorReply,
  REPLICA_COMMANDS,
  type AckLevel,
  type ClientCommandName,
  type DeleteRequest,
  type ErrorReply,
  type GetRequest,
  type UpdateRequest,
} from '#protocol';
import { withArticle } from '#crdt/type-article';
import { decodeToken, encodeToken } from './causal-token';
import { KeySpace } from './key-space';
import { OwnEvents } from './own-events';
import type { StrongPending } from './ports';
import type { ReplicatedEvent } from './replicated-event';
import { RequestDedupe } from './request-dedupe';
import type { PeerLiveness } from './peer-liveness';
import type { ReplicaState } from './replica-state';
import type { RoundParticipant } from './round-participant';
import { StrongCommands } from './strong-commands';

/** A reply, exactly as sent on the wire. */
export type Reply = Json | ErrorReply;

interface HeldWrite {
  readonly run: () => Promise<Reply>;
  readonly resolve: (r: Reply) => void;
  readonly cancel: () => void;
}

/**
 * Client commands: `create`, `update`, `delete`, `get`, `keys`, `history`, `before-sync`
 * and `status`. A write is prepared here against the current state (the origin's half of
 * prepare/apply), applied at once, group-committed and handed to the outbox; its answer
 * waits (bounded) for the acknowledgement it asked for. During a round writes are held,
 * bounded in number and time, and run when the replica returns to Work.
 */
export class ClientCommands {
  private held: HeldWrite[] = [];
  /** Replies of recent updates by client request id: a resend is applied once (request-dedupe.ts). */
  private readonly dedupe: RequestDedupe<Reply>;
  private lastToken: { readonly vv: VersionVector; readonly token: string } | undefined;
  /** This replica's own events (the next own seq, held by a strong write while its publish is out). */
  private readonly own: OwnEvents;
  /** `consistency: strong` updates and `linearizable` reads. */
  private readonly strong: StrongCommands;

  constructor(
    private readonly s: ReplicaState,
    private readonly peers: PeerLiveness,
    private readonly round: RoundParticipant,
  ) {
    this.dedupe = new RequestDedupe<Reply>(() => s.ports.clock.nowMs());
    this.own = new OwnEvents(s);
    this.strong = new StrongCommands(s, peers, this.own, () => this.token());
  }

  /** Resolves once no strong write's outcome is pending (a freeze waits for it, bounded), false after `timeoutMs`. */
  async strongSettled(timeoutMs: number): Promise<boolean> {
    if (this.s.strongPendingSeq === undefined) return true;
    return (await this.s.waits.wait(() => this.s.strongPendingSeq === undefined, timeoutMs)) ?? false;
  }

  /** A strong write found pending on disk at start (`StrongCommands.recover`). */
  recoverStrong(pending: StrongPending): void {
    this.strong.recover(pending);
  }

  /** Waits (bounded) while a strong write holds the next own seq; the reply to give when it did not end in time. */
  private async ownSeqFree(timeoutMs: number): Promise<ErrorReply | undefined> {
    if (await this.own.free(timeoutMs)) return undefined;
    return errorReply('UNAVAILABLE', `a strong write of replica ${this.s.id} is waiting for the stream's answer; nothing was applied, retry or ask another replica`);
  }

  /** True when a write may run at once: Work mode and a clock not in doubt. */
  private takesWrites(): boolean {
    return this.s.mode === 'Work' && !this.s.clockRefusal();
  }

  /**
   * Waits (bounded) until this replica has applied what the client's `after` token
   * covers. The wait may have let a round start or the clock fall in doubt, so then the
   * write runs again through `guardWrite` (`again`). Undefined: write now.
   */
  private async afterToken(after: string, timeoutMs: number, again: () => Promise<Reply>): Promise<Reply | undefined> {
    const waited = await this.waitForToken(after, timeoutMs);
    if (waited) return waited;
    return this.takesWrites() ? undefined : this.guardWrite(again);
  }

  /**
   * Waits (bounded) for the next own seq while a strong write's publish holds it, then as
   * `afterToken` re-checks that writes may run (seed 505). Undefined: write now.
   */
  private async afterOwnSeq(timeoutMs: number, again: () => Promise<Reply>): Promise<Reply | undefined> {
    const busy = await this.ownSeqFree(timeoutMs);
    if (busy) return busy;
    return this.takesWrites() ? undefined : this.guardWrite(again);
  }

  /**
   * Answers one client command, routed by the protocol's command table: a command the
   * table does not list as a client command is `UNKNOWN_COMMAND`, and a write goes
   * through `guardWrite`. Never throws: every failure is an error reply.
   */
  async handle(command: string, body: Record<string, unknown>): Promise<Reply> {
    try {
      const spec = commandSpec(command);
      if (spec?.kind !== 'client') {
        return errorReply('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command)}; commands: ${CLIENT_COMMAND_NAMES.join(', ')}`);
      }
      const name = spec.name as ClientCommandName;
      const answer = () => (spec.write ? this.guardWrite(() => this.run(name, body)) : this.run(name, body));
      // A resent update or delete (same client request id) is answered from memory, not applied twice.
      return await (name === 'update' || name === 'delete' ? this.dedupe.run(body, answer) : answer());
    } catch (e) {
      this.s.ports.log.error('command failed', { command, error: String((e as Error)?.stack ?? e) });
      return errorReply('INTERNAL', `the replica failed to answer: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Runs one client command (each parses its body with the table's parser). */
  private run(name: ClientCommandName, body: Record<string, unknown>): Promise<Reply> {
    switch (name) {
      case 'create':
        return this.create(body);
      case 'update':
        return this.update(body);
      case 'delete':
        return this.delete(body);
      case 'get':
        return this.get(body);
      case 'keys':
        return this.keys(body);
      case 'history':
        return this.history(body);
      case 'before-sync':
        return this.beforeSync(body);
      case 'status':
        return Promise.resolve({ ok: true, ...this.status() });
    }
  }

  private async keys(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS.keys.parse(body);
    if (!p.ok) return p;
    return { ok: true, ...this.s.keys.list(p.request.prefix, p.request.limit) };
  }

  /** Runs a write now in Work mode; holds it (bounded in number and time) during a round. */
  private guardWrite(run: () => Promise<Reply>): Promise<Reply> {
    if (this.s.mode === 'Starting') return Promise.resolve(errorReply('UNAVAILABLE', 'the replica is catching up with the stream; retry shortly'));
    // The clock is asked again when a held write runs: it may have jumped while the write waited.
    const checked = (): Promise<Reply> => {
      const skew = this.s.clockRefusal();
      return skew ? Promise.resolve(errorReply('CLOCK_SKEW', skew)) : run();
    };
    if (this.s.mode === 'Work') return checked();
    if (this.held.length >= this.s.limits.heldWritesMax) {
      return Promise.resolve(errorReply('OVERLOADED', `a compaction round holds ${this.held.length} writes already; retry shortly`));
    }
    return new Promise<Reply>((resolve) => {
      const h: HeldWrite = {
        run: checked,
        resolve,
        cancel: this.s.ports.clock.setTimer(this.s.limits.holdMs, () => {
          this.held = this.held.filter((x) => x !== h);
          resolve(errorReply('FROZEN', `a compaction round held this write for ${this.s.limits.holdMs} ms; nothing was applied, retry`));
        }),
      };
      this.held.push(h);
    });
  }

  /** Runs writes held during a round, in arrival order (called when the replica returns to Work). */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) {
      h.cancel();
      void h.run().then(h.resolve, (e) => h.resolve(errorReply('INTERNAL', String(e))));
    }
  }

  private async create(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS.create.parse(body);
    if (!p.ok) return p;
    const { key, type } = p.request;
    const parsed = KeySpace.parseCreate(type, p.request.options);
    if (!parsed.ok) return errorReply(parsed.error.code, parsed.error.message);
    const existing = this.s.keys.get(key);
    if (existing) {
      if (existing.type !== parsed.type) return errorReply('TYPE_MISMATCH', `key ${JSON.stringify(key)} exists as ${withArticle(existing.type)}`);
      if (canonicalJson(existing.options) !== canonicalJson(parsed.options)) {
        return errorReply('TYPE_MISMATCH', `key ${JSON.stringify(key)} exists as ${withArticle(existing.type)} with other options`);
      }
      return { ok: true, key, type: existing.type, created: false, token: this.token() };
    }
    if (this.own.isHeld) {
      const waited = await this.afterOwnSeq(5_000, () => this.create(body));
      if (waited) return waited;
      if (this.s.keys.get(key)) return this.create(body);
    }
    const event = this.own.make(key, parsed.type, parsed.options, []);
    await this.own.commit(event);
    return { ok: true, key, type: parsed.type, created: true, token: this.token() };
  }

  private async update(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS.update.parse(body);
    if (!p.ok) return p;
    const req: UpdateRequest = p.request;
    const again = () => this.update({ ...body, after: undefined });
    const waited = req.after !== undefined ? await this.afterToken(req.after, req.timeoutMs, again) : undefined;
    if (waited) return waited;
    if (req.consistency === 'strong') return this.strong.update(req);
    // A strong write's publish holds the next own seq: wait (bounded) for it, then prepare against what it left.
    // No await may come between this check and `own.make` (a strong write could take the seq meanwhile),
    // which is why update and delete each keep these steps inline rather than behind an async helper.
    const held = this.own.isHeld ? await this.afterOwnSeq(req.timeoutMs, again) : undefined;
    if (held) return held;
    const time = this.s.hlc.now();
    const prepared = this.s.keys.prepare(req.key, req.type, req.options, req.ops, { replica: this.s.id, time });
    if (!prepared.ok) return errorReply(prepared.error.code, prepared.error.message);
    // A batch used one HLC reading per op; move the clock past them all.
    this.s.hlc.restore(time + req.ops.length - 1);
    const w = prepared.value;
    const event = this.own.make(req.key, w.type, w.options, w.ops, time);
    await this.own.commit(event, w.applied);
    // The write's identity (replica, seq) and a token covering it go with every answer,
    // success or TIMEOUT, so a client can follow up with `after` instead of writing twice.
    return this.acknowledge({ key: req.key, type: w.type, replica: this.s.id, seq: event.seq, token: this.token() }, req.ack, req.timeoutMs);
  }

  /**
   * `delete`: observed-remove (docs/protocol.md §4.8). The event covers what this replica
   * has applied (its `deps`), so it removes the key as seen here; an update this replica
   * has not seen survives it, and the key then holds that update's effect alone.
   */
  private async delete(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS.delete.parse(body);
    if (!p.ok) return p;
    const req: DeleteRequest = p.request;
    const again = () => this.delete({ ...body, after: undefined });
    const waited = req.after !== undefined ? await this.afterToken(req.after, req.timeoutMs, again) : undefined;
    if (waited) return waited;
    if (req.consistency === 'strong') return this.strong.delete(req);
    // A strong write's publish holds the next own seq: wait (bounded) for it, as an update does.
    const held = this.own.isHeld ? await this.afterOwnSeq(req.timeoutMs, again) : undefined;
    if (held) return held;
    const v = this.s.keys.get(req.key);
    if (!v) return errorReply('NOT_FOUND', `key ${JSON.stringify(req.key)} does not exist; nothing was deleted`);
    const event = this.own.makeDelete(req.key, v.type, v.options);
    await this.own.commit(event);
    return this.acknowledge({ key: req.key, type: v.type, deleted: true, replica: this.s.id, seq: event.seq, token: this.token() }, req.ack, req.timeoutMs);
  }

  /** Answers a write once the acknowledgement it asked for came (bounded); a TIMEOUT still names the write. */
  private async acknowledge(written: { readonly seq: number; readonly [field: string]: Json }, ack: AckLevel, timeoutMs: number): Promise<Reply> {
    const seq = written.seq;
    if (ack === 'local') return { ok: true, ...written };
    const ready = ack === 'stream'
      ? () => this.s.outbox.publishedThrough >= seq
      : () => this.s.outbox.publishedThrough >= seq && this.peers.allApplied(this.s.id, seq);
    const waited = await (this.s.waits.wait(ready, timeoutMs) ?? Promise.resolve(false));
    if (!waited) {
      return {
        ...errorReply('TIMEOUT', `the write is durable on replica ${this.s.id} (seq ${seq}) and will replicate, but ack "${ack}" did not come within ${timeoutMs} ms; do not resend it, follow up with "after": token`),
        ...written,
      };
    }
    return { ok: true, ...written };
  }

  private async get(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS.get.parse(body);
    if (!p.ok) return p;
    const req: GetRequest = p.request;
    if (req.after !== undefined) {
      const waited = await this.waitForToken(req.after, req.timeoutMs);
      if (waited) return waited;
    }
    if (req.consistency === 'linearizable') return this.strong.get(req);
    if (req.consistency === 'latest') {
      let target: number;
      try {
        target = await this.s.ports.stream.lastSeq();
      } catch (e) {
        return errorReply('TIMEOUT', `the stream did not answer, so "latest" cannot be established: ${String(e)}`);
      }
      const waited = this.s.waits.wait(() => this.s.streamSeq >= target && this.s.stuckSince === undefined, req.timeoutMs);
      if (!waited) return errorReply('OVERLOADED', 'too many requests are waiting');
      if (!(await waited)) return errorReply('NOT_CAUGHT_UP', `the replica did not reach stream position ${target} within ${req.timeoutMs} ms (at ${this.s.streamSeq})`);
    }
    const v = this.s.keys.get(req.key);
    if (!v) return errorReply('NOT_FOUND', `key ${JSON.stringify(req.key)} does not exist`);
    return { ok: true, key: req.key, type: v.type, value: v.impl.value(v.state), token: this.token() };
  }

  private async history(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS.history.parse(body);
    if (!p.ok) return p;
    const v = this.s.keys.get(p.request.key);
    if (!v) return errorReply('NOT_FOUND', `key ${JSON.stringify(p.request.key)} does not exist`);
    await this.s.commits.flushed();
    const max = this.s.limits.historyEventsMax;
    const events = await this.s.ports.store.history(p.request.key, max + 1);
    return {
      ok: true,
      key: p.request.key,
      type: v.type,
      events: events.slice(0, max).map((e) => ({ origin: e.origin, seq: e.seq, time: e.time, type: e.type, ops: e.ops, ...(e.delete ? { delete: true } : {}) })),
      truncated: events.length > max,
      sinceRound: { ...this.round.lastCommitted() },
    };
  }

  private async beforeSync(body: Record<string, unknown>): Promise<Reply> {
    const p = REPLICA_COMMANDS['before-sync'].parse(body);
    if (!p.ok) return p;
    const enc = await this.s.ports.store.snapshotKey(p.request.key);
    const round = this.round.lastCommitted();
    if (enc === undefined) return errorReply('NOT_FOUND', `key ${JSON.stringify(p.request.key)} did not exist at the last compaction round (${round.epoch}/${round.round})`);
    const v = KeySpace.valueOfEncoded(enc);
    // A deleted key whose type keeps its cleared state has a hidden row: absent, as without one.
    if (v === null) return errorReply('NOT_FOUND', `key ${JSON.stringify(p.request.key)} was deleted at the last compaction round (${round.epoch}/${round.round})`);
    if (!v) return errorReply('INTERNAL', 'the snapshot entry for this key does not decode');
    return { ok: true, key: p.request.key, type: v.type, value: v.value, round: { ...round } };
  }

  private async waitForToken(token: string, timeoutMs: number): Promise<ErrorReply | undefined> {
    const vv = decodeToken(token);
    if (!vv) return errorReply('BAD_REQUEST', '"after" is not a token this store issued');
    const waited = this.s.waits.wait(() => vvLeq(vv, this.s.buffer.deliveredVector()), timeoutMs);
    if (!waited) return errorReply('OVERLOADED', 'too many requests are waiting');
    if (!(await waited)) return errorReply('NOT_CAUGHT_UP', `the replica has not applied everything the token covers within ${timeoutMs} ms; retry or ask another replica`);
    return undefined;
  }

  /**
   * The token of the delivered vector. Every reply carries one, and between two writes many
   * replies see the same vector: the encoding (JSON, then base64) is kept for the last
   * vector and reused while the vector is unchanged (issue 11 profile: per-request token work).
   */
  private token(): string {
    const vv = this.s.buffer.deliveredVector();
    const last = this.lastToken;
    if (last && sameVector(last.vv, vv)) return last.token;
    const token = encodeToken(vv);
    this.lastToken = { vv, token };
    return token;
  }

  /** Status for `crdtctl` and the `status` command. */
  status(): Record<string, Json> {
    const b = this.peers.heartbeat();
    return {
      replica: b.replica,
      mode: b.mode,
      applied: b.applied,
      opLogLength: b.opLogLength,
      outboxDepth: b.outboxDepth,
      streamSeq: b.streamSeq,
      keys: b.keys,
      waiting: this.s.buffer.waiting(),
      heldWrites: this.held.length,
      lastRound: this.round.lastCommitted() as unknown as Json,
    };
  }
}

/** Same entries in both vectors (a missing entry differs from any present one, zero included: the token encodes what is present). */
function sameVector(a: VersionVector, b: VersionVector): boolean {
  let n = 0;
  for (const r in a) {
    if (a[r] !== b[r]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}
