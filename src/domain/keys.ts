// API keys: each belongs to one service; a recognition key owns one face collection. Keys are stored as hashes
// (src/store/api-keys.ts); the plain key is returned once, at creation.
import crypto from 'node:crypto';
import type { Db } from '../store/db';
import { createApiKey, findActiveApiKey, hashApiKey, listApiKeys, revokeApiKey, type ApiKey } from '../store/api-keys';
import { ensureCollection, getCollection } from '../store/collections';
import { DomainError } from './errors';

/** What a request authenticated with a key may use. */
export interface KeyGrant {
  keyId: number;
  service: string;
  /** The collection a recognition key owns; null for other services. */
  collectionId: number | null;
}

export interface KeyInfo {
  id: number;
  prefix: string;
  service: string;
  collection: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

/**
 * How long a successful key lookup is reused. Revoking through this process takes effect at once; a
 * revocation by another process (the CLI, another instance) within this time.
 */
export const KEY_CACHE_MS = 2000;

export class KeyService {
  /** sha-256 of a presented key -> its record, for KEY_CACHE_MS (one database read less per request). */
  private readonly cache = new Map<string, { record: ApiKey; until: number }>();

  constructor(private readonly db: Db) {}

  /** Creates a key for a service; a recognition key gets (or shares) the named collection. */
  async create(service: string, opts: { collection?: string; name?: string } = {}): Promise<{ key: string; info: KeyInfo }> {
    if (!/^[a-z][a-z0-9_-]*$/.test(service)) throw new DomainError('INVALID_ARGUMENT', `bad service name "${service}"`);
    const key = crypto.randomUUID();
    return this.db.transaction(async (tx) => {
      let collectionId: number | null = null;
      if (service === 'recognition') {
        const name = opts.collection ?? `recognition-${key.slice(0, 8)}`;
        collectionId = (await ensureCollection(tx, { name })).id;
      } else if (opts.collection !== undefined) {
        throw new DomainError('INVALID_ARGUMENT', 'only recognition keys own a collection');
      }
      const { record } = await createApiKey(tx, { key, service, collectionId, name: opts.name ?? null });
      return { key, info: await this.describe(record, tx) };
    });
  }

  async list(opts: { includeRevoked?: boolean } = {}): Promise<KeyInfo[]> {
    const keys = await listApiKeys(this.db, opts);
    return Promise.all(keys.map((k) => this.describe(k)));
  }

  /** Revokes a key given in full or by its listed prefix; returns what was revoked (empty: nothing matched). */
  async revoke(keyOrPrefix: string): Promise<KeyInfo[]> {
    const revoked = await revokeApiKey(this.db, keyOrPrefix);
    this.cache.clear();
    return Promise.all(revoked.map((k) => this.describe(k)));
  }

  /** The grant of an active key for one of the given services; KEY_INVALID otherwise. */
  async authenticate(key: string, services: readonly string[]): Promise<KeyGrant> {
    const record = await this.lookup(key);
    if (!record || !services.includes(record.service) || (record.service === 'recognition' && record.collectionId === null)) {
      throw new DomainError('KEY_INVALID', `${services[0]} service with API Key ${key} not found`, { service: services[0] });
    }
    return { keyId: record.id, service: record.service, collectionId: record.collectionId };
  }

  private async lookup(key: string): Promise<ApiKey | undefined> {
    const id = hashApiKey(key).toString('hex');
    const cached = this.cache.get(id);
    if (cached && cached.until > Date.now()) return cached.record;
    const record = await findActiveApiKey(this.db, key);
    if (record) {
      if (this.cache.size > 10_000) this.cache.clear(); // bounded: keys are few, presented junk is not cached
      this.cache.set(id, { record, until: Date.now() + KEY_CACHE_MS });
    } else {
      this.cache.delete(id);
    }
    return record;
  }

  private async describe(k: ApiKey, q: Pick<Db, 'query'> = this.db): Promise<KeyInfo> {
    const collection = k.collectionId === null ? undefined : await getCollection(q as Db, k.collectionId);
    return { id: k.id, prefix: k.prefix, service: k.service, collection: collection?.name ?? null, createdAt: k.createdAt, revokedAt: k.revokedAt };
  }
}
