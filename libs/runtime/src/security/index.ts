/** NATS access control of the store: roles as users with permissions, the generated config, and the apps' connection settings. */
export * from './nats-permissions';
export * from './nats-config';
export * from './nats-auth-env';
export * from './secure-nats-files';
export * from './compose-config';
