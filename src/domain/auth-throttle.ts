// Failed-authentication throttle per client address. Every credential a client presents is checked by
// KeyService.authenticate, which asks this first: an address that has failed `failures` times within
// `windowSeconds` is refused with AUTH_THROTTLED for `blockSeconds`, before any cache or database read, so a flood
// of bad keys costs neither database work queued ahead of other clients' nor a brute-force guesser more than
// `failures` tries per block.
//
// Where the failures are counted: on the embedded store (one process) in memory (rate-limiter-flexible's
// RateLimiterMemory). Over PostgreSQL (`shared`), where several instances may serve behind one balancer, in the
// database (src/store/auth-failures.ts, one upsert per failed attempt), so the instances together allow
// `failures` per block, not each of them. check() stays memory-only there too: an instance learns of a block
// when one of its failed attempts' write answers that the address is blocked (the write that reaches the limit,
// or the next failure it sees after another instance's did), and then refuses the address locally until the
// shared block's end (Retry-After is the block's rest). So N instances allow at most failures + N - 1 attempts
// per block. Successes cost the throttle nothing. Should the write fail (the database unreachable, or any
// error), the failure is counted in memory instead, as on the embedded store: the client gets its ordinary
// answer, never a database error from the throttle, and each instance then allows `failures` on its own until
// the database answers again.
//
// While an address is blocked, every attempt from it is refused, valid keys included. The usual rule, and the only
// one that slows a guesser: were a valid key let through, a guess that hits would still answer 200, so guessing
// would go on at full speed (and each guess would still need its database read to be told apart). Successes do not
// reset the count either, or a guesser holding one valid key could interleave it with guesses.
//
// The address is the HTTP layer's clientAddress: the socket's peer, or behind a reverse proxy listed in
// TRUSTED_PROXIES the client it forwards in X-Forwarded-For. Behind a proxy not listed there every client has the
// proxy's address, so one client's failures would block all: list the proxy in TRUSTED_PROXIES.
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { recordAuthFailure } from '../store/auth-failures';
import type { Queryable } from '../store/db';
import { DomainError } from './errors';

export interface AuthThrottleOptions {
  /** Failed attempts an address may make within windowSeconds; the next ones are refused. 0: no throttle. */
  failures: number;
  windowSeconds: number;
  /** How long an address is refused once it reached `failures`. */
  blockSeconds: number;
  /** An attempt refused because its address is blocked. */
  onThrottled?: (client: string) => void;
  /** An address blocked (once per block: by the instance whose failure reached the limit). */
  onBlocked?: (client: string, failures: number, blockSeconds: number) => void;
  /** The database the instances share (PostgreSQL); without it, failures are counted in this process. */
  shared?: Queryable;
  /**
   * A shared count failed to be written (the failure was counted in memory instead): reported once, then again
   * only after a write succeeded in between.
   */
  onSharedError?: (err: unknown) => void;
}

/**
 * What a client address is counted under: an IPv4 address as itself (IPv4-mapped IPv6 included), an IPv6 address
 * by its /64 (one subscriber's prefix: its host part is the client's to choose, so counting each address alone
 * would let one client rotate through 2^64 of them).
 */
export function throttleKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.process(address); // an IPv4-mapped IPv6 address as IPv4
  if (ip.kind() === 'ipv4') return ip.toString();
  return `${(ip as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}

export class AuthThrottle {
  /** This process's blocks (and, without `shared` or while its writes fail, its counts). */
  private readonly limiter: RateLimiterMemory | undefined;
  private sharedFailing = false;

  constructor(private readonly opts: AuthThrottleOptions) {
    this.limiter =
      opts.failures > 0 ? new RateLimiterMemory({ keyPrefix: 'auth-failures', points: opts.failures, duration: opts.windowSeconds }) : undefined;
  }

  get enabled(): boolean {
    return this.limiter !== undefined;
  }

  /** AUTH_THROTTLED when the address is blocked (memory only: no database read). */
  async check(client: string): Promise<void> {
    if (!this.limiter) return;
    const res = await this.limiter.get(throttleKey(client));
    if (!res || res.consumedPoints <= this.opts.failures) return;
    this.opts.onThrottled?.(client);
    const retryAfterSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    throw new DomainError('AUTH_THROTTLED', `too many failed authentication attempts from this address: try again in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }

  /** A failed attempt from the address; the one that reaches the limit blocks it for blockSeconds. */
  async failed(client: string): Promise<void> {
    if (!this.limiter) return;
    const key = throttleKey(client);
    if (this.opts.shared && (await this.failedShared(this.limiter, key))) return;
    const res = await this.limiter.penalty(key, 1);
    // Exactly at the limit (attempts in flight when the block starts count on without extending it).
    if (res.consumedPoints === this.opts.failures) {
      await this.limiter.block(key, this.opts.blockSeconds);
      this.opts.onBlocked?.(key, this.opts.failures, this.opts.blockSeconds);
    }
  }

  /** Counts the failure in the shared database; false when the write failed (count it in memory). */
  private async failedShared(limiter: RateLimiterMemory, key: string): Promise<boolean> {
    let count;
    try {
      count = await recordAuthFailure(this.opts.shared!, key, this.opts);
    } catch (err) {
      if (!this.sharedFailing) this.opts.onSharedError?.(err);
      this.sharedFailing = true;
      return false;
    }
    this.sharedFailing = false;
    // Blocked: refuse it here until the shared block's end (a duration of 0 would block for ever).
    if (count.blocked && count.msLeft > 0) {
      await limiter.block(key, count.msLeft / 1000);
      if (count.failures === this.opts.failures) this.opts.onBlocked?.(key, this.opts.failures, this.opts.blockSeconds);
    }
    return true;
  }
}
