import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { frameworkJsonLogger, jsonLogger, readHttpSettings } from '#runtime';
import { RUNTIME } from './coordinator.constants';
import type { CoordinatorRuntime } from './coordinator-runtime';
import { CoordinatorModule } from './coordinator.module';
import { startCoordinatorHttp } from './http/coordinator-http';
import { readCoordinatorSettings } from './coordinator.settings';

/** How long a shutdown may take (a running round finishes first, up to its own bound) before the process exits anyway. */
const SHUTDOWN_MS_MAX = 25_000;

function fatal(msg: string, e: unknown): never {
  const code = (e as { code?: unknown })?.code;
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg, app: 'coordinator', error: String((e as Error)?.stack ?? e), ...(code !== undefined ? { code } : {}) }) + '\n');
  process.exit(1);
}

/**
 * Starts one coordinator process: `node dist/apps/coordinator/src/main.js` (settings from
 * the environment, see the README's coordinator table). SIGTERM and SIGINT stop it
 * cleanly: the running round finishes, the lease is released so a standby takes over at
 * once, exit 0.
 */
async function main(): Promise<void> {
  const settings = readCoordinatorSettings();
  // The module reads the settings again: pin the random default id so both agree.
  process.env.COORDINATOR_ID = settings.coordinator.id;
  const base = { app: 'coordinator', coordinator: settings.coordinator.id };
  const log = jsonLogger(base, { level: settings.logLevel });
  // Health, metrics and the dashboard first: /health/ready says 503 while the coordinator starts.
  const http = await startCoordinatorHttp(readHttpSettings(process.env), settings.prefix, { coordinator: settings.coordinator.id }, log);
  const app = await NestFactory.createApplicationContext(CoordinatorModule.register(http.instruments), { logger: frameworkJsonLogger(base, { level: settings.logLevel }), abortOnError: false });
  http.attach(app.get<CoordinatorRuntime>(RUNTIME));
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutdown requested', { signal });
    setTimeout(() => fatal('shutdown took too long', new Error(`still stopping ${SHUTDOWN_MS_MAX} ms after ${signal}`)), SHUTDOWN_MS_MAX).unref();
    app.close().then(() => http.close()).then(
      () => process.exit(0),
      (e: unknown) => fatal('shutdown failed', e),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => fatal('coordinator failed to start', e));
