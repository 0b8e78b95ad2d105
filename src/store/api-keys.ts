// API keys, stored as their sha256 only. The key is shown once, when created.
import crypto from 'node:crypto';
import type { Queryable } from './db';

export interface ApiKey {
  id: number;
  prefix: string;
  name: string | null;
  service: string;
  scopes: string[];
  /** The collection a recognition key owns. */
  collectionId: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface NewApiKey {
  service: string;
  collectionId?: number | null;
  name?: string | null;
  scopes?: string[];
  /** The key itself; a random UUID (CompreFace's key format) when omitted. */
  key?: string;
}

export const KEY_PREFIX_LENGTH = 8;

const COLUMNS = 'id, prefix, name, service, scopes, collection_id, created_at, revoked_at';

interface ApiKeyRow {
  id: number;
  prefix: string;
  name: string | null;
  service: string;
  scopes: string[];
  collection_id: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  prefix: r.prefix,
  name: r.name,
  service: r.service,
  scopes: r.scopes,
  collectionId: r.collection_id,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export function hashApiKey(key: string): Buffer {
  return crypto.createHash('sha256').update(key, 'utf8').digest();
}

/** Stores a new key and returns it with its record; the plain key is not kept anywhere. */
export async function createApiKey(q: Queryable, k: NewApiKey): Promise<{ key: string; record: ApiKey }> {
  const key = k.key ?? crypto.randomUUID();
  const r = await q.query<ApiKeyRow>(
    `INSERT INTO api_keys (key_hash, prefix, name, service, scopes, collection_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [hashApiKey(key), key.slice(0, KEY_PREFIX_LENGTH), k.name ?? null, k.service, k.scopes ?? [], k.collectionId ?? null],
  );
  return { key, record: toApiKey(r.rows[0]) };
}

/** The active (not revoked) key record for a presented key, or undefined. */
export async function findActiveApiKey(q: Queryable, key: string): Promise<ApiKey | undefined> {
  const r = await q.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hashApiKey(key)]);
  return r.rows[0] && toApiKey(r.rows[0]);
}

export async function listApiKeys(q: Queryable, opts: { includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
  const where = opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL';
  const r = await q.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys ${where} ORDER BY id`);
  return r.rows.map(toApiKey);
}

/**
 * Revokes the key given in full, or by its listed prefix when exactly one active key has that prefix.
 * Returns the revoked keys' records (empty when nothing matched, or a prefix was ambiguous).
 */
export async function revokeApiKey(q: Queryable, keyOrPrefix: string): Promise<ApiKey[]> {
  const exact = await q.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
    [hashApiKey(keyOrPrefix)],
  );
  if (exact.rowCount > 0) return exact.rows.map(toApiKey);
  const byPrefix = await q.query<{ id: number }>(`SELECT id FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL`, [keyOrPrefix]);
  if (byPrefix.rows.length !== 1) return [];
  const r = await q.query<ApiKeyRow>(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [byPrefix.rows[0].id]);
  return r.rows.map(toApiKey);
}
