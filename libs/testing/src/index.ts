/** Test helpers: real nats-servers, real app processes, temp dirs and ports. Used only by tests. */
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
