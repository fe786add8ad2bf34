import { Coordinator, type CoordinatorConfig } from '#coordination/coordinator';
import { ReplicaRequestError, type LeaseStorePort, type ReplicaPhase, type ResumeBroadcast } from '#coordination/ports';
import { isObject, isVersionVector, type Json } from '#crdt';
import { BrokerClient } from './broker-client';
import { SimLog } from './sim-log';
import { Life, SimClock } from './scheduler';
import type { Listener, World } from './world';

/** What the simulator wants to hear of rounds (the fault schedule crashes members mid-round). */
export type RoundEventHook = (event: Record<string, unknown>) => void;

/**
 * One coordinator process across its lifetimes, running the real `Coordinator` from
 * libs/coordination (membership from heartbeats, the leader lease in the broker's KV,
 * scheduled compaction rounds through the real round runner) over simulated ports:
 * round requests and the resume broadcast go through the lossy network, the lease and
 * the stream purge through the broker.
 */
export class CoordinatorNode implements Listener {
  readonly skew = { ms: 0 };
  private life: Life | undefined;
  coordinator: Coordinator | undefined;
  incarnation = 0;
  /** Rounds by outcome, for the report. */
  readonly rounds = { committed: 0, aborted: 0, mismatches: 0 };

  constructor(
    readonly id: string,
    private readonly world: World,
    private readonly config: Omit<CoordinatorConfig, 'id'>,
    private readonly onRoundEvent: RoundEventHook,
  ) {}

  /** True while a lifetime runs. */
  get up(): boolean {
    return this.life?.alive === true;
  }

  /** Starts a new lifetime: contends for the lease, then runs rounds while leader. */
  start(): void {
    if (this.up) return;
    const w = this.world;
    const life = new Life(`${this.id}#${++this.incarnation}`);
    this.life = life;
    const log = new SimLog(life.name, (l) => w.trace.line(w.scheduler.nowMs, l), (msg, fields) => this.judgeErrorLog(msg, fields));
    const clock = new SimClock(w.scheduler, life, this.skew);
    const client = new BrokerClient(this.id, life, w.scheduler, w.net, w.broker);
    const kvTimeoutMs = 500;
    const lease: LeaseStorePort = {
      read: () => client.call('lease read', kvTimeoutMs, (b) => b.leaseRead()),
      create: (v) => client.call('lease create', kvTimeoutMs, (b) => b.leaseCreate(JSON.parse(JSON.stringify(v)))),
      update: (v, rev) => client.call('lease update', kvTimeoutMs, (b) => b.leaseUpdate(JSON.parse(JSON.stringify(v)), rev)),
    };
    const self = this.id;
    const coordinator = new Coordinator(
      { ...this.config, id: this.id },
      {
        clock,
        log,
        lease,
        request: (replicaId, phase, body, timeoutMs) => this.request(life, replicaId, phase, body, timeoutMs),
        broadcastResume: (body: ResumeBroadcast) => {
          const text = JSON.stringify(body);
          for (const r of w.replicas()) w.net.send('notice', self, r.id, 'round-resume', () => r.onRoundResume(JSON.parse(text) as Json));
        },
        purgeStream: async (keepFromSeq) => {
          const ok = await client.call('purge', kvTimeoutMs, (b) => b.purge(keepFromSeq));
          if (!ok) throw new Error('purge failed: stream not found');
        },
        emit: (event) => {
          if (!life.alive) return;
          this.observeRoundEvent(event);
          const text = JSON.stringify(event);
          for (const c of w.coordinators()) {
            if (c.id !== self && c instanceof CoordinatorNode) w.net.send('notice', self, c.id, 'round event', () => c.coordinator?.observed(JSON.parse(text)));
          }
        },
        leadershipChanged: (leader, epoch) => w.note(`${life.name} ${leader ? 'LEADER' : 'standby'} epoch ${epoch}`),
      },
    );
    this.coordinator = coordinator;
    w.note(`${life.name} starting`);
    coordinator.start();
  }

  /** Ends the lifetime now: the lease lapses and a standby takes over. */
  crash(why: string): void {
    if (!this.life?.alive) return;
    this.life.end();
    this.coordinator = undefined;
    this.world.note(`${this.life.name} CRASH (${why})`);
  }

  onHeartbeat(body: Json): void {
    if (this.up) this.coordinator?.heard(body);
  }

  /** Core NATS request/reply to one replica: "no responders" when nobody is subscribed, a timeout when lost. */
  private request(life: Life, replicaId: string, phase: ReplicaPhase, body: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const w = this.world;
    const target = w.replica(replicaId);
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled || !life.alive) return;
        settled = true;
        cancel();
        f();
      };
      const cancel = w.scheduler.after(timeoutMs, `timeout ${life.name} ${phase}`, () =>
        settle(() => reject(new ReplicaRequestError('TIMEOUT', `${replicaId} did not answer ${phase} within ${timeoutMs} ms`))),
      );
      if (!target) {
        settle(() => reject(new ReplicaRequestError('NO_RESPONDERS', `no replica ${replicaId}`)));
        return;
      }
      w.net.send('request', this.id, replicaId, phase, () => {
        const answer = target.onRequest(phase, JSON.parse(text) as Record<string, unknown>);
        if (!answer) {
          w.net.send('request', replicaId, this.id, `${phase} no-responders`, () => settle(() => reject(new ReplicaRequestError('NO_RESPONDERS', `no responders for ${replicaId}.${phase}`))));
          return;
        }
        void answer.then((reply) => {
          const replyText = JSON.stringify(reply);
          w.net.send('request', replicaId, this.id, `${phase} reply`, () => settle(() => resolve(JSON.parse(replyText))));
        });
      });
    });
  }

  private observeRoundEvent(event: Record<string, unknown>): void {
    const w = this.world;
    const phase = event.phase;
    const epoch = Number(event.epoch);
    const round = Number(event.round);
    if (phase === 'started') this.startedMembers.set(`${epoch}/${round}`, Array.isArray(event.members) ? (event.members as string[]) : []);
    if (phase === 'frozen' && isVersionVector(event.cut)) w.monitor.roundCut(epoch, round, event.cut, this.startedMembers.get(`${epoch}/${round}`) ?? []);
    if (phase === 'done' && isObject(event.result)) {
      const r = event.result;
      if (r.outcome === 'committed') this.rounds.committed++;
      else this.rounds.aborted++;
      if (r.code === 'DIGEST_MISMATCH') this.rounds.mismatches++;
      // A member that applied past the cut (events from outside the round) refuses; counted, not a violation:
      // an event made while its origin was frozen is caught where it is made (see ReplicaNode).
      for (const f of Array.isArray(r.failures) ? r.failures : []) {
        if (!isObject(f) || typeof f.message !== 'string') continue;
        if (f.message.includes('applied more than the cut') || f.message.includes('applied after the cut')) w.monitor.stats.appliedPastCut++;
      }
      w.note(`${this.id} round ${epoch}/${round} ${String(r.outcome)}${r.code ? ` ${String(r.code)}: ${String(r.reason).slice(0, 300)}` : ''}`);
    } else {
      w.note(`${this.id} round ${epoch}/${round} ${String(phase)}`);
    }
    this.onRoundEvent(event);
  }

  private readonly startedMembers = new Map<string, string[]>();

  private judgeErrorLog(msg: string, fields: Record<string, unknown> | undefined): void {
    this.world.monitor.stats.errorLogs++;
    if (msg.startsWith('DIGEST MISMATCH')) {
      this.world.monitor.noteDigestMismatch(`${this.id}: ${msg} ${JSON.stringify(fields ?? {}).slice(0, 600)}`);
      return;
    }
    this.world.monitor.violation(`${this.id} logged an error: ${msg} ${JSON.stringify(fields ?? {})}`);
  }
}
