// Failed-authentication throttle per client address (rate-limiter-flexible's RateLimiterMemory). Every credential
// a client presents is checked by KeyService.authenticate, which asks this first: an address that has failed
// `failures` times within `windowSeconds` is refused with AUTH_THROTTLED for `blockSeconds`, before any cache or
// database read, so a flood of bad keys costs neither database work queued ahead of other clients' nor a brute-force
// guesser more than `failures` tries per block.
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
import { DomainError } from './errors';

export interface AuthThrottleOptions {
  /** Failed attempts an address may make within windowSeconds; the next ones are refused. 0: no throttle. */
  failures: number;
  windowSeconds: number;
  /** How long an address is refused once it reached `failures`. */
  blockSeconds: number;
  /** An attempt refused because its address is blocked. */
  onThrottled?: (client: string) => void;
  /** An address blocked (once per block). */
  onBlocked?: (client: string, failures: number, blockSeconds: number) => void;
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
  private readonly limiter: RateLimiterMemory | undefined;

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
    const res = await this.limiter.penalty(key, 1);
    // Exactly at the limit (attempts in flight when the block starts count on without extending it).
    if (res.consumedPoints === this.opts.failures) {
      await this.limiter.block(key, this.opts.blockSeconds);
      this.opts.onBlocked?.(key, this.opts.failures, this.opts.blockSeconds);
    }
  }
}
