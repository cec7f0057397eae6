// Two hosts on one redis-server act as one broker (the tests: two-hosts-suite.ts).
import { startRedisServer } from '../../helpers/redis-server.js';
import { twoHostsSuite } from './two-hosts-suite.js';

twoHostsSuite(async () => {
  const redis = await startRedisServer();
  return { hostOptions: { redisUrl: redis.url }, stop: () => redis.stop() };
});
