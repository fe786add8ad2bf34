import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { replicaSubscriptions, subjectsFor } from '#protocol';
import { jsonLogger } from '#runtime';
import { ReplicaModule, RUNTIME } from './replica.module';
import type { ReplicaRuntime } from './replica-runtime';
import { readReplicaSettings } from './replica.settings';
import { NatsJsonServer } from './transport/nats-json.server';

/** Starts one replica process: `node dist/apps/replica/src/main.js` (settings from the environment, see README). */
async function main(): Promise<void> {
  const settings = readReplicaSettings();
  const server = new NatsJsonServer();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(ReplicaModule, { strategy: server, logger: ['error', 'warn'] });
  const runtime = app.get<ReplicaRuntime>(RUNTIME);
  const id = runtime.core.replicaId;
  const s = subjectsFor(settings.prefix);
  // Every subject and the commands or event it carries come from the protocol's command table.
  server.bind(runtime.nc, replicaSubscriptions(s, id));
  app.enableShutdownHooks();
  await app.listen();
  jsonLogger({ app: 'replica', replica: id }).info('ready', {
    nats: settings.natsUrl,
    prefix: settings.prefix,
    stream: settings.streamName,
    dataDir: settings.dataDir,
    mode: runtime.core.currentMode,
  });
}

main().catch((e) => {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg: 'replica failed to start', error: String((e as Error)?.stack ?? e) }) + '\n');
  process.exit(1);
});
