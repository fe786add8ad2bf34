import { CLIENT_COMMAND_NAMES, REPLICA_EVENTS, ROUND_COMMAND_NAMES, subjectsFor } from '#protocol';

/**
 * What each role of the store may publish and subscribe to on NATS (issue 9, item 1).
 * Pure: names in, subject lists out. Every list is an allow list, so anything not named is
 * refused by the server with a permissions violation.
 *
 * - client: the client commands (`<p>.api.>` and `<p>.replica.*.<client command>`), change
 *   notices, its own inbox. Nothing else.
 * - admin: a client, plus the coordinator's admin subjects, heartbeats and round events
 *   (crdtctl `status`, `sync`, `rounds`, `watch`).
 * - replica <id>: publishes ops only on `<p>.ops.<id>` (and strong writes on
 *   `<p>.ops.~key.>`), heartbeats, change notices and resend hints; answers requests; its
 *   op stream (including single-message reads, for strong writes) and the snapshot object
 *   store only.
 * - coordinator: round messages, the lease KV bucket, the op stream's purge; also what an
 *   admin may do, so `crdtctl` works inside the coordinator's container with its credential.
 *
 * Replies: responders (replicas, coordinator) may publish on `_INBOX.>` rather than being
 * given `allow_responses`, which would let a requester name any subject (an op subject) as
 * its reply subject and have the responder publish there.
 */

/** The names the permissions are built from. */
export interface SecurityNames {
  /** Subject prefix (`CRDT_PREFIX`). */
  readonly prefix: string;
  /** The op stream (`CRDT_STREAM`). */
  readonly streamName: string;
  /** The replicas' snapshot object store (`CRDT_SNAPSHOT_BUCKET`, default `<stream>_SNAPSHOTS`). */
  readonly snapshotBucket: string;
  /** The coordinator's KV bucket (`COORDINATOR_BUCKET`, default `<prefix>-coordinator`). */
  readonly leaseBucket: string;
}

/** The roles of the store. */
export type Role = 'client' | 'admin' | 'coordinator' | 'replica';

/** One user's allow lists, as nats-server's `permissions` block takes them. */
export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** The inbox prefix a user's connections use (`NATS_INBOX_PREFIX`); each user subscribes only below its own. */
export function inboxPrefixOf(user: string): string {
  return `_INBOX.${user}`;
}

/** The default names, as the apps derive them from the prefix and stream. */
export function defaultSecurityNames(prefix = 'crdt', streamName = 'CRDT_OPS'): SecurityNames {
  return { prefix, streamName, snapshotBucket: `${streamName}_SNAPSHOTS`, leaseBucket: `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-coordinator` };
}

/** JetStream API subjects for using (not administering) one stream: info, create and ordered consumers. */
function streamUse(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
  ];
}

/** Reads of single messages (KV gets, object metadata) and the purge the buckets do when a value is replaced. */
function bucketUse(stream: string): string[] {
  return [...streamUse(stream), `$JS.API.STREAM.MSG.GET.${stream}`, `$JS.API.DIRECT.GET.${stream}`, `$JS.API.DIRECT.GET.${stream}.>`, `$JS.API.STREAM.PURGE.${stream}`];
}

function clientPermissions(n: SecurityNames, user: string): Permissions {
  const s = subjectsFor(n.prefix);
  return {
    publish: [s.api('>'), ...CLIENT_COMMAND_NAMES.map((c) => s.replica('*', c))],
    subscribe: [s.changes('>'), `${inboxPrefixOf(user)}.>`],
  };
}

function adminPermissions(n: SecurityNames, user: string): Permissions {
  const s = subjectsFor(n.prefix);
  const client = clientPermissions(n, user);
  return {
    publish: [...client.publish, s.coordinator('>')],
    subscribe: [...client.subscribe, s.heartbeat, s.roundEvents],
  };
}

function replicaPermissions(n: SecurityNames, user: string, replicaId: string): Permissions {
  const s = subjectsFor(n.prefix);
  return {
    publish: [
      s.ops(replicaId),
      // Strong writes go on their key's subject; the stream rules check that such a message
      // holds one event of that key, but not its origin (see docs/design.md, Security).
      s.strongOps('>'),
      `$JS.API.STREAM.MSG.GET.${n.streamName}`,
      s.heartbeat,
      s.changes('>'),
      s.replica('*', REPLICA_EVENTS.resend.name),
      '_INBOX.>',
      '$JS.API.INFO',
      ...streamUse(n.streamName),
      ...bucketUse(`OBJ_${n.snapshotBucket}`),
      `$O.${n.snapshotBucket}.>`,
    ],
    subscribe: [s.api('*'), s.replica(replicaId, '*'), s.heartbeat, s.round('resume'), `${inboxPrefixOf(user)}.>`],
  };
}

function coordinatorPermissions(n: SecurityNames, user: string): Permissions {
  const s = subjectsFor(n.prefix);
  const admin = adminPermissions(n, user);
  return {
    publish: [
      ...admin.publish,
      ...ROUND_COMMAND_NAMES.map((c) => s.replica('*', c)),
      s.round('>'),
      s.roundEvents,
      '_INBOX.>',
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${n.streamName}`,
      `$JS.API.STREAM.PURGE.${n.streamName}`,
      ...bucketUse(`KV_${n.leaseBucket}`),
      `$KV.${n.leaseBucket}.>`,
    ],
    subscribe: [...admin.subscribe, s.coordinator('*')],
  };
}

/** The permissions of one role; `replicaId` is required for a replica. */
export function permissionsOf(role: Role, names: SecurityNames, user: string, replicaId?: string): Permissions {
  switch (role) {
    case 'client':
      return clientPermissions(names, user);
    case 'admin':
      return adminPermissions(names, user);
    case 'coordinator':
      return coordinatorPermissions(names, user);
    case 'replica':
      if (replicaId === undefined) throw new Error('a replica user needs its replica id');
      return replicaPermissions(names, user, replicaId);
  }
}
