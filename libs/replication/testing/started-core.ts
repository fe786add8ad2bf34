import { ReplicaCore } from '../src/replica-core';
import type { ReplicaOptions } from '../src/replica-state';
import { memoryPorts } from './memory-ports';

/** A core over memory ports, started and caught up (in Work) unless `work` is false. */
export async function startedCore(options: ReplicaOptions = { replicaId: 'r1' }, ports = memoryPorts(), work = true) {
  const core = new ReplicaCore(ports, options);
  await core.start();
  if (work) await ports.clock.advance(1);
  /** Sends a command and lets the group commit and waits run. */
  const send = async (command: string, body: Record<string, unknown>, advanceMs = 10) => {
    const reply = core.handle(command, body);
    await ports.clock.advance(advanceMs);
    return reply;
  };
  return { core, ports, send };
}
