// cluster-key-slot (ioredis' own dependency) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0..16383) of a key, hash tags included. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
