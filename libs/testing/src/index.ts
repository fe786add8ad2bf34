/**
 * Test helpers: real nats-servers, real app processes, temp dirs and ports. Used only by tests.
 * The capturing log port is not re-exported here: specs of the pure cores import it as
 * `#testing/capturing-log`, so that they do not load these Node and NATS helpers.
 */
export * from './app-process';
export * from './cluster-harness';
export * from './eventually';
export * from './free-port';
export * from './linearizability';
export * from './nats-client';
export * from './nats-server';
export * from './network-lab';
export * from './register-model';
export * from './temp-dir';
