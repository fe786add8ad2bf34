import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { CoordinatorModule } from './coordinator.module';

/** How long a shutdown may take (a running round finishes first, up to its own bound) before the process exits anyway. */
const SHUTDOWN_MS_MAX = 25_000;

function fatal(msg: string, e: unknown): never {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg, app: 'coordinator', error: String((e as Error)?.stack ?? e) }) + '\n');
  process.exit(1);
}

/**
 * Starts one coordinator process: `node dist/apps/coordinator/src/main.js` (settings from
 * the environment, see coordinator.settings.ts). SIGTERM and SIGINT stop it cleanly: the
 * running round finishes, the lease is released so a standby takes over at once, exit 0.
 */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(CoordinatorModule, { logger: ['error', 'warn'], abortOnError: false });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level: 'info', msg: 'shutdown requested', app: 'coordinator', signal }) + '\n');
    setTimeout(() => fatal('shutdown took too long', new Error(`still stopping ${SHUTDOWN_MS_MAX} ms after ${signal}`)), SHUTDOWN_MS_MAX).unref();
    app.close().then(
      () => process.exit(0),
      (e: unknown) => fatal('shutdown failed', e),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => fatal('coordinator failed to start', e));
