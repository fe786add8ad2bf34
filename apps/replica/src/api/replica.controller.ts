import { Controller, Inject } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { isNonEmptyString, isObject } from '#crdt';
import { parseResendRequest } from '#protocol/heartbeat';
import type { Heartbeat, ReplicaCore } from '#replication';
import { REPLICA_CORE } from '../replica.constants';

type Body = Record<string, unknown>;

/** Thin: every message goes straight to the replica core, which answers with plain JSON. */
@Controller()
export class ReplicaController {
  constructor(@Inject(REPLICA_CORE) private readonly core: ReplicaCore) {}

  @MessagePattern('create') create(@Payload() body: Body) { return this.core.handle('create', body); }
  @MessagePattern('update') update(@Payload() body: Body) { return this.core.handle('update', body); }
  @MessagePattern('get') get(@Payload() body: Body) { return this.core.handle('get', body); }
  @MessagePattern('keys') keys(@Payload() body: Body) { return this.core.handle('keys', body); }
  @MessagePattern('history') history(@Payload() body: Body) { return this.core.handle('history', body); }
  @MessagePattern('before-sync') beforeSync(@Payload() body: Body) { return this.core.handle('before-sync', body); }
  @MessagePattern('status') status(@Payload() body: Body) { return this.core.handle('status', body); }

  @MessagePattern('freeze') freeze(@Payload() body: Body) { return this.core.round.freeze(body); }
  @MessagePattern('cut') cut(@Payload() body: Body) { return this.core.round.cut(body); }
  @MessagePattern('commit') commit(@Payload() body: Body) { return this.core.round.commit(body); }
  @MessagePattern('resume') resume(@Payload() body: Body) { return this.core.round.resume(body); }
  @MessagePattern('digests') digests() { return this.core.round.digests(); }

  /** Broadcast end of a round: replicas that missed a committed round re-join. */
  @EventPattern('round-resume') roundResume(@Payload() body: Body) { this.core.round.resume(body); }

  /** A peer misses events of `origin` (ours when absent) from `fromSeq` on. */
  @EventPattern('resend') resend(@Payload() body: Body) {
    const r = parseResendRequest(body);
    if (r) this.core.resend(r.fromSeq, r.origin);
  }

  @EventPattern('heartbeat') heartbeat(@Payload() body: Body) {
    if (isObject(body) && isNonEmptyString(body.replica) && isObject(body.applied)) this.core.heardPeer(body as unknown as Heartbeat);
  }
}
