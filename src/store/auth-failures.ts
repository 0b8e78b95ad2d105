// Failed key attempts per client address in the shared database (migrations/0014_auth_failures.sql), for the
// failed-authentication throttle of several instances over one PostgreSQL (src/domain/auth-throttle.ts).
//
// One statement per failure, INSERT ... ON CONFLICT DO UPDATE ... RETURNING, rather than rate-limiter-flexible's
// RateLimiterPostgres (11.x), which does not fit: its counting upsert and its block are two statements; its
// expiry times come from each instance's clock (Date.now()), so instances whose clocks differ disagree on when a
// window or block ends; its in-memory block lasts either the counting window (inMemoryBlockOnConsumed alone:
// the stored block is then never written) or a fixed inMemoryBlockDuration from when an instance learnt of the
// block (so a Retry-After not the shared block's end); and it speaks node-postgres query objects with named
// statements, not our Db (src/store/db.ts). Here the database's clock decides every time, and the answer says
// how long the block has left.
import type { Queryable } from './db';

export interface AuthFailureLimits {
  /** Failures within windowSeconds that block the address (at least 1). */
  failures: number;
  windowSeconds: number;
  blockSeconds: number;
}

export interface AuthFailureCount {
  /** Failures counted in the address's current window (including those made while blocked). */
  failures: number;
  /** Whether the address is blocked now. */
  blocked: boolean;
  /** Milliseconds left of the block (blocked) or of the counting window, by the database's clock. */
  msLeft: number;
}

/**
 * Counts one failed attempt from `address`; the failure that brings its count to `failures` within the window
 * blocks it for `blockSeconds` (later failures while blocked are counted without extending the block). A row
 * past its end starts afresh, so a block that ends also ends its count.
 */
export async function recordAuthFailure(q: Queryable, address: string, limits: AuthFailureLimits): Promise<AuthFailureCount> {
  const r = await q.query<{ failures: number; blocked: boolean; ms_left: number }>(
    `INSERT INTO auth_failures AS f (address, failures, blocked, expires_at)
       VALUES ($1, 1, $2::int <= 1, now() + make_interval(secs => CASE WHEN $2::int <= 1 THEN $4::float8 ELSE $3::float8 END))
     ON CONFLICT (address) DO UPDATE SET
       failures = CASE WHEN f.expires_at <= now() THEN EXCLUDED.failures ELSE f.failures + 1 END,
       blocked = CASE WHEN f.expires_at <= now() THEN EXCLUDED.blocked ELSE f.blocked OR f.failures + 1 >= $2::int END,
       expires_at = CASE
         WHEN f.expires_at <= now() THEN EXCLUDED.expires_at
         WHEN NOT f.blocked AND f.failures + 1 >= $2::int THEN now() + make_interval(secs => $4::float8)
         ELSE f.expires_at
       END
     RETURNING failures, blocked, greatest(0, extract(epoch FROM expires_at - now()) * 1000)::float8 AS ms_left`,
    [address, limits.failures, limits.windowSeconds, limits.blockSeconds],
  );
  const row = r.rows[0];
  return { failures: row.failures, blocked: row.blocked, msLeft: row.ms_left };
}

/** Deletes the rows past their window or block (dead: see recordAuthFailure); returns how many. */
export async function deleteExpiredAuthFailures(q: Queryable): Promise<number> {
  return (await q.query(`DELETE FROM auth_failures WHERE expires_at <= now()`)).rowCount;
}
