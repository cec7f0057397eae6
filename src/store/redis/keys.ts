// Every Redis key and channel name Starling uses, in one place. All are built from a prefix
// (default `starling:`) so several clusters, or several tests, can share one redis-server.
//
// Per client ({cid} = the MQTT client id, used verbatim: Redis keys are binary-safe):
//   {p}session:{cid}      hash   expiry (seconds), savedAt (ms), offlineAt (ms), qbytes (bytes in queue)  session-store.ts
//   {p}subs:{cid}         hash   filter -> encoded SubscriptionOptions          session-store.ts
//   {p}queue:{cid}        list   encoded Message, oldest first                 session-store.ts
//   {p}inflight:{cid}     hash   messageId -> encoded InflightRecord; "~holder\0sender" -> highest bus
//                                sequence the session took from sender while on holder (replay)  session-store.ts
//   {p}inflightseq:{cid}  zset   messageId scored by first-put sequence        session-store.ts
//   {p}qos2:{cid}         set    incoming QoS 2 packet ids awaiting PUBREL     session-store.ts
//   {p}will:{cid}         hash   msg (encoded Message), delay (s), node (id)    session-store.ts
//   {p}owner:{cid}        hash   node, conn, epoch                              ownership.ts
// Shared:
//   {p}epoch              string fencing counter, INCR per claim of any id: epochs of one id
//                                strictly grow, and no per-id counter is left behind   ownership.ts
//   {p}retained           hash   topic -> encoded Message                       retained-store.ts
//   {p}rtree:{path}       set    child level names under a topic prefix (trie), retained-store.ts
//                                plus the marker "\0" when a retained topic ends at {path}
// Per node:
//   {p}node:{nodeId}      channel  messages and control frames to one node (node-frames.ts)
//   {p}routes             channel  route changes broadcast                       bus.ts
//   {p}routes:{nodeId}    hash     a node's filters, for nodes that start later  route-sync.ts
//   {p}nodes              zset     live nodes scored by heartbeat expiry (ms)    membership.ts
//   {p}limbo:{nodeId}     list     frames that could not reach a dead node       bus.ts
//   {p}stats:{nodeId}     hash     $SYS counters
//   {p}nodeclients:{nodeId} set    client ids owned by the node (dead-node recovery)  ownership.ts
//   {p}recovery:{nodeId}  string   who recovers the dead node (SET NX: exactly one), "done" after  node-recovery.ts
//   {p}moved:{nodeId}     set      client ids claimed away from the node whose TAKEOVER it has not  ownership.ts
//                                  handled (it was dead): recovery forwards its limbo to them
// Users and ACL rules (--auth redis; written by `starling passwd --redis`):
//   {p}auth:users         hash     user -> password hash, as after "user:" in a password file  auth-source.ts
//   {p}auth:acl           string   ACL text in Mosquitto acl_file syntax; absent: everything allowed
//   {p}auth:changed       channel  published after every change of the two: nodes read them again
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
  readonly epoch: string;
  readonly retained: string;
  /** Trie node of the retained index; path is the topic levels joined by '/', '' for the root. */
  retainedTrie(path: string): string;
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
  const p = prefix;
  const keys: RedisKeys = {
    prefix: p,
    session: (cid) => `${p}session:${cid}`,
    subs: (cid) => `${p}subs:${cid}`,
    queue: (cid) => `${p}queue:${cid}`,
    inflight: (cid) => `${p}inflight:${cid}`,
    inflightOrder: (cid) => `${p}inflightseq:${cid}`,
    qos2: (cid) => `${p}qos2:${cid}`,
    will: (cid) => `${p}will:${cid}`,
    owner: (cid) => `${p}owner:${cid}`,
    sessionKeys: (cid) => [keys.session(cid), keys.subs(cid), keys.queue(cid), keys.inflight(cid), keys.inflightOrder(cid), keys.qos2(cid), keys.will(cid)],
    epoch: `${p}epoch`,
    retained: `${p}retained`,
    retainedTrie: (path) => `${p}rtree:${path}`,
    nodeChannel: (nodeId) => `${p}node:${nodeId}`,
    routesChannel: `${p}routes`,
    routesHash: (nodeId) => `${p}routes:${nodeId}`,
    nodes: `${p}nodes`,
    limbo: (nodeId) => `${p}limbo:${nodeId}`,
    stats: (nodeId) => `${p}stats:${nodeId}`,
    nodeClients: (nodeId) => `${p}nodeclients:${nodeId}`,
    recovery: (nodeId) => `${p}recovery:${nodeId}`,
    moved: (nodeId) => `${p}moved:${nodeId}`,
    authUsers: `${p}auth:users`,
    authAcl: `${p}auth:acl`,
    authChanged: `${p}auth:changed`,
  };
  return keys;
}
