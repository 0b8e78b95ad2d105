// Secrets the server makes for itself (migration 0009): created on first use, the same for every instance on
// one database and across restarts.
import crypto from 'node:crypto';
import type { Queryable } from './db';

/** The secret of this name, made (32 random bytes) when absent; safe when two instances race. */
export async function serverSecret(q: Queryable, name: string): Promise<Buffer> {
  await q.query(`INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, crypto.randomBytes(32)]);
  const r = await q.query<{ secret: Buffer }>(`SELECT secret FROM server_secrets WHERE name = $1`, [name]);
  return r.rows[0].secret;
}
