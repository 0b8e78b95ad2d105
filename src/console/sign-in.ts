// Sign-in throttling, in memory: a guesser gets MAX_PER_CLIENT wrong tries per user name from one address and
// MAX_PER_USER from everywhere within WINDOW_MS, then waits out the window. The address is clientAddress: behind
// a proxy listed in TRUSTED_PROXIES the client it forwards; behind any other proxy every caller has the proxy's
// address, so the per-user limit is what holds. The admin secret (256 random bits) is throttled like a user
// called "admin".
import { ConsoleError } from './errors';

const WINDOW_MS = 15 * 60_000;
const MAX_PER_CLIENT = 5;
const MAX_PER_USER = 20;

interface Failures {
  count: number;
  since: number;
}

export class SignInThrottle {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** TOO_MANY_ATTEMPTS when this user or this client + user has failed too often lately. */
  check(address: string, user: string): void {
    const wait = Math.max(this.blocked(`user:${user}`, MAX_PER_USER), this.blocked(`client:${address}:${user}`, MAX_PER_CLIENT));
    if (wait > 0) {
      const retryAfterSeconds = Math.ceil(wait / 1000);
      throw new ConsoleError('TOO_MANY_ATTEMPTS', `too many failed sign-ins: try again in ${Math.ceil(retryAfterSeconds / 60)} min`, { retryAfterSeconds });
    }
  }

  failed(address: string, user: string): void {
    for (const key of [`user:${user}`, `client:${address}:${user}`]) {
      const f = this.current(key);
      this.failures.set(key, { count: (f?.count ?? 0) + 1, since: f?.since ?? this.now() });
    }
    if (this.failures.size > 10_000) this.prune();
  }

  succeeded(address: string, user: string): void {
    this.failures.delete(`client:${address}:${user}`);
  }

  private blocked(key: string, max: number): number {
    const f = this.current(key);
    return f && f.count >= max ? f.since + WINDOW_MS - this.now() : 0;
  }

  private current(key: string): Failures | undefined {
    const f = this.failures.get(key);
    if (f && f.since + WINDOW_MS <= this.now()) {
      this.failures.delete(key);
      return undefined;
    }
    return f;
  }

  private prune(): void {
    for (const key of [...this.failures.keys()]) this.current(key);
  }
}
