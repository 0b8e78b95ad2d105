// Deletes scans older than SCANS_RETENTION_DAYS (their photos go with them), once at start and then every hour.
import type { Db } from '../../store/db';
import { deleteScansOlderThan } from '../../store/scans';

export class ScanRetention {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly db: Db,
    private readonly days: number,
    private readonly onResult: (deleted: number, err?: Error) => void = () => {},
    private readonly intervalMs = 3_600_000,
  ) {}

  /** Runs one pass now and schedules the next ones; does nothing when retention is 0 (keep everything). */
  start(): void {
    if (this.days <= 0 || this.timer) return;
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass; concurrent calls share the pass in progress. */
  runOnce(): Promise<number> {
    this.running ??= deleteScansOlderThan(this.db, this.days)
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
