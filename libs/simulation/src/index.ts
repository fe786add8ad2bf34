/** Deterministic simulation of the replication core (after TigerBeetle's VOPR): one seed, one whole cluster, one virtual clock. */
export * from './prng';
export * from './scheduler';
export * from './trace';
export * from './faults';
export * from './model';
export * from './simulation';
