import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { LogPort } from '#coordination';
import { jsonLogger } from '#runtime';
import { INSTRUMENTS, LOGGER, RUNTIME, SETTINGS } from './coordinator.constants';
import { startCoordinatorRuntime, type CoordinatorInstruments, type CoordinatorRuntime } from './coordinator-runtime';
import { readCoordinatorSettings, type CoordinatorSettings } from './coordinator.settings';

/** Closes the runtime when the application context closes. */
class RuntimeCloser implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: CoordinatorRuntime) {}
  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}

/**
 * The coordinator app: settings, logger and the runtime. It serves nothing through Nest's
 * transport layer (its few admin subjects are plain NATS subscriptions in the runtime; its
 * HTTP is a thin server in src/http), so thin providers are all there is.
 */
@Module({})
export class CoordinatorModule {
  /** `instruments`: the metrics hooks (none: nothing is measured). */
  static register(instruments: CoordinatorInstruments = {}): DynamicModule {
    return {
      module: CoordinatorModule,
      providers: [
        { provide: SETTINGS, useFactory: () => readCoordinatorSettings() },
        { provide: INSTRUMENTS, useValue: instruments },
        { provide: LOGGER, useFactory: (s: CoordinatorSettings) => jsonLogger({ app: 'coordinator', coordinator: s.coordinator.id }, { level: s.logLevel }), inject: [SETTINGS] },
        {
          provide: RUNTIME,
          useFactory: (s: CoordinatorSettings, log: LogPort, i: CoordinatorInstruments) => startCoordinatorRuntime(s, log, i),
          inject: [SETTINGS, LOGGER, INSTRUMENTS],
        },
        { provide: 'RuntimeCloser', useClass: RuntimeCloser },
      ],
      exports: [RUNTIME],
    };
  }
}
