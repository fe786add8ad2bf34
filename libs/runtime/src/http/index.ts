/** HTTP plumbing shared by the apps' health, metrics and dashboard adapters. */
export * from './health';
export * from './http-server';
export * from './http-settings';
export * from './ops-routes';
