import { isNat, isNonEmptyString, isObject, vvGet, wallMsOf, type Json, type VersionVector } from '#crdt';
import { errorReply, REPLICA_COMMANDS, subjectsFor } from '#protocol';
import type { Heartbeat, NoticePort } from '#replication/ports';
import { decodeToken } from '#replication/causal-token';
import { ReplicaCore } from '#replication/replica-core';
import { DEFAULT_STREAM_RULES, StreamFollower } from '#replication/stream/stream-follower';
import type { ReplicatedEvent } from '#protocol/replicated-event';
import type { ReplicaObserver } from '#replication/replica-observer';
import { BrokerClient } from './broker-client';
import type { Prng } from './prng';
import { broadcast } from './sim-network';
import { checkValue, familyOf } from './model';
import { SimLog } from './sim-log';
import { SimStreamBroker } from './sim-op-stream';
import { SimSnapshots } from './sim-snapshots';
import { SimDisk } from './sim-store';
import { Life, SimClock } from './scheduler';
import type { ReplicaEndpoint, World } from './world';

/** The subjects of the simulated cluster (the op stream's subject names each batch's origin). */
const SUBJECTS = subjectsFor('crdt');

/** Keys whose types never refuse a well-formed event: a refusal there is a bug, not compaction. */
const NEVER_REFUSED_PREFIXES = ['c.', 's.', 'r.', 'f.', 'x.'];

/** Keys whose value the simulator records before and after each own event (exact checks). */
const OBSERVED_PREFIXES = ['c.', 'm.'];

/**
 * One replica process across its lifetimes: a disk that survives crashes, and for each
 * lifetime a fresh `ReplicaCore` over that disk with the simulated ports, exactly as
 * apps/replica/src/replica-runtime.ts wires the production ones. A crash ends the
 * lifetime (timers stop, pending promises never settle, in-flight disk writes land or
 * not as a whole); a restart builds a new core over the same disk.
 *
 * The core's observer port checks, on every apply, that no replica ever applies an
 * event twice or skips one, and that own events are made only in Work mode.
 */
export class ReplicaNode implements ReplicaEndpoint {
  readonly disk: SimDisk;
  /** This process's clock skew (the fault schedule moves it). */
  readonly skew = { ms: 0 };
  core: ReplicaCore | undefined;
  stream: StreamFollower | undefined;
  /** The simulated broker connection under the stream rules (the fault schedule makes its consumer re-deliver). */
  brokerPort: SimStreamBroker | undefined;
  private life: Life | undefined;
  /** The core finished `start()` (the production app subscribes its subjects only then). */
  ready = false;
  incarnation = 0;
  crashes = 0;
  /** Died for good (the `death` fault): never started again. */
  gone = false;

  constructor(
    readonly id: string,
    private readonly world: World,
  ) {
    this.disk = new SimDisk(id, world.storeSchema, world.scheduler, world.prng(`disk ${id}`), world.monitor);
  }

  /** True while a lifetime runs. */
  get up(): boolean {
    return this.life?.alive === true;
  }

  /** Starts a new lifetime over the disk. */
  start(): void {
    if (this.up || this.gone) return;
    const w = this.world;
    const life = new Life(`${this.id}#${++this.incarnation}`);
    this.life = life;
    this.ready = false;
    const log = new SimLog(life.name, (l) => w.trace.line(w.scheduler.nowMs, l), (msg, fields) => this.judgeErrorLog(msg, fields), (code) => w.monitor.noteLogCode(code));
    const clock = new SimClock(w.scheduler, life, this.skew);
    const client = new BrokerClient(this.id, life, w.scheduler, w.net, w.broker);
    const prng = w.prng(`stream ${life.name}`);
    const brokerPort = new SimStreamBroker(this.id, life, client, w.broker, w.net, w.scheduler, prng, w.timings.publishTimeoutMs, w.streamFaults, (line) => w.note(line));
    // The replica's real stream rules over the simulated broker, wired as replica-runtime.ts wires them.
    const stream = new StreamFollower(
      brokerPort,
      clock,
      log,
      { ...DEFAULT_STREAM_RULES, opsSubject: (origin) => SUBJECTS.ops(origin), strongSubject: (key) => SUBJECTS.strongOps(key), streamCheckMs: w.timings.streamCheckMs, commitBacklogMax: w.timings.commitBacklogMax },
      (err) => {
        // Production exits on this (code 70); here it is a bug to report.
        if (life.alive) w.monitor.violation(`${life.name}: the core threw into the stream rules: ${String((err as Error)?.stack ?? err)}`);
      },
    );
    const idPrng = w.prng(`ids ${life.name}`);
    let built: ReplicaCore | undefined;
    const core = new ReplicaCore(
      {
        store: this.disk.open(life),
        stream,
        notices: new SimNotices(this.id, life, w),
        snapshots: new SimSnapshots(client, w.timings.snapshotTimeoutMs),
        clock,
        log,
        newReplicaId: () => `r-${idPrng.u32().toString(16)}`,
        onFatal: (err) => {
          // Production exits (code 70) and a supervisor restarts it from disk.
          log.warn('fatal: the store failed under a commit; exiting to recover from disk', { error: String(err) });
          if (life.alive) {
            this.crash('fatal store error');
            w.scheduler.after(w.prng(`restart ${life.name}`).int(100, 1_000), `restart ${this.id}`, () => this.start());
          }
        },
      },
      { replicaId: this.id, limits: w.timings.replicaLimits, observer: this.observer(() => built!, clock) },
    );
    built = core;
    this.core = core;
    this.stream = stream;
    this.brokerPort = brokerPort;
    stream.attach(core);
    w.note(`${life.name} starting`);
    void (async () => {
      await stream.ensureStream();
      if (!life.alive) return;
      await core.start();
      if (!life.alive) return;
      this.ready = true;
      w.note(`${life.name} ready mode=${core.currentMode} applied=${JSON.stringify(core.applied())} streamSeq=${core.consumedSeq()}`);
    })().catch((e: unknown) => {
      if (!life.alive) return;
      w.monitor.violation(`${life.name} failed to start: ${String((e as Error)?.stack ?? e)}`);
    });
  }

  /** Ends the lifetime now (kill -9): what the disk had not written is decided by the seed. */
  crash(why: string): void {
    if (!this.life?.alive) return;
    const name = this.life.name;
    this.life.end();
    this.stream?.close();
    this.brokerPort?.close();
    this.ready = false;
    this.core = undefined;
    this.stream = undefined;
    this.brokerPort = undefined;
    this.crashes++;
    const d = this.disk.crash();
    this.world.note(`${name} CRASH (${why}); in-flight writes landed ${d.landed}, lost ${d.lost}`);
  }

  // ---------------------------------------------------------------- the wire (the controller's handlers)

  onHeartbeat(body: Json): void {
    if (!this.ready || !this.core) return;
    this.core.hear('heartbeat', body);
  }

  onResend(body: Json): void {
    if (!this.ready || !this.core) return;
    this.core.hear('resend', body);
  }

  onRoundResume(body: Json): void {
    if (!this.ready || !this.core) return;
    this.core.hear('round-resume', body);
  }

  onRequest(subject: string, body: Record<string, unknown>): Promise<Json> | undefined {
    const core = this.core;
    if (!this.ready || !core) return undefined;
    const run = async (): Promise<Json> => {
      const reply = await core.answer(subject, body);
      if (subject === REPLICA_COMMANDS.get.name) this.checkRead(body.key, reply);
      return reply;
    };
    // The production transport turns a throwing handler into an INTERNAL reply.
    return run().catch((e: unknown) => errorReply('INTERNAL', `handler failed: ${(e as Error)?.message ?? e}`) as unknown as Json);
  }

  // ---------------------------------------------------------------- instrumentation

  /** A read's value must be what the model says for exactly the events its token covers. */
  private checkRead(key: unknown, reply: Json): void {
    if (typeof key !== 'string' || familyOf(key) === 'free' || !isObject(reply) || reply.ok !== true || typeof reply.token !== 'string') return;
    const applied = decodeToken(reply.token);
    if (!applied) return;
    const wrong = checkValue(this.world.monitor, key, applied, reply.value);
    if (wrong) this.world.monitor.violation(`${this.id} answered a read wrongly: ${wrong}`);
  }

  /**
   * The core's observer port: on every apply, checks that no replica ever applies an
   * event twice or skips one; on every own event the core says it made, that it was made
   * in Work mode, and records it (with what it changed, for the model).
   */
  private observer(coreOf: () => ReplicaCore, clock: SimClock): ReplicaObserver {
    const w = this.world;
    /** Per origin, the last seq applied to this key space since it was last cleared. */
    let last = new Map<string, number>();
    /** The core is loading its state (synchronously, right after clearing): those events were applied before. */
    let loading = false;
    /** An own event of an observed key just made: recorded at its apply, which follows at once, with the values around it. */
    let madeNow: ReplicatedEvent | undefined;
    const record = (e: ReplicatedEvent, before: Json | undefined, after: Json | undefined): void => {
      w.monitor.eventCreated(e, before, after);
      w.note(`${this.id} made #${e.seq} on ${e.key}`);
    };
    return {
      cleared: () => {
        last = new Map();
        loading = true;
        queueMicrotask(() => (loading = false));
      },
      made: (e: ReplicatedEvent) => {
        const core = coreOf();
        if (e.origin !== core.replicaId) w.monitor.violation(`${this.id} made an event of origin ${e.origin}`);
        // The no-op that takes a refused strong write's seq is made when the stream answers: the write was stamped in Work, and the freeze waits for it.
        const settlingStrong = e.seq === core.strongPendingSeq;
        if (!settlingStrong && core.currentMode !== 'Work') w.monitor.violation(`${this.id} made event #${e.seq} on ${e.key} in mode ${core.currentMode}: a write slipped past the freeze`);
        if (OBSERVED_PREFIXES.some((p) => e.key.startsWith(p))) madeNow = e;
        else record(e, undefined, undefined);
      },
      applying: (e: ReplicatedEvent) => {
        const core = coreOf();
        const ks = core.keys;
        // Bounded clock offset: nothing is applied with a time further ahead of this replica's
        // wall clock than the bound. The clock as it read when the event was taken in: one set
        // back since (while the event waited for its causal past) does not poison the event.
        const latest = wallMsOf(e.time + Math.max(0, e.ops.length - 1));
        clock.nowMs();
        if (!loading && latest > clock.highWaterMs + core.limits.clockOffsetMaxMs) {
          w.monitor.violation(`${this.id} applied ${e.origin}#${e.seq} timed ${latest - clock.highWaterMs} ms ahead of its wall clock (maximum offset ${core.limits.clockOffsetMaxMs} ms)`);
        }
        const prev = last.get(e.origin);
        if (prev === undefined) {
          const floor = vvGet(core.snapshotCut, e.origin);
          if (e.seq <= floor) w.monitor.violation(`${this.id} applied ${e.origin}#${e.seq}, which its snapshot (cut ${floor}) already holds`);
        } else if (e.seq <= prev) {
          w.monitor.violation(`${this.id} applied ${e.origin}#${e.seq} twice (last applied ${e.origin}#${prev})`);
        } else if (e.seq !== prev + 1) {
          w.monitor.violation(`${this.id} applied ${e.origin}#${e.seq} right after ${e.origin}#${prev}: skipped events`);
        }
        last.set(e.origin, e.seq);
        if (madeNow === undefined) return;
        const made = madeNow;
        madeNow = undefined;
        if (made !== e) {
          w.monitor.violation(`${this.id} made #${made.seq} on ${made.key} but applied ${e.origin}#${e.seq} next`);
          record(made, undefined, undefined);
          return;
        }
        const before = valueOf(ks, e.key);
        return () => record(e, before, valueOf(ks, e.key));
      },
    };
  }

  private judgeErrorLog(msg: string, fields: Record<string, unknown> | undefined): void {
    const m = this.world.monitor;
    m.stats.errorLogs++;
    if (msg === 'refused an invalid event from the stream' || msg === 'refused an invalid own event after a re-join') {
      m.stats.refusedEvents++;
      const key = typeof fields?.key === 'string' ? fields.key : '';
      // Text, lists and maps may refuse an op that was in flight across a compaction (an
      // insert after a tombstone the round dropped); every replica refuses it alike.
      if (NEVER_REFUSED_PREFIXES.some((p) => key.startsWith(p))) m.violation(`${this.id} refused a valid-by-construction event: ${JSON.stringify(fields)}`);
      return;
    }
    m.violation(`${this.id} logged an error: ${msg} ${JSON.stringify(fields ?? {})}`);
  }
}

/** The visible value of a key, or undefined. */
function valueOf(ks: ReplicaCore['keys'], key: string): Json | undefined {
  const v = ks.get(key);
  return v ? (JSON.parse(JSON.stringify(v.impl.value(v.state))) as Json) : undefined;
}

/** Notices on core NATS: fire and forget, through the lossy network. */
class SimNotices implements NoticePort {
  private readonly prng: Prng;

  constructor(
    private readonly self: string,
    private readonly life: Life,
    private readonly world: World,
  ) {
    this.prng = world.prng(`notices ${life.name}`);
  }

  changed(_key: string, _notice: Json): void {
    // Nobody in the simulation watches keys; the notice is a hint, never the data.
  }

  heartbeat(beat: Heartbeat): void {
    if (!this.life.alive) return;
    const text = JSON.stringify(beat);
    const w = this.world;
    const listeners = new Map<string, { onHeartbeat(body: Json): void }>();
    for (const r of w.replicas()) if (r.id !== this.self) listeners.set(r.id, r);
    for (const c of w.coordinators()) listeners.set(c.id, c);
    broadcast(w.net, w.scheduler, this.prng, this.self, [...listeners.keys()], 'heartbeat', (to) => listeners.get(to)!.onHeartbeat(JSON.parse(text) as Json));
  }

  requestResend(origin: string, fromSeq: number, holder = origin): void {
    if (!this.life.alive) return;
    const w = this.world;
    const target = w.replica(holder);
    w.note(holder === origin ? `${this.self} asks ${origin} to resend from #${fromSeq}` : `${this.self} asks ${holder} to resend ${origin}'s events from #${fromSeq}`);
    if (target) w.net.send('notice', this.self, holder, 'resend', () => target.onResend({ fromSeq, origin }));
  }
}
