// Recognition events written behind the response: write() queues them and one binary COPY writes a batch
// shortly after, so a request neither waits for nor pays a round trip of its own, and the database copies each
// probe embedding instead of parsing its text (26x less per event on the embedded store). None is dropped
// silently:
// - a full queue makes write() write its caller's events itself (the request waits: back-pressure);
// - a database that cannot be reached is retried with back-off, the events kept in the queue;
// - events that refer to a face, person, collection or camera deleted in the meantime are written with that
//   reference cleared, as ON DELETE SET NULL would have done had they been written first;
// - a row the database refuses outright is logged (request id, endpoint, SQLSTATE) and only then dropped;
// - close() writes what is queued; whatever it still cannot write by its deadline is logged as lost.
// flush() resolves once everything written before it is in the database (tests and shutdown await it).
// Logs carry counts, request ids and error codes only: never embeddings, boxes or database messages (which may
// quote a row's values).
import type { Db } from './db';
import { clearDeletedReferences, copyEvents, type NewRecognitionEvent } from './events';

/** Where the writer reports write failures (a pino logger fits). */
export interface EventLog {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface EventWriterOptions {
  log: EventLog;
  /** Most events one COPY writes. */
  batchSize?: number;
  /** How long a queued event waits for others to share its COPY. */
  delayMs?: number;
  /** Queued events beyond which write() writes its caller's events itself. */
  maxQueued?: number;
  /** Longest wait between retries while the database cannot be reached. */
  maxRetryDelayMs?: number;
  /** Told after each COPY that wrote events: how many, and how long it took (the /metrics figures). */
  onWritten?: (events: number, ms: number) => void;
  /** Told when the database refused an event outright and it was dropped (after the log line). */
  onDropped?: (events: number) => void;
  /** Told when a write failed for want of the database and will be retried. */
  onRetry?: () => void;
}

/** SQLSTATE classes of a statement the database refuses (bad data, constraint, bad SQL): retrying cannot help. */
const REFUSED = /^(22|23|42)/;
const FOREIGN_KEY_VIOLATION = '23503';

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** What of an error may be logged: codes and names, never a message that could quote row values. */
function describe(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; constraint?: unknown; table?: unknown; column?: unknown; message?: unknown };
  const state = sqlState(err);
  if (state) return { sqlState: state, constraint: e.constraint, table: e.table, column: e.column };
  return { code: e.code, message: typeof e.message === 'string' ? e.message.slice(0, 200) : String(err) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EventWriter {
  private readonly log: EventLog;
  private readonly batchSize: number;
  private readonly delayMs: number;
  private readonly maxQueued: number;
  private readonly maxRetryDelayMs: number;
  private readonly onWritten: (events: number, ms: number) => void;
  private readonly onDropped: (events: number) => void;
  private readonly onRetry: () => void;
  private queue: NewRecognitionEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closing = false;
  private giveUpAt = Infinity;

  constructor(
    private readonly db: Db,
    opts: EventWriterOptions,
  ) {
    this.log = opts.log;
    this.batchSize = opts.batchSize ?? 256;
    this.delayMs = opts.delayMs ?? 1000;
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 5_000;
    this.onWritten = opts.onWritten ?? (() => {});
    this.onDropped = opts.onDropped ?? (() => {});
    this.onRetry = opts.onRetry ?? (() => {});
  }

  /** copyEvents, timed for onWritten. */
  private async copy(events: NewRecognitionEvent[]): Promise<void> {
    const started = performance.now();
    await copyEvents(this.db, events);
    this.onWritten(events.length, performance.now() - started);
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues the events (a full queue or a closing writer writes them now, the caller waiting). */
  async write(events: NewRecognitionEvent[]): Promise<void> {
    if (!events.length) return;
    if (this.closing || this.queue.length + events.length > this.maxQueued) {
      await this.insertNow(events);
      return;
    }
    this.queue.push(...events);
    if (this.queue.length >= this.batchSize) void this.startDrain();
    else this.timer ??= setTimeout(() => void this.startDrain(), this.delayMs);
  }

  /** Resolves once every event written before the call is in the database (or logged as refused). */
  async flush(): Promise<void> {
    while (this.queue.length || this.draining) await this.startDrain();
  }

  /**
   * Writes what is queued, retrying until `timeoutMs` has passed; events still unwritten then are logged as lost.
   * Events written afterwards are written by their callers.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.giveUpAt = Date.now() + timeoutMs;
    await this.flush();
  }

  private startDrain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length && !this.timer) this.timer = setTimeout(() => void this.startDrain(), this.delayMs);
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    let retryDelayMs = 100;
    while (this.queue.length) {
      const batch = this.queue.slice(0, this.batchSize);
      try {
        await this.copy(batch);
        this.queue.splice(0, batch.length);
        retryDelayMs = 100;
        continue;
      } catch (err) {
        const state = sqlState(err);
        if (state === FOREIGN_KEY_VIOLATION) {
          this.queue.splice(0, batch.length, ...(await this.withoutDeletedReferences(batch)));
          continue;
        }
        if (state && REFUSED.test(state)) {
          await this.writeOneByOne(batch.length);
          continue;
        }
        if (Date.now() >= this.giveUpAt) return this.giveUp(err);
        this.log.warn({ err: describe(err), events: this.queue.length, retryInMs: retryDelayMs }, 'recognition events not written yet; will retry');
        this.onRetry();
        await sleep(Math.min(retryDelayMs, Math.max(0, this.giveUpAt - Date.now())));
        retryDelayMs = Math.min(retryDelayMs * 2, this.maxRetryDelayMs);
      }
    }
  }

  /** Written by the caller, now; a failure other than a deleted reference is the caller's error. */
  private async insertNow(events: NewRecognitionEvent[]): Promise<void> {
    try {
      await this.copy(events);
    } catch (err) {
      if (sqlState(err) !== FOREIGN_KEY_VIOLATION) throw err;
      await this.copy(await clearDeletedReferences(this.db, events));
    }
  }

  private async withoutDeletedReferences(batch: NewRecognitionEvent[]): Promise<NewRecognitionEvent[]> {
    try {
      return await clearDeletedReferences(this.db, batch);
    } catch {
      return batch; // the database is unreachable: the next insert fails and is retried
    }
  }

  /** A batch the database refused: each event alone, so one bad row cannot hold up the others. */
  private async writeOneByOne(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const [event] = await this.withoutDeletedReferences([this.queue[0]]);
      try {
        await this.copy([event]);
      } catch (err) {
        const state = sqlState(err);
        if (!state || !REFUSED.test(state)) return; // not this row's fault: drain() retries the rest
        this.log.error({ err: describe(err), requestId: event.requestId, endpoint: event.endpoint }, 'recognition event refused by the database; dropped');
        this.onDropped(1);
      }
      this.queue.shift();
    }
  }

  private giveUp(err: unknown): void {
    const lost = this.queue.splice(0);
    this.log.error(
      { err: describe(err), lost: lost.length, requestIds: [...new Set(lost.map((e) => e.requestId))].slice(0, 100) },
      'recognition events lost: the database could not be reached before shutdown',
    );
  }
}
