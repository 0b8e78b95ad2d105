// Operator accounts and sign-in sessions (migrations/0012_console.sql). A session is a random 256-bit token
// in an HttpOnly cookie; the table keeps only its sha-256. The CSRF token is derived from the session token
// (HMAC), so it needs no storage and is worthless without the cookie.
import crypto from 'node:crypto';
import type { Db, Queryable } from '../store/db';
import { isUniqueViolation } from '../store/persons';
import { DomainError } from '../domain/errors';
import { hashPassword, passwordProblem, verifyPassword } from './passwords';

export const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface Operator {
  id: number;
  username: string;
  createdAt: Date;
}

export interface Session {
  /** null: signed in with the admin secret. */
  operatorId: number | null;
  /** Shown in the console: the operator's name, or "admin". */
  user: string;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
  csrfToken: string;
}

export interface SessionTimes {
  idleMs: number;
  maxMs: number;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest();

export function csrfTokenOf(sessionToken: string): string {
  return crypto.createHmac('sha256', sessionToken).update('faceserver console csrf').digest('base64url');
}

export class OperatorAccounts {
  constructor(private readonly db: Queryable) {}

  async create(username: string, password: string): Promise<Operator> {
    checkUsername(username);
    checkPassword(password);
    try {
      const r = await this.db.query<{ id: number; username: string; created_at: Date }>(
        `INSERT INTO console_operators (username, password_hash) VALUES ($1, $2) RETURNING id, username, created_at`,
        [username, await hashPassword(password)],
      );
      return toOperator(r.rows[0]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('INVALID_ARGUMENT', `an operator "${username}" exists`, { param: 'username', value: username });
      throw err;
    }
  }

  async setPassword(username: string, password: string): Promise<void> {
    checkPassword(password);
    const r = await this.db.query(`UPDATE console_operators SET password_hash = $2 WHERE username = $1`, [username, await hashPassword(password)]);
    if (!r.rowCount) throw new DomainError('INVALID_ARGUMENT', `no operator "${username}"`, { param: 'username', value: username });
    // A new password ends the sessions opened with the old one.
    await this.db.query(`DELETE FROM console_sessions WHERE operator_id = (SELECT id FROM console_operators WHERE username = $1)`, [username]);
  }

  async list(): Promise<Operator[]> {
    const r = await this.db.query<{ id: number; username: string; created_at: Date }>(`SELECT id, username, created_at FROM console_operators ORDER BY username`);
    return r.rows.map(toOperator);
  }

  /** Removes the operator (and, by cascade, the operator's sessions); false when there was none. */
  async remove(username: string): Promise<boolean> {
    const r = await this.db.query(`DELETE FROM console_operators WHERE username = $1`, [username]);
    return r.rowCount > 0;
  }

  /** The operator whose password this is, or undefined (a missing user costs the same scrypt as a wrong password). */
  async verify(username: string, password: string): Promise<Operator | undefined> {
    const r = await this.db.query<{ id: number; username: string; created_at: Date; password_hash: string }>(
      `SELECT id, username, created_at, password_hash FROM console_operators WHERE username = $1`,
      [username],
    );
    const row = r.rows[0];
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
    return row && ok ? toOperator(row) : undefined;
  }
}

/** A valid hash of no one's password: checked when the user does not exist, so timing does not tell. */
const DUMMY_HASH = 'scrypt$14$8$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function checkUsername(username: string): void {
  if (!USERNAME_RE.test(username)) {
    throw new DomainError('INVALID_ARGUMENT', 'a user name is 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit', { param: 'username', value: username });
  }
}

function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new DomainError('INVALID_ARGUMENT', problem, { param: 'password' });
}

const toOperator = (r: { id: number; username: string; created_at: Date }): Operator => ({ id: r.id, username: r.username, createdAt: r.created_at });

interface SessionRow {
  operator_id: number | null;
  username: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

/** How stale last_seen_at may get before a request writes it again (fewer writes; idle time is coarse anyway). */
const TOUCH_AFTER_MS = 30_000;

export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly times: SessionTimes,
  ) {}

  /** A new session; returns the token for the cookie (shown to nobody else, stored only as its hash). */
  async open(operatorId: number | null): Promise<{ token: string; session: Session }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.db.query(`DELETE FROM console_sessions WHERE expires_at < now() OR last_seen_at < now() - make_interval(secs => $1)`, [this.times.idleMs / 1000]);
    await this.db.query(`INSERT INTO console_sessions (token_hash, operator_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`, [
      sha256(token),
      operatorId,
      new Date(now),
      new Date(now + this.times.maxMs),
    ]);
    return { token, session: (await this.find(token))! };
  }

  /** The live session of this token (its idle clock restarted), or undefined; an expired one is deleted. */
  async find(token: string): Promise<Session | undefined> {
    const hash = sha256(token);
    const r = await this.db.query<SessionRow>(
      `SELECT s.operator_id, o.username, s.created_at, s.last_seen_at, s.expires_at
         FROM console_sessions s LEFT JOIN console_operators o ON o.id = s.operator_id WHERE s.token_hash = $1`,
      [hash],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const now = Date.now();
    if (row.expires_at.getTime() <= now || row.last_seen_at.getTime() + this.times.idleMs <= now) {
      await this.db.query(`DELETE FROM console_sessions WHERE token_hash = $1`, [hash]);
      return undefined;
    }
    let lastSeen = row.last_seen_at;
    if (now - lastSeen.getTime() > TOUCH_AFTER_MS) {
      lastSeen = new Date(now);
      await this.db.query(`UPDATE console_sessions SET last_seen_at = $2 WHERE token_hash = $1`, [hash, lastSeen]);
    }
    return {
      operatorId: row.operator_id,
      user: row.operator_id === null ? 'admin' : (row.username ?? '?'),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      lastSeenAt: lastSeen,
      csrfToken: csrfTokenOf(token),
    };
  }

  async close(token: string): Promise<void> {
    await this.db.query(`DELETE FROM console_sessions WHERE token_hash = $1`, [sha256(token)]);
  }

  /** The idle deadline of a session seen now. */
  idleDeadline(s: Session): Date {
    return new Date(Math.min(s.expiresAt.getTime(), s.lastSeenAt.getTime() + this.times.idleMs));
  }
}
