// A flood of rejected requests must not become a flood of log lines (issue 18: 1.5 million malformed requests in
// four minutes wrote 550 MB of logs). Requests answered with an error status are logged up to a budget per
// second; the rest are counted, and one line per second says how many were left out, by status. Requests that
// succeed are always logged (their rate is bounded by what the server can do).
import type { Logger } from '../log';

export class LogBudget {
  private windowStart = 0;
  private used = 0;
  private suppressed = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    /** Error answers logged per second; 0: no limit. */
    private readonly perSecond: number,
  ) {}

  /** Whether a request answered with `status` is logged. */
  allow(status: number): boolean {
    if (status < 400 || !this.perSecond) return true;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.report();
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used < this.perSecond) {
      this.used++;
      return true;
    }
    this.suppressed.set(status, (this.suppressed.get(status) ?? 0) + 1);
    // Said at the end of the window even when no request follows.
    this.timer ??= setTimeout(() => this.report(), Math.max(1, this.windowStart + 1000 - now)).unref();
    return false;
  }

  private report(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.suppressed.size) return;
    const byStatus = Object.fromEntries(this.suppressed);
    const total = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
    this.suppressed = new Map();
    this.log.warn({ notLogged: total, byStatus, limitPerSecond: this.perSecond }, 'rejected requests not logged (log flood limit)');
  }

  close(): void {
    this.report();
  }
}
