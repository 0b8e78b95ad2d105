// API keys and the collections each may see, stored with the sha-256 of their secret only: the secret is shown
// once, when created. (A fast unsalted hash is enough because every secret is generated here with 122 or more
// random bits: nobody can search that space, so the slow salted hashes passwords need buy nothing, and a
// lookup stays one indexed equality per request.)
import crypto from 'node:crypto';
import type { Queryable } from './db';

export interface ApiKey {
  id: number;
  /** The first characters of the secret, for listing and revoking. */
  prefix: string;
  name: string | null;
  kind: string;
  /** The public half of a two-part credential (a Basic user name, an OAuth2 client id); null otherwise. */
  login: string | null;
  scopes: string[];
  /** In grant order: the first is the key's default. */
  collections: { id: number; name: string }[];
  createdAt: Date;
  revokedAt: Date | null;
}

export interface NewApiKey {
  kind: string;
  secret: string;
  login?: string | null;
  name?: string | null;
  scopes: readonly string[];
  /** In grant order: the first is the key's default. */
  collectionIds: readonly number[];
}

export const KEY_PREFIX_LENGTH = 8;

// One row per key with its collections in grant order (json keeps the ids numbers on both drivers).
const SELECT = `
  SELECT k.id, k.prefix, k.name, k.kind, k.login, k.scopes, k.created_at, k.revoked_at,
         coalesce((SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY kc.position)
                     FROM api_key_collections kc JOIN collections c ON c.id = kc.collection_id
                    WHERE kc.key_id = k.id), '[]') AS collections
    FROM api_keys k`;

interface ApiKeyRow {
  id: number;
  prefix: string;
  name: string | null;
  kind: string;
  login: string | null;
  scopes: string[];
  collections: { id: number; name: string }[] | string;
  created_at: Date;
  revoked_at: Date | null;
}

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  prefix: r.prefix,
  name: r.name,
  kind: r.kind,
  login: r.login,
  scopes: r.scopes,
  collections: typeof r.collections === 'string' ? JSON.parse(r.collections) : r.collections,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export function hashSecret(secret: string): Buffer {
  return crypto.createHash('sha256').update(secret, 'utf8').digest();
}

/** Stores a new key and its collections (run it in a transaction); the secret itself is not kept. */
export async function insertApiKey(q: Queryable, k: NewApiKey): Promise<ApiKey> {
  const r = await q.query<{ id: number }>(
    `INSERT INTO api_keys (key_hash, prefix, name, kind, login, scopes) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [hashSecret(k.secret), k.secret.slice(0, KEY_PREFIX_LENGTH), k.name ?? null, k.kind, k.login ?? null, [...k.scopes]],
  );
  const id = r.rows[0].id;
  for (const [position, collectionId] of k.collectionIds.entries()) {
    await q.query(`INSERT INTO api_key_collections (key_id, collection_id, position) VALUES ($1, $2, $3)`, [id, collectionId, position]);
  }
  return (await getApiKey(q, id))!;
}

/** Adds a collection to a key's grant, after its others (run it in a transaction). */
export async function addApiKeyCollection(q: Queryable, keyId: number, collectionId: number): Promise<void> {
  await q.query(
    `INSERT INTO api_key_collections (key_id, collection_id, position)
     SELECT $1, $2, coalesce(max(position) + 1, 0) FROM api_key_collections WHERE key_id = $1
     ON CONFLICT DO NOTHING`,
    [keyId, collectionId],
  );
}

export async function getApiKey(q: Queryable, id: number): Promise<ApiKey | undefined> {
  const r = await q.query<ApiKeyRow>(`${SELECT} WHERE k.id = $1`, [id]);
  return r.rows[0] && toApiKey(r.rows[0]);
}

/** The active (not revoked) key whose secret this is, or undefined. */
export async function findActiveApiKey(q: Queryable, secret: string): Promise<ApiKey | undefined> {
  const r = await q.query<ApiKeyRow>(`${SELECT} WHERE k.key_hash = $1 AND k.revoked_at IS NULL`, [hashSecret(secret)]);
  return r.rows[0] && toApiKey(r.rows[0]);
}

/** Whether an active key of this kind already uses this login. */
export async function loginTaken(q: Queryable, kind: string, login: string): Promise<boolean> {
  const r = await q.query(`SELECT 1 FROM api_keys WHERE kind = $1 AND login = $2 AND revoked_at IS NULL`, [kind, login]);
  return r.rows.length > 0;
}

export async function listApiKeys(q: Queryable, opts: { includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
  const where = opts.includeRevoked ? '' : 'WHERE k.revoked_at IS NULL';
  const r = await q.query<ApiKeyRow>(`${SELECT} ${where} ORDER BY k.id`);
  return r.rows.map(toApiKey);
}

/**
 * Revokes the key given by its whole secret, or by its listed prefix or login when exactly one active key has
 * it. Returns the revoked keys (empty when nothing matched, or a prefix or login was ambiguous).
 */
export async function revokeApiKey(q: Queryable, secretPrefixOrLogin: string): Promise<ApiKey[]> {
  const exact = await q.query<{ id: number }>(`UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1 AND revoked_at IS NULL RETURNING id`, [
    hashSecret(secretPrefixOrLogin),
  ]);
  let ids = exact.rows.map((row) => row.id);
  if (!ids.length) {
    const named = await q.query<{ id: number }>(`SELECT id FROM api_keys WHERE (prefix = $1 OR login = $1) AND revoked_at IS NULL`, [secretPrefixOrLogin]);
    if (named.rows.length !== 1) return [];
    ids = [named.rows[0].id];
    await q.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, ids);
  }
  const revoked: ApiKey[] = [];
  for (const id of ids) revoked.push((await getApiKey(q, id))!);
  return revoked;
}
