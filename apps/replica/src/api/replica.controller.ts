import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { REPLICA_EVENTS } from '#protocol';
import type { ReplicaCore } from '#replication';
import { REPLICA_CORE, REQUEST_METRICS, type RequestMetrics } from '../replica.constants';
import { REQUEST_PATTERN } from '../transport/nats-json.server';

type Body = Record<string, unknown>;

/**
 * Thin: every request goes to the replica core, which routes it by the protocol's command
 * table and answers with plain JSON (timed for the metrics when asked); every event goes
 * to the core as the table names it. The transport has already checked that the subject
 * may carry the command.
 */
@Controller()
export class ReplicaController {
  constructor(
    @Inject(REPLICA_CORE) private readonly core: ReplicaCore,
    @Inject(REQUEST_METRICS) private readonly metrics: RequestMetrics | null,
  ) {}

  /** Any request of the command table; the command is the subject's last token. */
  @MessagePattern(REQUEST_PATTERN) request(@Payload() body: Body, @Ctx() ctx: NatsContext) {
    const subject = ctx.getSubject();
    const command = subject.slice(subject.lastIndexOf('.') + 1);
    return this.timed(command, () => this.core.answer(command, body));
  }

  /** A peer misses our events from `fromSeq` on. */
  @EventPattern(REPLICA_EVENTS.resend.name) resend(@Payload() body: Body) { this.core.hear('resend', body); }

  /** A peer's heartbeat. */
  @EventPattern(REPLICA_EVENTS.heartbeat.name) heartbeat(@Payload() body: Body) { this.core.hear('heartbeat', body); }

  /** Broadcast end of a round: replicas that missed a committed round re-join. */
  @EventPattern(REPLICA_EVENTS['round-resume'].name) roundResume(@Payload() body: Body) { this.core.hear('round-resume', body); }

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
