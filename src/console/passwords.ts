// Operator passwords, hashed with scrypt (node:crypto): a random salt per password, parameters stored with the
// hash so they can be raised later without invalidating old hashes. ~100 ms and 16 MiB per check here, which
// is what makes guessing slow; sign-in attempts are throttled on top (sign-in.ts).
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

const LOG2_N = 14;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
/** The memory scrypt may use: 128 * N * r bytes, with room to spare. */
const MAX_MEMORY = 64 * 1024 * 1024;

export const MIN_PASSWORD_LENGTH = 10;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, KEY_BYTES, { N: 2 ** LOG2_N, r: R, p: P, maxmem: MAX_MEMORY });
  return `scrypt$${LOG2_N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether the password matches the stored hash (constant-time compare); false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const [log2n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (log2n > 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(m[5], 'base64');
  const actual = await scrypt(password, Buffer.from(m[4], 'base64'), expected.length, { N: 2 ** log2n, r, p, maxmem: 256 * 1024 * 1024 });
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

/** A reason the password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'a password has at most 1024 characters';
  return undefined;
}
