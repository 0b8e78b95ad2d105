// API keys. Every credential a client presents (a key, a token, a Basic password, an OAuth2 client secret)
// resolves to one grant: the credential's kind, the scopes it may use and the collections it may see, the
// first being its default. Secrets are generated here and stored as hashes (src/store/api-keys.ts); the plain
// secret is returned once, at creation.
import crypto from 'node:crypto';
import type { Db, Queryable } from '../store/db';
import { addApiKeyCollection, findActiveApiKey, hashSecret, insertApiKey, listApiKeys, loginTaken, revokeApiKey, type ApiKey } from '../store/api-keys';
import { createCollection, ensureCollection, getCollectionByName, type Collection } from '../store/collections';
import { isUniqueViolation } from '../store/persons';
import type { AuthThrottle } from './auth-throttle';
import { DomainError, isDomainError } from './errors';

/** A kind of credential; the kinds and their rules come from the dialects (src/dialects/key-kinds.ts). */
export type KeyKind = string;

/** What a key may do: find faces, compare two, search a collection, read or change stored faces and persons. */
export const SCOPES = ['detect', 'verify', 'identify', 'read', 'write'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a request authenticated with a key may use (ctx.state.grant after src/http/auth.ts). */
export interface KeyGrant {
  keyId: number;
  kind: KeyKind;
  scopes: readonly Scope[];
  /** Collections this key may see; the first is its default (where writes go when no collection is named). */
  collectionIds: readonly number[];
}

export interface KindRules {
  /** 'owns': at least one (a new one named after the key when none is given); 'none': never; 'optional'. */
  collections: 'owns' | 'none' | 'optional';
  /** Granted when the creator names none. */
  defaultScopes: readonly Scope[];
  /** 'uuid': these kinds' clients check for a UUID (122 random bits); 'random': 192 random bits, base64url. */
  secret: 'uuid' | 'random';
  /** A public name goes with the secret: an HTTP Basic user name, or an OAuth2 client id. */
  login: boolean;
}

/** The rules of every kind a key service issues and accepts. */
export type KindTable = Readonly<Record<KeyKind, KindRules>>;

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

const LOGIN_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Longest collection name a key may name. */
export const COLLECTION_NAME_MAX = 200;

export interface NewKey {
  /** Default: the kind's default scopes. */
  scopes?: readonly string[];
  /** Collection names, created when absent; the first is the default. */
  collections?: readonly string[];
  /** A label for listings. */
  name?: string;
  /** The Basic user name or OAuth2 client id of a kind with a login; generated when absent. */
  user?: string;
}

export interface KeyInfo {
  id: number;
  prefix: string;
  kind: KeyKind;
  /** Basic user name or OAuth2 client id (kinds with a login). */
  user: string | null;
  name: string | null;
  scopes: Scope[];
  /** Collection names, the default first. */
  collections: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

/**
 * How long a successful key lookup is reused. Revoking through this service (the admin API of this process)
 * takes effect at once; a revocation by another process (the CLI on a stopped server's database, another
 * instance on the same PostgreSQL) within this time.
 */
export const KEY_CACHE_MS = 2000;

function invalid(param: string, message: string, value?: unknown): DomainError {
  return new DomainError('INVALID_ARGUMENT', message, { param, value });
}

function newSecret(rules: KindRules): string {
  if (rules.secret === 'uuid') return crypto.randomUUID();
  let secret: string;
  do secret = crypto.randomBytes(24).toString('base64url');
  while (secret.startsWith('-')); // a command line would take it for an option (1 in 64; costs 0.02 bits)
  return secret;
}

export interface KeyServiceOptions {
  /** Failed attempts per client address (AUTH_FAILURES_PER_ADDRESS); none: not throttled. */
  throttle?: AuthThrottle;
  /** A key read from the database (a secret not in the cache: every unknown one). */
  onLookup?: () => void;
}

export class KeyService {
  /** sha-256 of a presented secret -> its record, for KEY_CACHE_MS (one database read less per request). */
  private readonly cache = new Map<string, { record: ApiKey; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly kinds: KindTable,
    private readonly opts: KeyServiceOptions = {},
  ) {}

  /** The kinds this service issues, with their rules. */
  kindRules(): KindTable {
    return this.kinds;
  }

  /** Creates a key of a kind; named collections are created when absent. Returns the secret (shown once). */
  async create(kind: string, opts: NewKey = {}): Promise<{ key: string; info: KeyInfo }> {
    const rules = Object.hasOwn(this.kinds, kind) ? this.kinds[kind] : undefined;
    if (!rules) throw invalid('kind', `unknown key kind "${kind}" (one of ${Object.keys(this.kinds).join(', ')})`, kind);
    const scopes = [...new Set(opts.scopes ?? rules.defaultScopes)];
    const badScope = scopes.find((s) => !isScope(s));
    if (badScope !== undefined) throw invalid('scope', `unknown scope "${badScope}" (one of ${SCOPES.join(', ')})`, badScope);
    if (!scopes.length) throw invalid('scope', 'a key needs at least one scope');
    const names = [...new Set(opts.collections ?? [])];
    if (rules.collections === 'none' && names.length) throw invalid('collection', `${kind} keys see no collections`);
    const badName = names.find((n) => n.trim() === '' || n.length > COLLECTION_NAME_MAX);
    if (badName !== undefined) throw invalid('collection', `a collection name is 1 to ${COLLECTION_NAME_MAX} characters, not blank`, badName);
    if (opts.user !== undefined && !rules.login) throw invalid('user', `${kind} keys have no user name or client id`);
    if (opts.user !== undefined && !LOGIN_RE.test(opts.user)) {
      throw invalid('user', 'a user name or client id is 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit', opts.user);
    }

    const key = newSecret(rules);
    const login = rules.login ? (opts.user ?? `${kind}-${crypto.randomBytes(4).toString('hex')}`) : null;
    const record = await this.db.transaction(async (tx) => {
      if (login !== null && (await loginTaken(tx, kind, login))) throw invalid('user', `an active ${kind} key already has the user "${login}"`, login);
      if (rules.collections === 'owns' && !names.length) names.push(`${kind}-${key.slice(0, 8)}`);
      const collectionIds: number[] = [];
      for (const name of names) collectionIds.push((await ensureCollection(tx, { name })).id);
      return insertApiKey(tx, { kind, secret: key, login, name: opts.name ?? null, scopes, collectionIds });
    });
    return { key, info: describe(record) };
  }

  async list(opts: { includeRevoked?: boolean } = {}): Promise<KeyInfo[]> {
    return (await listApiKeys(this.db, opts)).map(describe);
  }

  /**
   * Revokes a key given by its whole secret, or by its listed prefix or user when that names exactly one active
   * key; returns what was revoked (empty: nothing matched). Takes effect at once in this process.
   */
  async revoke(keyPrefixOrUser: string): Promise<KeyInfo[]> {
    const revoked = await revokeApiKey(this.db, keyPrefixOrUser);
    this.cache.clear();
    return revoked.map(describe);
  }

  /**
   * The grant of an active key of one of `kinds`: KEY_INVALID when the secret is unknown or revoked, of another
   * kind, presented with another user (two-part credentials), or of a kind that needs a collection and has none
   * left; FORBIDDEN when it lacks `scope`. With `client` (the caller's address), AUTH_THROTTLED while that
   * address is blocked for its failed attempts (src/domain/auth-throttle.ts), before any read; each KEY_INVALID
   * counts as one failure.
   */
  async authenticate(secret: string, kinds: readonly KeyKind[], opts: { user?: string; scope?: Scope; client?: string } = {}): Promise<KeyGrant> {
    const throttle = opts.client !== undefined ? this.opts.throttle : undefined;
    await throttle?.check(opts.client!);
    const invalid = async () => {
      await throttle?.failed(opts.client!);
      return keyInvalid(kinds);
    };
    const record = await this.lookup(secret);
    const rules = record && kinds.includes(record.kind) && Object.hasOwn(this.kinds, record.kind) ? this.kinds[record.kind] : undefined;
    if (!record || !rules) throw await invalid();
    const kind = record.kind;
    if (rules.login && (opts.user === undefined || opts.user !== record.login)) throw await invalid();
    if (rules.collections === 'owns' && !record.collections.length) throw await invalid();
    const grant: KeyGrant = {
      keyId: record.id,
      kind,
      scopes: record.scopes.filter(isScope),
      collectionIds: record.collections.map((c) => c.id),
    };
    if (opts.scope !== undefined) checkScope(grant, opts.scope);
    return grant;
  }

  /**
   * A new collection of this name, added to the key's grant (after its others); COLLECTION_EXISTS when the
   * name is taken. Takes effect at once in this process.
   */
  async createCollectionFor(keyId: number, name: string, attributes: Record<string, unknown> = {}): Promise<Collection> {
    try {
      const collection = await this.db.transaction(async (tx) => {
        const c = await createCollection(tx, { name, attributes });
        await addApiKeyCollection(tx, keyId, c.id);
        return c;
      });
      return collection;
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('COLLECTION_EXISTS', `collection ${name} already exists`, { collection: name });
      throw err;
    } finally {
      this.cache.clear();
    }
  }

  /** Forgets cached grants (after a change of some key's collections, e.g. a collection deleted). */
  forgetGrants(): void {
    this.cache.clear();
  }

  /** An OAuth2 client's id and secret, checked (the token endpoint of a dialect that issues bearer tokens). */
  verifyClientSecret(clientId: string, secret: string, kinds: readonly KeyKind[], client?: string): Promise<KeyGrant> {
    return this.authenticate(secret, kinds, { user: clientId, client });
  }

  /** The id of a collection the grant may see, by name; COLLECTION_NOT_FOUND for any other name. */
  async collectionByName(grant: KeyGrant, name: string, q: Queryable = this.db): Promise<number> {
    const c = await getCollectionByName(q, name);
    if (!c || !grant.collectionIds.includes(c.id)) throw new DomainError('COLLECTION_NOT_FOUND', `no collection "${name}"`, { collection: name });
    return c.id;
  }

  private async lookup(secret: string): Promise<ApiKey | undefined> {
    const id = hashSecret(secret).toString('hex');
    const cached = this.cache.get(id);
    if (cached && cached.until > Date.now()) return cached.record;
    let record: ApiKey | undefined;
    try {
      this.opts.onLookup?.();
      record = await findActiveApiKey(this.db, secret);
    } catch (err) {
      // The database cannot be reached: a key this process verified before goes on working meanwhile, so
      // recognition rides out the outage (revoking needs the database too; one revoked on another instance in
      // the last moments before the outage is refused again once the database answers).
      if (cached && isDomainError(err, 'UNAVAILABLE')) return cached.record;
      throw err;
    }
    if (record) {
      if (this.cache.size > 10_000) this.cache.clear(); // bounded: keys are few, presented junk is not cached
      this.cache.set(id, { record, until: Date.now() + KEY_CACHE_MS });
    } else {
      this.cache.delete(id);
    }
    return record;
  }
}

function keyInvalid(kinds: readonly KeyKind[]): DomainError {
  return new DomainError('KEY_INVALID', `no active ${kinds.join(' or ')} key with these credentials`, { kinds });
}

/** FORBIDDEN unless the grant has the scope. */
export function checkScope(grant: KeyGrant, scope: Scope): void {
  if (!grant.scopes.includes(scope)) throw new DomainError('FORBIDDEN', `this key may not ${scope} (its scopes: ${grant.scopes.join(', ') || 'none'})`, { scope });
}

/**
 * COLLECTION_NOT_FOUND unless the grant may see the collection. Not FORBIDDEN: a key must not learn which
 * collections exist beyond its own (one tenant probing another's gallery names or ids), so a collection it may
 * not see answers exactly as one that does not exist.
 */
export function checkCollection(grant: KeyGrant, collectionId: number, asked: string | number = collectionId): void {
  if (!grant.collectionIds.includes(collectionId)) throw new DomainError('COLLECTION_NOT_FOUND', `no collection "${asked}"`, { collection: asked });
}

function describe(k: ApiKey): KeyInfo {
  return {
    id: k.id,
    prefix: k.prefix,
    kind: k.kind,
    user: k.login,
    name: k.name,
    scopes: k.scopes.filter(isScope),
    collections: k.collections.map((c) => c.name),
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  };
}
