import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { LogPort } from '#coordination';
import { jsonLogger } from '#runtime';
import { LOGGER, RUNTIME, SETTINGS } from './coordinator.constants';
import { startCoordinatorRuntime, type CoordinatorRuntime } from './coordinator-runtime';
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
 * transport layer (its few admin subjects are plain NATS subscriptions in the runtime), so
 * thin providers are all there is.
 */
@Module({
  providers: [
    { provide: SETTINGS, useFactory: () => readCoordinatorSettings() },
    { provide: LOGGER, useFactory: (s: CoordinatorSettings) => jsonLogger({ app: 'coordinator', coordinator: s.coordinator.id }, { level: s.logLevel }), inject: [SETTINGS] },
    { provide: RUNTIME, useFactory: (s: CoordinatorSettings, log: LogPort) => startCoordinatorRuntime(s, log), inject: [SETTINGS, LOGGER] },
    { provide: 'RuntimeCloser', useClass: RuntimeCloser },
  ],
  exports: [RUNTIME],
})
export class CoordinatorModule {}
