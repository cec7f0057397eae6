// Every Redis key and channel name Starling uses, in one place. All are built from a prefix
// (default `starling:`) so several clusters, or several tests, can share one Redis.
//
// Hash tags (the part of a name between the first '{' and the next '}') choose the Redis Cluster
// slot, so every key one Lua script or MULTI touches shares one tag (on a single Redis or a
// Sentinel-managed one they are just characters):
//   {s:<cid>}  every key of one client's session and its owner record: one slot per client, so
//              the session scripts stay atomic, and clients spread over all shards;
//   {c}        the cluster's control state: membership, route hashes and their channel, per-node
//              client sets, limbo, recovery marks, stats. Small and rarely written (per connect,
//              per route change, per heartbeat): one slot, so recovery reads it atomically;
//   {auth}     users, ACL text and their change channel (written together in one MULTI);
//   no tag     per-node message channels and retained messages and their index: spread by name
//              over every shard (a topic's own braces only pick some slot: those keys are only
//              ever used alone).
// The prefix may hold no '{' or '}' (it would move the tags): redisKeys refuses one.
//
// Per client ({cid} = the MQTT client id, used verbatim: Redis keys are binary-safe):
//   {p}{s:cid}:session    hash   expiry (seconds), savedAt (ms), offlineAt (ms), qbytes (bytes in queue)  session-store.ts
//   {p}{s:cid}:subs       hash   filter -> encoded SubscriptionOptions          session-store.ts
//   {p}{s:cid}:queue      list   encoded Message, oldest first                 session-store.ts
//   {p}{s:cid}:inflight   hash   messageId -> encoded InflightRecord; "~holder\0sender" -> highest bus
//                                sequence the session took from sender while on holder (replay)  session-store.ts
//   {p}{s:cid}:inflightseq zset  messageId scored by first-put sequence        session-store.ts
//   {p}{s:cid}:qos2       set    incoming QoS 2 packet ids awaiting PUBREL     session-store.ts
//   {p}{s:cid}:will       hash   msg (encoded Message), delay (s), node (id)    session-store.ts
//   {p}{s:cid}:owner      hash   node, conn, epoch (fencing: grows per id, from Redis' clock)  ownership.ts
// Retained (retained-store.ts):
//   {p}rmsg:{topic}       string the retained message of topic
//   {p}rtree:{path}       hash   trie of retained topics: child level name -> number of retained
//                                topics below it, "\0" -> 1 when a retained topic ends at {path}
//   {p}{c}:rcount         string number of retained topics
// Control ({c}):
//   {p}{c}:routes         channel  route changes broadcast                       bus.ts
//   {p}{c}:routes:{node}  hash     a node's filters, for nodes that start later  route-sync.ts
//   {p}{c}:nodes          zset     live nodes scored by heartbeat expiry (ms)    membership.ts
//   {p}{c}:limbo:{node}   list     frames that could not reach a dead node       bus.ts
//   {p}{c}:stats:{node}   hash     $SYS counters
//   {p}{c}:nodeclients:{node} set  client ids owned by the node (dead-node recovery)  ownership.ts
//   {p}{c}:recovery:{node} string  who recovers the dead node (SET NX: exactly one), "done" after  node-recovery.ts
//   {p}{c}:moved:{node}   set      client ids claimed away from the node whose TAKEOVER it has not  ownership.ts
//                                  handled (it was dead): recovery forwards its limbo to them
// Per node, spread:
//   {p}node:{node}        channel  messages and control frames to one node (node-frames.ts)
// Users and ACL rules (--auth redis; written by `starling passwd --redis`):
//   {p}{auth}:users       hash     user -> password hash, as after "user:" in a password file  auth-source.ts
//   {p}{auth}:acl         string   ACL text in Mosquitto acl_file syntax; absent: everything allowed
//   {p}{auth}:changed     channel  published after every change of the two: nodes read them again
export const DEFAULT_PREFIX = 'starling:';

export interface RedisKeys {
  readonly prefix: string;
  session(clientId: string): string;
  subs(clientId: string): string;
  queue(clientId: string): string;
  inflight(clientId: string): string;
  inflightOrder(clientId: string): string;
  qos2(clientId: string): string;
  will(clientId: string): string;
  owner(clientId: string): string;
  /** Every per-client key of the session state (not ownership): delete() removes them together. */
  sessionKeys(clientId: string): string[];
  /** The retained message of one topic. */
  retainedMessage(topic: string): string;
  /** Trie node of the retained index; path is '' for the root, '/' + the levels joined by '/' below. */
  retainedTrie(path: string): string;
  /** Number of retained topics. */
  readonly retainedCount: string;
  nodeChannel(nodeId: string): string;
  readonly routesChannel: string;
  routesHash(nodeId: string): string;
  readonly nodes: string;
  limbo(nodeId: string): string;
  stats(nodeId: string): string;
  nodeClients(nodeId: string): string;
  recovery(nodeId: string): string;
  moved(nodeId: string): string;
  readonly authUsers: string;
  readonly authAcl: string;
  readonly authChanged: string;
}

export function redisKeys(prefix: string = DEFAULT_PREFIX): RedisKeys {
  if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix '${prefix}' may not contain '{' or '}' (they choose Redis Cluster slots)`);
  const p = prefix;
  const c = `${p}{c}:`;
  const a = `${p}{auth}:`;
  const client = (cid: string, kind: string): string => `${p}{s:${cid}}:${kind}`;
  const keys: RedisKeys = {
    prefix: p,
    session: (cid) => client(cid, 'session'),
    subs: (cid) => client(cid, 'subs'),
    queue: (cid) => client(cid, 'queue'),
    inflight: (cid) => client(cid, 'inflight'),
    inflightOrder: (cid) => client(cid, 'inflightseq'),
    qos2: (cid) => client(cid, 'qos2'),
    will: (cid) => client(cid, 'will'),
    owner: (cid) => client(cid, 'owner'),
    sessionKeys: (cid) => [keys.session(cid), keys.subs(cid), keys.queue(cid), keys.inflight(cid), keys.inflightOrder(cid), keys.qos2(cid), keys.will(cid)],
    retainedMessage: (topic) => `${p}rmsg:${topic}`,
    retainedTrie: (path) => `${p}rtree:${path}`,
    retainedCount: `${c}rcount`,
    nodeChannel: (nodeId) => `${p}node:${nodeId}`,
    routesChannel: `${c}routes`,
    routesHash: (nodeId) => `${c}routes:${nodeId}`,
    nodes: `${c}nodes`,
    limbo: (nodeId) => `${c}limbo:${nodeId}`,
    stats: (nodeId) => `${c}stats:${nodeId}`,
    nodeClients: (nodeId) => `${c}nodeclients:${nodeId}`,
    recovery: (nodeId) => `${c}recovery:${nodeId}`,
    moved: (nodeId) => `${c}moved:${nodeId}`,
    authUsers: `${a}users`,
    authAcl: `${a}acl`,
    authChanged: `${a}changed`,
  };
  return keys;
}
