// Deletes recognition events older than HISTORY_RETENTION_DAYS, once at start and then every hour; in the same
// pass, the failed-authentication counts past their window or block (src/store/auth-failures.ts), whatever the
// setting.
import { deleteExpiredAuthFailures } from './auth-failures';
import type { Db } from './db';
import { deleteEventsOlderThan } from './events';

export class RetentionJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly db: Db,
    private readonly days: number,
    private readonly onResult: (deleted: number, err?: Error) => void = () => {},
    private readonly intervalMs = 3_600_000,
  ) {}

  /** Runs one pass now and schedules the next ones (retention 0 keeps every event). */
  start(): void {
    if (this.timer) return;
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass; resolves to the events deleted. Concurrent calls share the pass in progress. */
  runOnce(): Promise<number> {
    this.running ??= deleteExpiredAuthFailures(this.db)
      .then(() => deleteEventsOlderThan(this.db, this.days))
      .then(
        (n) => {
          this.onResult(n);
          return n;
        },
        (err: Error) => {
          this.onResult(0, err);
          return 0;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
