// One filter against one topic, without allocating: for places that test a single
// subscription (e.g. a route or a retained message) rather than search the TopicTree.

const PLUS = 43; // '+'
const HASH = 35; // '#'
const DOLLAR = 36; // '$'

/** Whether topic matches filter under the rules of MQTT section 4.7. Both are assumed valid. */
export function topicMatchesFilter(topic: string, filter: string): boolean {
  // Topics starting with '$' are not matched by filters starting with '#' or '+' [MQTT-4.7.2-1].
  if (topic.charCodeAt(0) === DOLLAR && (filter.charCodeAt(0) === PLUS || filter.charCodeAt(0) === HASH)) return false;
  let f = 0; // start of the current filter level
  let t = 0; // start of the current topic level; -1 once the topic has no levels left
  while (true) {
    let fEnd = filter.indexOf('/', f);
    if (fEnd === -1) fEnd = filter.length;
    const single = fEnd - f === 1;
    // '#' matches the rest, including nothing: 'sport/#' matches 'sport' [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1].
    if (single && filter.charCodeAt(f) === HASH) return true;
    if (t === -1) return false;
    let tEnd = topic.indexOf('/', t);
    if (tEnd === -1) tEnd = topic.length;
    // '+' matches exactly one level, an empty one included [MQTT-4.7.1-3].
    if (!(single && filter.charCodeAt(f) === PLUS) && !sameLevel(filter, f, fEnd, topic, t, tEnd)) return false;
    if (fEnd === filter.length) return tEnd === topic.length;
    f = fEnd + 1;
    t = tEnd === topic.length ? -1 : tEnd + 1;
  }
}

function sameLevel(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}
