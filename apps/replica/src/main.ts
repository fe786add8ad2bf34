import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { subjectsFor } from '#protocol';
import { frameworkJsonLogger, isDataDirLockedError, jsonLogger, readHttpSettings } from '#runtime';
import { startReplicaHttp } from './http/replica-http';
import { CLIENT_COMMANDS, ROUND_COMMANDS } from './replica.constants';
import { ReplicaModule, RUNTIME } from './replica.module';
import type { ReplicaRuntime } from './replica-runtime';
import { readReplicaSettings } from './replica.settings';
import { NatsJsonServer } from './transport/nats-json.server';

/** How long a shutdown may take before the process exits anyway. */
const SHUTDOWN_MS_MAX = 20_000;

function fatal(msg: string, fields: Record<string, unknown>, exitCode = 1): never {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg, app: 'replica', ...fields }) + '\n');
  process.exit(exitCode);
}

/**
 * Starts one replica process: `node dist/apps/replica/src/main.js` (settings from the
 * environment, see README). SIGTERM and SIGINT stop it cleanly (the core stops, the store
 * closes, the data directory's lock is released), logging the signal and the stop; a
 * second signal exits at once.
 */
async function main(): Promise<void> {
  const settings = readReplicaSettings();
  const bootLog = jsonLogger({ app: 'replica', replica: settings.replicaId }, { level: settings.logLevel });
  // Health and metrics first: /health/ready says 503 while the store opens and the replica catches up.
  const http = await startReplicaHttp(readHttpSettings(process.env), settings.replicaId ? { replica: settings.replicaId } : {}, bootLog);
  const server = new NatsJsonServer();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(ReplicaModule.register({ instruments: http.instruments, requestMetrics: http.metrics }), {
    strategy: server,
    logger: frameworkJsonLogger({ app: 'replica', replica: settings.replicaId }, { level: settings.logLevel }),
    abortOnError: false,
  });
  const runtime = app.get<ReplicaRuntime>(RUNTIME);
  http.attach(runtime);
  const id = runtime.core.replicaId;
  const log = jsonLogger({ app: 'replica', replica: id }, { level: settings.logLevel });
  const s = subjectsFor(settings.prefix);
  server.bind(runtime.nc, [
    { kind: 'request', subject: s.api('*'), queue: s.queueGroup, patterns: CLIENT_COMMANDS },
    { kind: 'request', subject: s.replica(id, '*'), patterns: [...CLIENT_COMMANDS, ...ROUND_COMMANDS] },
    { kind: 'event', subject: s.replica(id, 'resend'), patterns: ['resend'] },
    { kind: 'event', subject: s.heartbeat, patterns: ['heartbeat'] },
    { kind: 'event', subject: s.round('resume'), patterns: ['round-resume'] },
  ]);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) fatal('second signal: exiting at once', { replica: id, signal }, 130);
    stopping = true;
    log.info('shutdown requested', { signal });
    setTimeout(() => fatal('shutdown took too long', { replica: id, signal, limitMs: SHUTDOWN_MS_MAX }), SHUTDOWN_MS_MAX).unref();
    app.close().then(() => http.close()).then(
      () => process.exit(0),
      (e: unknown) => fatal('shutdown failed', { replica: id, error: String((e as Error)?.stack ?? e) }),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await app.listen();
  log.info('ready', {
    nats: settings.natsUrl,
    prefix: settings.prefix,
    stream: settings.streamName,
    dataDir: settings.dataDir,
    mode: runtime.core.currentMode,
    ...(http.endpoint ? { http: http.endpoint.url } : {}),
  });
}

main().catch((e: unknown) => {
  // A locked data directory is an expected refusal: its message says it all, no stack.
  if (isDataDirLockedError(e)) fatal('replica not started: data directory in use', { code: e.code, error: e.message, lockFile: e.lockFile, holderPid: e.holder?.pid ?? null });
  fatal('replica failed to start', { error: String((e as Error)?.stack ?? e), code: (e as { code?: unknown })?.code });
});
