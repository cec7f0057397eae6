// Topic name and topic filter rules (spec 4.7). Names are what PUBLISH carries; filters are what
// SUBSCRIBE/UNSUBSCRIBE carry and may hold wildcards.
import { ProtocolError, TOPIC_FILTER_INVALID, TOPIC_NAME_INVALID } from './errors.js';

const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'
const SLASH = 0x2f; // '/'
const MAX_STRING_BYTES = 65_535;

/** Throws ProtocolError (reason 0x90) unless `topic` is a valid topic name. */
export function validateTopicName(topic: string): void {
  const reason = topicNameProblem(topic);
  if (reason !== undefined) throw new ProtocolError(reason[0], reason[1], TOPIC_NAME_INVALID);
}

export function isValidTopicName(topic: string): boolean {
  return topicNameProblem(topic) === undefined;
}

/** Throws ProtocolError (reason 0x8F) unless `filter` is a valid topic filter. */
export function validateTopicFilter(filter: string): void {
  const reason = topicFilterProblem(filter);
  if (reason !== undefined) throw new ProtocolError(reason[0], reason[1], TOPIC_FILTER_INVALID);
}

export function isValidTopicFilter(filter: string): boolean {
  return topicFilterProblem(filter) === undefined;
}

type Problem = [message: string, specId: string] | undefined;

function commonProblem(s: string, what: string): Problem {
  if (s.length === 0) return [`${what} is empty`, 'MQTT-4.7.3-1'];
  if (s.length > MAX_STRING_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_STRING_BYTES) {
    return [`${what} longer than 65535 bytes`, 'MQTT-4.7.3-3'];
  }
  return undefined;
}

function topicNameProblem(topic: string): Problem {
  const common = commonProblem(topic, 'topic name');
  if (common !== undefined) return common;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH) return ['topic name contains a wildcard', 'MQTT-3.3.2-2'];
    if (c === 0) return ['topic name contains U+0000', 'MQTT-4.7.3-2'];
  }
  return undefined;
}

function topicFilterProblem(filter: string): Problem {
  const common = commonProblem(filter, 'topic filter');
  if (common !== undefined) return common;
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0) return ['topic filter contains U+0000', 'MQTT-4.7.3-2'];
    const levelStart = i === 0 || filter.charCodeAt(i - 1) === SLASH;
    const levelEnd = i === n - 1 || filter.charCodeAt(i + 1) === SLASH;
    if (c === HASH) {
      // '#' must be the whole last level [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1]
      if (!levelStart || i !== n - 1) return ["'#' must be alone in the last level", 'v3:MQTT-4.7.1-2 v5:MQTT-4.7.1-1'];
    } else if (c === PLUS) {
      // '+' must occupy a whole level [v3:MQTT-4.7.1-3] [v5:MQTT-4.7.1-2]
      if (!levelStart || !levelEnd) return ["'+' must occupy a whole level", 'v3:MQTT-4.7.1-3 v5:MQTT-4.7.1-2'];
    }
  }
  return undefined;
}

const SHARE_PREFIX = '$share/';

/** A shared subscription's parts: `$share/{shareName}/{filter}`. */
export interface SharedFilter {
  shareName: string;
  filter: string;
}

/** Whether `filter` is meant as an MQTT 5 shared subscription (starts with `$share/`). */
export function isSharedSubscription(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}

/**
 * Splits "$share/{ShareName}/{filter}". Null unless the ShareName is at least one character
 * without '/', '+' or '#' [MQTT-4.8.2-1], followed by '/' and a valid topic filter [MQTT-4.8.2-2].
 */
export function parseSharedSubscription(shared: string): SharedFilter | null {
  if (!isSharedSubscription(shared)) return null;
  const slash = shared.indexOf('/', SHARE_PREFIX.length);
  if (slash === -1 || slash === SHARE_PREFIX.length) return null;
  const shareName = shared.slice(SHARE_PREFIX.length, slash);
  if (shareName.includes('+') || shareName.includes('#')) return null;
  const filter = shared.slice(slash + 1);
  if (topicFilterProblem(filter) !== undefined) return null;
  return { shareName, filter };
}
