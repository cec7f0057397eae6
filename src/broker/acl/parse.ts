// Mosquitto's acl_file syntax, read line by line (mosquitto.conf(5), "acl_file"):
//
//   # comment                         (a line whose first character is '#'), blank lines
//   topic [read|write|readwrite|deny] FILTER    access omitted = readwrite
//   pattern [read|write|readwrite|deny] FILTER  every client; %c = client id, %u = username
//   user NAME                         the topic lines after it are NAME's
//
// topic lines before the first user line are for anonymous clients (no username). FILTER is
// the rest of the line (it may hold spaces when the access is given), a valid MQTT topic filter.
// Any other line is an error: one line naming the file and line number (AclError).
import { isValidTopicFilter } from '../../protocol/index.js';

/** Access bits, as Mosquitto's MOSQ_ACL_READ / MOSQ_ACL_WRITE; 0 = deny. */
export const READ = 1;
export const WRITE = 2;
export const DENY = 0;

export interface Rule {
  /** READ, WRITE, READ | WRITE, or DENY. */
  access: number;
  filter: string;
  /** Pattern rules: whether the filter holds %u / %c (substituted per client). */
  usesUsername: boolean;
  usesClientId: boolean;
  /** The filter's levels, split once on first use by a SUBSCRIBE check (acl.ts). */
  levels?: readonly string[];
}

/** One rule list, deny rules first (as Mosquitto keeps them), then the grants in file order. */
export type RuleList = readonly Rule[];

export interface AclRules {
  /** The topic rules before the first user line; null when there are none. */
  anonymous: RuleList | null;
  users: ReadonlyMap<string, RuleList>;
  patterns: RuleList;
  /** Every topic and pattern line. */
  ruleCount: number;
}

export class AclError extends Error {}

const ACCESS: Record<string, number> = { read: READ, write: WRITE, readwrite: READ | WRITE, deny: DENY };

export function parseAcl(text: string, file: string): AclRules {
  let user: string | null = null;
  const lists = new Map<string | null, Rule[]>();
  const patterns: Rule[] = [];
  let ruleCount = 0;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${n + 1}`;
    const [keyword = '', ...rest] = line.split(/\s+/);
    if (keyword === 'user') {
      const name = line.slice(keyword.length).trim();
      if (name === '') throw new AclError(`${where}: 'user' needs a username`);
      user = name;
      continue;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') throw new AclError(`${where}: unknown keyword '${keyword}' (expected topic, pattern or user)`);
    if (rest.length === 0) throw new AclError(`${where}: '${keyword}' needs a topic filter`);
    let access = READ | WRITE;
    let filter: string;
    const first = rest[0]!;
    if (rest.length > 1 || first in ACCESS) {
      if (!(first in ACCESS)) throw new AclError(`${where}: '${first}' is not an access type (read, write, readwrite or deny)`);
      if (rest.length === 1) throw new AclError(`${where}: '${keyword} ${first}' needs a topic filter`);
      access = ACCESS[first]!;
      filter = line.slice(line.indexOf(first, keyword.length) + first.length).trim();
    } else {
      filter = first;
    }
    if (!isValidTopicFilter(filter)) throw new AclError(`${where}: '${filter}' is not a valid topic filter`);
    const rule: Rule = { access, filter, usesUsername: false, usesClientId: false };
    ruleCount++;
    if (keyword === 'pattern') {
      rule.usesUsername = filter.includes('%u');
      rule.usesClientId = filter.includes('%c');
      addRule(patterns, rule);
    } else {
      let list = lists.get(user);
      if (list === undefined) lists.set(user, (list = []));
      addRule(list, rule);
    }
  }
  const users = new Map<string, RuleList>();
  for (const [name, list] of lists) if (name !== null) users.set(name, list);
  return { anonymous: lists.get(null) ?? null, users, patterns, ruleCount };
}

/** Deny rules go before every grant (Mosquitto checks them first), each kind in file order. */
function addRule(list: Rule[], rule: Rule): void {
  if (rule.access !== DENY) {
    list.push(rule);
    return;
  }
  const firstGrant = list.findIndex((r) => r.access !== DENY);
  if (firstGrant === -1) list.push(rule);
  else list.splice(firstGrant, 0, rule);
}
