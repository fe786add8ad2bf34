import { Controller, Inject } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { isNat, isNonEmptyString, isObject } from '#crdt';
import type { Heartbeat, ReplicaCore } from '#replication';
import { REPLICA_CORE, REQUEST_METRICS, type RequestMetrics } from '../replica.constants';

type Body = Record<string, unknown>;

/** Thin: every message goes straight to the replica core, which answers with plain JSON (timed for the metrics when asked). */
@Controller()
export class ReplicaController {
  constructor(
    @Inject(REPLICA_CORE) private readonly core: ReplicaCore,
    @Inject(REQUEST_METRICS) private readonly metrics: RequestMetrics | null,
  ) {}

  @MessagePattern('create') create(@Payload() body: Body) { return this.timed('create', () => this.core.handle('create', body)); }
  @MessagePattern('update') update(@Payload() body: Body) { return this.timed('update', () => this.core.handle('update', body)); }
  @MessagePattern('get') get(@Payload() body: Body) { return this.timed('get', () => this.core.handle('get', body)); }
  @MessagePattern('keys') keys(@Payload() body: Body) { return this.timed('keys', () => this.core.handle('keys', body)); }
  @MessagePattern('history') history(@Payload() body: Body) { return this.timed('history', () => this.core.handle('history', body)); }
  @MessagePattern('before-sync') beforeSync(@Payload() body: Body) { return this.timed('before-sync', () => this.core.handle('before-sync', body)); }
  @MessagePattern('status') status(@Payload() body: Body) { return this.timed('status', () => this.core.handle('status', body)); }

  @MessagePattern('freeze') freeze(@Payload() body: Body) { return this.timed('freeze', () => this.core.round.freeze(body)); }
  @MessagePattern('cut') cut(@Payload() body: Body) { return this.timed('cut', () => this.core.round.cut(body)); }
  @MessagePattern('commit') commit(@Payload() body: Body) { return this.timed('commit', () => this.core.round.commit(body)); }
  @MessagePattern('resume') resume(@Payload() body: Body) { return this.timed('resume', () => this.core.round.resume(body)); }
  @MessagePattern('digests') digests() { return this.timed('digests', () => this.core.round.digests()); }

  /** Broadcast end of a round: replicas that missed a committed round re-join. */
  @EventPattern('round-resume') roundResume(@Payload() body: Body) { this.core.round.resume(body); }

  /** A peer misses our events from `fromSeq` on. */
  @EventPattern('resend') resend(@Payload() body: Body) {
    if (isNat(body.fromSeq) && body.fromSeq > 0) this.core.resend(body.fromSeq);
  }

  @EventPattern('heartbeat') heartbeat(@Payload() body: Body) {
    if (isObject(body) && isNonEmptyString(body.replica) && isObject(body.applied)) this.core.heardPeer(body as unknown as Heartbeat);
  }

  /** Runs one request; with metrics, counts it by its reply code and times it. */
  private timed<T>(command: string, run: () => T | Promise<T>): T | Promise<T> {
    const metrics = this.metrics;
    if (!metrics) return run();
    const t0 = process.hrtime.bigint();
    return Promise.resolve(run()).then((reply) => {
      metrics.request(command, reply, Number(process.hrtime.bigint() - t0) / 1e9);
      return reply;
    });
  }
}
