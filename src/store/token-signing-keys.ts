// The key pair faceserver signs its own access tokens with (migrations/0011_scans.sql). One is made at first
// use and shared by every instance over the same database; the private key is read only by the token issuer.
import type { Queryable } from './db';

export interface TokenSigningKey {
  kid: string;
  algorithm: string;
  /** PKCS#8 PEM. */
  privateKey: string;
  publicJwk: Record<string, unknown>;
}

interface Row {
  kid: string;
  algorithm: string;
  private_key: string;
  public_jwk: Record<string, unknown> | string;
}

const toKey = (r: Row): TokenSigningKey => ({
  kid: r.kid,
  algorithm: r.algorithm,
  privateKey: r.private_key,
  publicJwk: typeof r.public_jwk === 'string' ? (JSON.parse(r.public_jwk) as Record<string, unknown>) : r.public_jwk,
});

/** The newest signing key, if any. */
export async function currentSigningKey(q: Queryable): Promise<TokenSigningKey | undefined> {
  const r = await q.query<Row>(`SELECT kid, algorithm, private_key, public_jwk FROM token_signing_keys ORDER BY created_at DESC, kid LIMIT 1`);
  return r.rows[0] && toKey(r.rows[0]);
}

/**
 * The newest signing key; when there is none, `make()`'s key is stored first. Two instances starting together
 * may both store one: both then use the newest (re-read after the insert), and tokens signed with the other
 * stay verifiable through allSigningKeys.
 */
export async function ensureSigningKey(q: Queryable, make: () => Promise<TokenSigningKey>): Promise<TokenSigningKey> {
  const existing = await currentSigningKey(q);
  if (existing) return existing;
  const k = await make();
  await q.query(`INSERT INTO token_signing_keys (kid, algorithm, private_key, public_jwk) VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING`, [
    k.kid,
    k.algorithm,
    k.privateKey,
    JSON.stringify(k.publicJwk),
  ]);
  return (await currentSigningKey(q))!;
}

/** Every stored key's public JWK (verification accepts tokens of any of them). */
export async function allSigningKeys(q: Queryable): Promise<Record<string, unknown>[]> {
  const r = await q.query<Pick<Row, 'public_jwk'>>(`SELECT public_jwk FROM token_signing_keys ORDER BY created_at DESC, kid`);
  return r.rows.map((row) => (typeof row.public_jwk === 'string' ? (JSON.parse(row.public_jwk) as Record<string, unknown>) : row.public_jwk));
}
