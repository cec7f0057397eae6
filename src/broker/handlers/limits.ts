// Configured topic limits (--max-topic-length, --max-topic-levels), shared by PUBLISH and SUBSCRIBE.
import type { BrokerConfig } from '../../config.js';

/** Why a topic or filter is over the configured limits, or undefined when it is within them. */
export function topicLimitProblem(config: BrokerConfig, topic: string): string | undefined {
  if (topic.length > config.maxTopicLength) return `topic longer than --max-topic-length ${config.maxTopicLength}`;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++;
  if (levels > config.maxTopicLevels) return `topic deeper than --max-topic-levels ${config.maxTopicLevels}`;
  return undefined;
}
