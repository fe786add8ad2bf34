import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { LogPort } from '#replication';
import { ReplicaController } from './api/replica.controller';
import { jsonLogger } from '#runtime';
import { LOGGER, REPLICA_CORE, SETTINGS } from './replica.constants';
import { startReplicaRuntime, type ReplicaRuntime } from './replica-runtime';
import { readReplicaSettings, type ReplicaSettings } from './replica.settings';

const RUNTIME = Symbol('ReplicaRuntime');

/** Closes the runtime when Nest shuts down (SIGTERM, SIGINT). */
class RuntimeCloser implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: ReplicaRuntime) {}
  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}

/** The replica app: settings, the runtime (core + adapters), and the thin controller. */
@Module({
  controllers: [ReplicaController],
  providers: [
    { provide: SETTINGS, useFactory: () => readReplicaSettings() },
    { provide: LOGGER, useFactory: (s: ReplicaSettings) => jsonLogger({ app: 'replica', replica: s.replicaId }, { level: s.logLevel }), inject: [SETTINGS] },
    { provide: RUNTIME, useFactory: (s: ReplicaSettings, log: LogPort) => startReplicaRuntime(s, log), inject: [SETTINGS, LOGGER] },
    { provide: REPLICA_CORE, useFactory: (r: ReplicaRuntime) => r.core, inject: [RUNTIME] },
    { provide: 'RuntimeCloser', useClass: RuntimeCloser },
  ],
  exports: [RUNTIME],
})
export class ReplicaModule {}

export { RUNTIME };
