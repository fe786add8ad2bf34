import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { LogPort } from '#replication';
import { ReplicaController } from './api/replica.controller';
import { jsonLogger } from '#runtime';
import { INSTRUMENTS, LOGGER, REPLICA_CORE, REQUEST_METRICS, SETTINGS, type RequestMetrics } from './replica.constants';
import { startReplicaRuntime, type ReplicaInstruments, type ReplicaRuntime } from './replica-runtime';
import { readReplicaSettings, type ReplicaSettings } from './replica.settings';

const RUNTIME = Symbol('ReplicaRuntime');

/** Closes the runtime when Nest shuts down (SIGTERM, SIGINT). */
class RuntimeCloser implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: ReplicaRuntime) {}
  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}

/** What `register` takes: the metrics hooks (none: nothing is measured). */
export interface ReplicaModuleOptions {
  readonly instruments?: ReplicaInstruments;
  readonly requestMetrics?: RequestMetrics;
}

/** The replica app: settings, the runtime (core + adapters), and the thin controller. */
@Module({})
export class ReplicaModule {
  static register(options: ReplicaModuleOptions = {}): DynamicModule {
    return {
      module: ReplicaModule,
      controllers: [ReplicaController],
      providers: [
        { provide: SETTINGS, useFactory: () => readReplicaSettings() },
        { provide: INSTRUMENTS, useValue: options.instruments ?? {} },
        { provide: REQUEST_METRICS, useValue: options.requestMetrics ?? null },
        { provide: LOGGER, useFactory: (s: ReplicaSettings) => jsonLogger({ app: 'replica', replica: s.replicaId }, { level: s.logLevel }), inject: [SETTINGS] },
        {
          provide: RUNTIME,
          useFactory: (s: ReplicaSettings, log: LogPort, i: ReplicaInstruments) => startReplicaRuntime(s, log, i),
          inject: [SETTINGS, LOGGER, INSTRUMENTS],
        },
        { provide: REPLICA_CORE, useFactory: (r: ReplicaRuntime) => r.core, inject: [RUNTIME] },
        { provide: 'RuntimeCloser', useClass: RuntimeCloser },
      ],
      exports: [RUNTIME],
    };
  }
}

export { RUNTIME };
