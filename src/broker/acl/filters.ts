// Filter against filter, for SUBSCRIBE checks: whether two filters can match a common topic
// (a read rule grants some of what a subscription asks for), and whether one filter covers every
// topic of another (a deny rule takes all of it). Topics starting with '$' are matched only by
// filters whose first level is literal [MQTT-4.7.2-1], here as in topicMatchesFilter.

function firstLevelRule(a: readonly string[], b: readonly string[]): boolean {
  // A wildcard first level matches no topic beginning with '$'.
  const aWild = a[0] === '#' || a[0] === '+';
  const bWild = b[0] === '#' || b[0] === '+';
  if (aWild && !bWild && b[0]!.startsWith('$')) return false;
  if (bWild && !aWild && a[0]!.startsWith('$')) return false;
  return true;
}

/** Whether some topic is matched by both filters (both valid). */
export function filtersIntersect(a: string, b: string): boolean {
  return levelsIntersect(a.split('/'), b.split('/'));
}

/** filtersIntersect on filters already split into levels (a SUBSCRIBE checked against many rules). */
export function levelsIntersect(al: readonly string[], bl: readonly string[]): boolean {
  if (!firstLevelRule(al, bl)) return false;
  for (let i = 0; ; i++) {
    const x = al[i];
    const y = bl[i];
    if (x === '#' || y === '#') return true; // '#' also matches the parent level: 'a/#' matches 'a'
    if (x === undefined || y === undefined) return x === y;
    if (x !== '+' && y !== '+' && x !== y) return false;
  }
}

/** Whether every topic matched by `inner` is matched by `outer` (both valid). */
export function filterCovers(outer: string, inner: string): boolean {
  return levelsCover(outer.split('/'), inner.split('/'));
}

/** filterCovers on filters already split into levels. */
export function levelsCover(ol: readonly string[], il: readonly string[]): boolean {
  // A wildcard first level in outer does not cover an inner that names a '$' first level.
  const oWild = ol[0] === '#' || ol[0] === '+';
  if (oWild && il[0] !== '#' && il[0] !== '+' && il[0]!.startsWith('$')) return false;
  for (let i = 0; ; i++) {
    const o = ol[i];
    const n = il[i];
    if (o === '#') return true;
    if (n === undefined) return o === undefined;
    if (o === undefined || n === '#') return false;
    if (o === '+') continue; // one level, whatever inner has there ('+' or a name)
    if (n !== o) return false;
  }
}
