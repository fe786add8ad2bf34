import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Coordinator, parseRoundResult, type LogPort, type RoundResult } from '#coordination';
import { subjectsFor } from '#protocol';
import type { CoordinatorSettings } from './coordinator.settings';
import { connectNats, DEFAULT_NATS_CONNECT_LIMITS, natsServers, readNatsLiveness, systemClock } from '#runtime';
import { AdminResponder } from './nats/admin-responder';
import { KvLeaseStore } from './nats/kv-lease-store';
import { KvRoundHistory } from './nats/kv-round-history';
import { NatsReplicaRequests } from './nats/nats-replica-requests';
import { StreamPurger } from './nats/stream-purger';

/** A running coordinator's parts. */
export interface CoordinatorRuntime {
  readonly coordinator: Coordinator;
  readonly nc: NatsConnection;
  /** The lease store (its bucket's reachability is part of readiness). */
  readonly lease: KvLeaseStore;
  /** Stops rounds, releases the lease, closes the connection. */
  close(): Promise<void>;
}

/** Optional hooks for metrics (apps/coordinator/src/http): they only watch. */
export interface CoordinatorInstruments {
  /** A round this coordinator ran (or refused to start) ended: its result, as emitted on the round events. */
  readonly roundDone?: (result: RoundResult) => void;
}

/** How long `close` waits for the connection to drain. */
const DRAIN_MS_MAX = 5_000;
/** Bound of a stream purge request. */
const PURGE_TIMEOUT_MS = 10_000;

/** How long a start keeps trying to open the lease bucket (JetStream may still be electing its leader). */
const BUCKET_OPEN_WAIT_MS = 30_000;

/** Opens the lease bucket, retrying with back-off within `BUCKET_OPEN_WAIT_MS`. */
async function openLeaseStore(nc: NatsConnection, settings: CoordinatorSettings, log: LogPort): Promise<KvLeaseStore> {
  // Lease calls are bounded by a third of the lease: a slower store cannot keep a leader.
  const opts = { timeoutMs: Math.max(10, Math.floor(settings.coordinator.leaseMs / 3)), replicas: settings.leaseBucketReplicas };
  const deadline = Date.now() + BUCKET_OPEN_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await KvLeaseStore.open(nc, settings.leaseBucket, opts);
    } catch (e) {
      const waitMs = Math.min(100 * 2 ** attempt, 2_000);
      if (Date.now() + waitMs > deadline) throw e;
      log.warn('lease bucket not open yet; retrying', { bucket: settings.leaseBucket, error: String((e as Error)?.message ?? e), retryInMs: waitMs });
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Wires a coordinator: one NATS connection, the lease in a KV bucket, round requests,
 * the resume broadcast, round events, the stream purge and the admin requests around one
 * `Coordinator`, then starts contending for leadership. Kept free of Nest so it reads top
 * to bottom and runs in tests in-process; the Nest module only calls it.
 */
export async function startCoordinatorRuntime(settings: CoordinatorSettings, log: LogPort, instruments: CoordinatorInstruments = {}): Promise<CoordinatorRuntime> {
  const config = settings.coordinator;
  const nc = await connectNats({
      servers: natsServers(settings.natsUrl),
      name: `crdt-coordinator-${config.id}`,
      // Notice a silently dead connection (a partition) in seconds, not minutes.
      ...readNatsLiveness(),
      ...settings.natsAuth,
    }, log, {
    ...DEFAULT_NATS_CONNECT_LIMITS,
    waitMsMax: settings.natsConnectWaitMs,
  });
  let lease: KvLeaseStore;
  try {
    lease = await openLeaseStore(nc, settings, log);
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw e;
  }
  const subjects = subjectsFor(settings.prefix);
  const requests = new NatsReplicaRequests(nc, subjects);
  const purger = new StreamPurger(nc, settings.streamName, PURGE_TIMEOUT_MS);
  const publish = (subject: string, body: unknown) => {
    if (!nc.isClosed()) nc.publish(subject, JSON.stringify(body));
  };
  let admin: AdminResponder | undefined;
  const coordinator = new Coordinator(config, {
    clock: systemClock,
    log,
    lease,
    history: new KvRoundHistory(lease.kv),
    request: (id, phase, body, timeoutMs) => requests.request(id, phase, body, timeoutMs),
    broadcastResume: (body) => publish(subjects.round('resume'), body),
    purgeStream: async (keepFromSeq) => {
      const purged = await purger.purge(keepFromSeq);
      log.info('stream purged', { stream: settings.streamName, keepFromSeq, purged });
    },
    emit: (event) => {
      publish(subjects.roundEvents, event);
      if (event.phase === 'done' && instruments.roundDone) {
        const result = parseRoundResult(event.result);
        if (result) instruments.roundDone(result);
      }
    },
    leadershipChanged: (leader) => admin?.setLeader(leader),
  });
  admin = new AdminResponder(nc, subjects, coordinator, log);
  const subs: Subscription[] = [
    nc.subscribe(subjects.heartbeat, {
      callback: (err, msg) => {
        if (!err) coordinator.heard(parseJson(msg.data));
      },
    }),
    nc.subscribe(subjects.roundEvents, {
      callback: (err, msg) => {
        if (!err) coordinator.observed(parseJson(msg.data));
      },
    }),
  ];
  await coordinator.restoreHistory();
  // Answer admin requests only once the lease has been looked at: a coordinator that just
  // started must not tell `status` that nobody leads when somebody does.
  coordinator.start();
  let waitTimer: NodeJS.Timeout | undefined;
  await Promise.race([coordinator.leaseKnown(), new Promise((r) => (waitTimer = setTimeout(r, config.leaseMs)))]);
  clearTimeout(waitTimer);
  admin.start();
  await nc.flush();
  log.info('ready', {
    nats: settings.natsUrl,
    prefix: settings.prefix,
    stream: settings.streamName,
    bucket: settings.leaseBucket,
    leaseMs: config.leaseMs,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    intervalMs: config.schedule.intervalMs,
    opLogThreshold: config.schedule.opLogThreshold,
    freezeLeaseMs: config.round.freezeLeaseMs,
  });

  let closing: Promise<void> | undefined;
  return {
    coordinator,
    nc,
    lease,
    close: () =>
      (closing ??= (async () => {
        await coordinator.stop();
        admin.close();
        for (const s of subs) s.unsubscribe();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([nc.drain().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, DRAIN_MS_MAX)))]);
        clearTimeout(timer);
        if (!nc.isClosed()) await nc.close().catch(() => undefined);
        log.info('stopped');
      })()),
  };
}
