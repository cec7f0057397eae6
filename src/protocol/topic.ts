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
      // '#' must be the whole last level [MQTT-4.7.1-2]
      if (!levelStart || i !== n - 1) return ["'#' must be alone in the last level", 'MQTT-4.7.1-2'];
    } else if (c === PLUS) {
      // '+' must occupy a whole level [MQTT-4.7.1-3]
      if (!levelStart || !levelEnd) return ["'+' must occupy a whole level", 'MQTT-4.7.1-3'];
    }
  }
  return undefined;
}

/**
 * MQTT 5 shared subscription: "$share/{ShareName}/{filter}" with a non-empty ShareName without
 * wildcards or '/' [MQTT-4.8.2-1, MQTT-4.8.2-2] and a non-empty filter. Returns false when
 * `filter` is not a shared subscription at all.
 */
export function isSharedSubscription(filter: string): boolean {
  return filter.startsWith('$share/');
}

export function validateSharedSubscription(filter: string): void {
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  const shareName = slash === -1 ? rest : rest.slice(0, slash);
  if (shareName.length === 0 || /[+#]/.test(shareName)) {
    throw new ProtocolError('invalid ShareName in shared subscription', 'MQTT-4.8.2-1', TOPIC_FILTER_INVALID);
  }
  if (slash === -1 || slash === rest.length - 1) {
    throw new ProtocolError('shared subscription has no topic filter', 'MQTT-4.8.2-2', TOPIC_FILTER_INVALID);
  }
}
