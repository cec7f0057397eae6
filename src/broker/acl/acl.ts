// Who may do what: the rules of an acl_file (parse.ts) and the decisions taken from them. The
// text comes from --acl-file, or from Redis with --auth redis (Acl.fromText; none = all allowed).
//
// Order of a decision, as Mosquitto 2's acl_file check takes it: the client's own list (the
// anonymous rules for a client without username, else its user's rules; none when the file has
// no section for it), deny rules first, then grants; then the pattern rules, deny first, with
// %u and %c replaced by the client's username and id (a pattern naming %u never applies to an
// anonymous client; with pattern rules in the file, a client whose username or id holds '+' or
// '#' is denied whatever the patterns say). The first matching rule decides: a deny denies, a
// grant of the access asked for allows; no rule: denied.
//
//   canPublish  write access to the topic of a PUBLISH or a will. $SYS topics are never written.
//   canRead     read access to the topic of a message about to be delivered (cached: hot path).
//   canSubscribe  a filter is refused when a deny rule covers all of it, or no read rule can match
//               any topic it matches; a filter allowed in part (# with read a/#) is accepted, and
//               canRead keeps what it may not read from it at delivery.
import { readFileSync } from 'node:fs';
import { isSharedSubscription, parseSharedSubscription } from '../../protocol/index.js';
import { topicMatchesFilter } from '../topic-match.js';
import type { ReadDecision } from '../outgoing.js';
import { levelsCover, levelsIntersect } from './filters.js';
import { AclError, DENY, parseAcl, READ, WRITE, type AclRules, type Rule } from './parse.js';

export { AclError } from './parse.js';

/** Decisions remembered per client and access; past this many topics the cache starts over. */
const CACHE_LIMIT = 1024;

/** Ends a client's rules: denied, whatever follows (a dangerous name with pattern rules). */
const STOP: Rule = { access: DENY, filter: '#', usesUsername: false, usesClientId: false };

/** The share key of clients without rules of their own (see Acl.shareKey). */
const NO_RULES = Object.freeze({});

/** Rules that allow everything: a source that has no ACL now (--auth redis without an ACL text). */
const OPEN: readonly Rule[] = Object.freeze([]);

/** The share key of every client while the rules are OPEN (never confused with NO_RULES). */
const OPEN_KEY = Object.freeze({});

/**
 * The rules of one source (a file, or text kept by another source such as Redis), replaced as a
 * whole on reload. null rules: the source has no ACL now, everything is allowed.
 */
export class Acl {
  /** Bumped by every reload: a client's cached decisions and resolved rules are then stale. */
  generation = 0;

  constructor(
    /** The file, or the name of the source, for log lines and errors. */
    readonly file: string,
    private rules: AclRules | null,
    private readonly read: () => AclRules | null = () => readAclFile(file),
  ) {}

  /** Reads and parses the file (throws AclError, one line naming the file and line). */
  static load(file: string): Acl {
    return new Acl(file, readAclFile(file));
  }

  /**
   * Rules from text another source keeps (Redis): text() gives its current ACL, undefined for none
   * (everything allowed). Parsed now and on every reload(); throws AclError naming `name` and the line.
   */
  static fromText(name: string, text: () => string | undefined): Acl {
    const read = (): AclRules | null => {
      const current = text();
      return current === undefined ? null : parseAcl(current, name);
    };
    return new Acl(name, read(), read);
  }

  get ruleCount(): number {
    return this.rules?.ruleCount ?? 0;
  }

  /** Reads the source again; on any error the old rules stay (the error is thrown for the caller to log). */
  reload(): void {
    this.rules = this.read();
    this.generation++;
  }

  forClient(clientId: string, username: string | undefined): ClientAcl {
    return new ClientAcl(this, clientId, username);
  }

  /**
   * What a client's resolved rules are made of when they do not depend on its id or name (no pattern
   * rules): its section of the file, or NO_RULES. Clients with the same key decide alike, so a
   * fan-out asks once for all of them (ClientAcl.canReadOnce). undefined: the rules are its own.
   */
  shareKey(username: string | undefined): object | undefined {
    if (this.rules === null) return OPEN_KEY;
    const { anonymous, users, patterns } = this.rules;
    if (patterns.length > 0) return undefined;
    return (username === undefined ? anonymous : users.get(username)) ?? NO_RULES;
  }

  /** The ordered rules that apply to this client (see the header). */
  resolve(clientId: string, username: string | undefined): readonly Rule[] {
    if (this.rules === null) return OPEN;
    const { anonymous, users, patterns } = this.rules;
    const own = username === undefined ? anonymous : users.get(username);
    // Without pattern rules a client's rules are its section, shared (not copied per client).
    if (patterns.length === 0) return own ?? [];
    const out: Rule[] = own === null || own === undefined ? [] : [...own];
    if (/[+#]/.test(clientId) || (username !== undefined && /[+#]/.test(username))) {
      out.push(STOP);
      return out;
    }
    for (const p of patterns) {
      if (p.usesUsername && username === undefined) continue;
      let filter = p.filter;
      if (p.usesClientId) filter = filter.replaceAll('%c', clientId);
      if (p.usesUsername) filter = filter.replaceAll('%u', username!);
      out.push({ ...p, filter });
    }
    return out;
  }
}

function readAclFile(file: string): AclRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AclError(`${file}: cannot read the ACL file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseAcl(text, file);
}

/** One client's view of the rules, with its decisions cached per topic. */
export class ClientAcl {
  private generation = -1;
  private rules: readonly Rule[] = [];
  /** Whose rules these are: shared with other clients (Acl.shareKey), or this client's own. */
  private shareKey: object = this;
  private readonly reads = new Map<string, boolean>();
  private readonly writes = new Map<string, boolean>();

  constructor(
    private readonly acl: Acl,
    readonly clientId: string,
    readonly username: string | undefined,
  ) {}

  canRead(topic: string): boolean {
    return this.cached(this.reads, topic, READ);
  }

  /**
   * canRead for a message fanned out to many clients: a client whose rules are shared (same file
   * section, no pattern rules) takes the decision the previous such client left in `memo`.
   */
  canReadOnce(memo: ReadDecision, topic: string): boolean {
    if (this.generation !== this.acl.generation) this.current();
    const key = this.shareKey;
    if (memo.aclKey === key) return memo.aclAllowed;
    const allowed = this.cached(this.reads, topic, READ);
    memo.aclKey = key;
    memo.aclAllowed = allowed;
    return allowed;
  }

  canPublish(topic: string): boolean {
    if (this.current() === OPEN) return true; // as without an ACL
    if (topic.startsWith('$SYS/') || topic === '$SYS') return false; // only the broker writes $SYS (as Mosquitto)
    return this.cached(this.writes, topic, WRITE);
  }

  /** A $share/{name}/{filter} subscription is judged by its filter. */
  canSubscribe(subscription: string): boolean {
    const filter = isSharedSubscription(subscription) ? (parseSharedSubscription(subscription)?.filter ?? subscription) : subscription;
    // Split once: a large ACL is many rules against this one filter.
    const rules = this.current();
    if (rules === OPEN) return true;
    const levels = filter.split('/');
    for (const rule of rules) {
      if (rule === STOP) return false;
      const ruleLevels = (rule.levels ??= rule.filter.split('/'));
      if (rule.access === DENY) {
        if (levelsCover(ruleLevels, levels)) return false;
      } else if ((rule.access & READ) !== 0 && levelsIntersect(ruleLevels, levels)) return true;
    }
    return false;
  }

  private cached(cache: Map<string, boolean>, topic: string, access: number): boolean {
    if (this.generation !== this.acl.generation) this.current();
    const known = cache.get(topic);
    if (known !== undefined) return known;
    const allowed = this.decide(topic, access);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(topic, allowed);
    return allowed;
  }

  private decide(topic: string, access: number): boolean {
    if (this.rules === OPEN) return true;
    for (const rule of this.rules) {
      if (rule === STOP) return false;
      if (!topicMatchesFilter(topic, rule.filter)) continue;
      if (rule.access === DENY) return false;
      if ((rule.access & access) !== 0) return true;
    }
    return false;
  }

  /** The resolved rules, resolved again (and the caches emptied) after a reload. */
  private current(): readonly Rule[] {
    if (this.generation !== this.acl.generation) {
      this.generation = this.acl.generation;
      this.rules = this.acl.resolve(this.clientId, this.username);
      this.shareKey = this.acl.shareKey(this.username) ?? this;
      this.reads.clear();
      this.writes.clear();
    }
    return this.rules;
  }
}
