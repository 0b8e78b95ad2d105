// One database interface over two drivers: a PostgreSQL server (node-postgres pool) or embedded PostgreSQL
// (PGlite, in-process, persisted under the data folder). Both run the same SQL; rows come back alike:
// int8 as number (ids stay below 2^53), bytea as Buffer, vector as pgvector text ('[1,2,...]'), jsonb parsed.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DomainError } from '../domain/errors';
import { CopyOutStreamReader, queryMessage, SYNC_MESSAGE } from './pglite-copy-out';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'embedded';
  /** Runs fn inside BEGIN/COMMIT on one connection; ROLLBACK and rethrow on error. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to NOTIFY on a channel; resolves to an unsubscribe function. On a PostgreSQL server the session
   * that listens can be lost (a restart, pg_terminate_backend): it is re-opened by itself, and `onResubscribed`
   * called once it listens again, since notifications sent meanwhile are lost (the subscriber re-reads).
   */
  listen(channel: string, onPayload: (payload: string) => void, onResubscribed?: () => void): Promise<() => Promise<void>>;
  /** Whether the notification session is up (always on the embedded store); /readyz reports it. */
  notificationsUp(): boolean;
  /**
   * Runs a binary COPY of the SELECT's rows and hands over the output as it comes (the bulk read of the face
   * index at start, without hex or per-row objects): from a PostgreSQL server message by message, from PGlite
   * as its backend flushes its send buffer (src/store/pglite-copy-out.ts).
   */
  copyOut(select: string, onData: (chunk: Buffer) => void): Promise<void>;
  /**
   * Writes rows in binary COPY format (see binary-copy.ts) into `target`, "table (col, ...)", as one statement;
   * resolves to the number of rows written. Bulk writes use it where text parameters would be parsed row by row.
   */
  copyIn(target: string, data: Buffer): Promise<number>;
  close(): Promise<void>;
  /** Connection use now (the /metrics gauges): PostgreSQL's pool, or the embedded database's one connection. */
  poolStats?(): PoolStats;
}

export interface PoolStats {
  /** Most connections the pool opens. */
  max: number;
  /** Connections open (busy or idle). */
  total: number;
  /** Open connections not running a query. */
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

/** A node-postgres "submittable" for COPY ... TO STDOUT: forwards CopyData messages, settles at ReadyForQuery. */
class CopyOutQuery {
  private error?: Error;
  constructor(
    private readonly text: string,
    private readonly onData: (chunk: Buffer) => void,
    private readonly settle: (err?: Error) => void,
  ) {}
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.error) return;
    try {
      this.onData(msg.chunk);
    } catch (err) {
      this.error = err as Error; // keep draining the stream; report at the end
    }
  }
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  // node-postgres detaches the active query on an error, so no ReadyForQuery follows for it: settle here.
  handleError(err: Error): void {
    this.settle(err);
  }
  handleReadyForQuery(): void {
    this.settle(this.error);
  }
}

/** A node-postgres "submittable" for COPY ... FROM STDIN: sends the whole input when the server asks for it. */
class CopyInQuery {
  private rowCount = 0;
  constructor(
    private readonly text: string,
    private readonly data: Buffer,
    private readonly settle: (err: Error | undefined, rowCount: number) => void,
  ) {}
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }): void {
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }
  handleCommandComplete(msg: { text?: string }): void {
    this.rowCount = Number(/\d+$/.exec(msg.text ?? '')?.[0] ?? 0);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  // As for COPY TO: after an error node-postgres sends this query no ReadyForQuery.
  handleError(err: Error): void {
    this.settle(err, 0);
  }
  handleReadyForQuery(): void {
    this.settle(undefined, this.rowCount);
  }
}

const INT8_OID = 20;
const BYTEA_OID = 17;

/**
 * SQLSTATEs of a server that is going away, not accepting sessions, or out of resources (class 53: disk full,
 * out of memory, too many connections): the request may be retried later.
 */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53...)$/;
const DISK_FULL = '53100';
/** node-postgres and socket failures of a connection (no SQLSTATE). */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOSPC']);
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout)/;

/** Whether an error means "the PostgreSQL server cannot be reached now" rather than "this statement failed". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && (UNAVAILABLE_STATES.test(e.code) || UNAVAILABLE_ERRNOS.has(e.code))) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}

/**
 * Whether a failed statement's session is gone (destroyed, not reused): a connection failure, but not a statement
 * that lacked a resource (class 53: disk full, out of memory), after which the session goes on.
 */
function sessionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isConnectionError(err) && !(typeof code === 'string' && code.startsWith('53'));
}

/**
 * A connection failure or a full disk becomes the domain's UNAVAILABLE (every dialect renders it as its "try
 * again later"); nothing was written.
 */
function unavailable(err: unknown): unknown {
  if (!isConnectionError(err)) return err;
  const code = (err as { code?: unknown }).code;
  const message =
    code === DISK_FULL || code === 'ENOSPC'
      ? 'the database is out of disk space: nothing was stored; try again once space is freed'
      : 'the database cannot be reached; try again later';
  return Object.assign(new DomainError('UNAVAILABLE', message, code === DISK_FULL || code === 'ENOSPC' ? { reason: 'disk full' } : {}), { cause: err });
}

const noop = () => {};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long to wait for a new connection before a request is answered UNAVAILABLE. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Back-off of the notification session's reconnection attempts. */
const LISTEN_RETRY_MIN_MS = 100;
const LISTEN_RETRY_MAX_MS = 2_000;

/**
 * A PostgreSQL server through a node-postgres pool. Every client carries an 'error' listener while it is out of
 * the pool, so a server restart or pg_terminate_backend never reaches the process as an unhandled 'error'
 * event; clients that failed are destroyed on release, not reused. Connection failures reach callers as
 * UNAVAILABLE. Notifications use a dedicated session (not a pool client) that is re-opened with back-off when lost.
 */
class PostgresDb implements Db {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private listener?: pg.Client;
  private listenerConnecting?: Promise<pg.Client>;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly resubscribed = new Set<() => void>();
  private closed = false;

  constructor(url: string, poolSize: number) {
    const types = {
      getTypeParser: (oid: number, format?: string) =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
    };
    this.clientConfig = { connectionString: url, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true };
    this.pool = new pg.Pool({ ...this.clientConfig, max: poolSize });
    // An idle client that errors (server restart) must not crash the process; the pool drops it.
    this.pool.on('error', noop);
  }

  poolStats(): PoolStats {
    return { max: this.pool.options.max ?? 10, total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    try {
      const r = await this.pool.query(sql, params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    } catch (err) {
      throw unavailable(err);
    }
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  /** A pool client for the caller's own statements; release(err) destroys one whose connection failed. */
  private async checkout(): Promise<{ client: pg.PoolClient; release(err?: unknown): void }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    let broken: Error | undefined;
    const onError = (err: Error) => (broken ??= err);
    client.on('error', onError);
    return {
      client,
      release: (err?: unknown) => {
        const lost = broken ?? (sessionLost(err) ? (err as Error) : undefined);
        // The listener stays for a destroyed client: its socket may still report more errors.
        if (!lost) client.off('error', onError);
        client.release(lost ?? undefined);
      },
    };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const { client, release } = await this.checkout();
    let failure: unknown;
    try {
      await client.query('BEGIN');
      const tx: Queryable = {
        query: async <R>(sql: string, params?: unknown[]) => {
          try {
            const r = await client.query(sql, params as unknown[]);
            return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
          } catch (err) {
            throw unavailable(err);
          }
        },
        exec: async (sql: string) => {
          try {
            await client.query(sql);
          } catch (err) {
            throw unavailable(err);
          }
        },
      };
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      failure = (err as { cause?: unknown }).cause ?? err;
      await client.query('ROLLBACK').catch(noop);
      throw unavailable(err);
    } finally {
      release(failure);
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void, onResubscribed?: () => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(onPayload);
    if (onResubscribed) this.resubscribed.add(onResubscribed);
    try {
      const client = this.listener ?? (await this.connectListener());
      // A session opened by connectListener already listens on every channel in handlers.
      if (isNew && client === this.listener) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      set.delete(onPayload);
      if (onResubscribed) this.resubscribed.delete(onResubscribed);
      throw unavailable(err);
    }
    const subscribed = set;
    return async () => {
      subscribed.delete(onPayload);
      if (onResubscribed) this.resubscribed.delete(onResubscribed);
    };
  }

  notificationsUp(): boolean {
    return this.listener !== undefined;
  }

  /** Opens the notification session and LISTENs on every channel subscribed so far. */
  private connectListener(): Promise<pg.Client> {
    this.listenerConnecting ??= (async () => {
      const client = new pg.Client(this.clientConfig);
      client.on('error', () => this.listenerLost(client));
      client.on('end', () => this.listenerLost(client));
      try {
        await client.connect();
        client.on('notification', (msg) => {
          for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
        });
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (err) {
        client.end().catch(noop);
        throw err;
      }
      if (this.closed) {
        await client.end().catch(noop);
        throw new Error('the database is closed');
      }
      this.listener = client;
      return client;
    })().finally(() => {
      this.listenerConnecting = undefined;
    });
    return this.listenerConnecting;
  }

  /** The notification session failed: drop it and reconnect with back-off, then tell the subscribers. */
  private listenerLost(client: pg.Client): void {
    if (this.listener !== client) return; // still connecting (connectListener fails), or already handled
    this.listener = undefined;
    client.end().catch(noop);
    void this.reconnectListener();
  }

  private async reconnectListener(): Promise<void> {
    let delay = LISTEN_RETRY_MIN_MS;
    while (!this.closed) {
      await sleep(delay);
      if (this.closed) return;
      try {
        await this.connectListener();
        for (const fn of this.resubscribed) fn();
        return;
      } catch {
        delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
      }
    }
  }

  async copyOut(select: string, onData: (chunk: Buffer) => void): Promise<void> {
    const { client, release } = await this.checkout();
    let failure: unknown;
    try {
      await new Promise<void>((resolve, reject) => {
        const query = new CopyOutQuery(`COPY (${select}) TO STDOUT (FORMAT binary)`, onData, (err) => (err ? reject(err) : resolve()));
        client.query(query as unknown as pg.QueryConfig);
      });
    } catch (err) {
      failure = err;
      throw unavailable(err);
    } finally {
      release(failure);
    }
  }

  async copyIn(target: string, data: Buffer): Promise<number> {
    const { client, release } = await this.checkout();
    let failure: unknown;
    try {
      return await new Promise<number>((resolve, reject) => {
        const query = new CopyInQuery(`COPY ${target} FROM STDIN (FORMAT binary)`, data, (err, n) => (err ? reject(err) : resolve(n)));
        client.query(query as unknown as pg.QueryConfig);
      });
    } catch (err) {
      failure = err;
      throw unavailable(err);
    } finally {
      release(failure);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(noop);
    await this.pool.end();
  }
}

type PGliteInstance = import('@electric-sql/pglite').PGlite;
type PGliteTx = import('@electric-sql/pglite').Transaction;

/** Converts PGlite's Uint8Array bytea values to Buffer so callers see what node-postgres returns. */
function normaliseRows<R>(rows: unknown[]): R[] {
  for (const row of rows as Record<string, unknown>[]) {
    for (const key in row) {
      const v = row[key];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows as R[];
}

/** Embedded PostgreSQL (PGlite with pgvector), one in-process session; PGlite serialises queries itself. */
class EmbeddedDb implements Db {
  readonly kind = 'embedded';
  /** Statements and transactions started and not finished: PGlite runs one at a time, the rest wait. */
  private inFlight = 0;
  constructor(
    private readonly pg: PGliteInstance,
    private readonly lock: DataDirLock,
  ) {}

  poolStats(): PoolStats {
    return { max: 1, total: 1, idle: this.inFlight ? 0 : 1, waiting: Math.max(0, this.inFlight - 1) };
  }

  // A full disk (SQLSTATE 53100) reaches callers as UNAVAILABLE, as on a PostgreSQL server; the transaction
  // rolled back and PGlite goes on (measured: writes work again once space is freed, no restart).
  private async counted<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await run();
    } catch (err) {
      throw unavailable(err);
    } finally {
      this.inFlight--;
    }
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const r = await this.counted(() => this.pg.query(sql, params));
    return { rows: normaliseRows<R>(r.rows), rowCount: r.affectedRows ?? r.rows.length };
  }

  async exec(sql: string): Promise<void> {
    await this.counted(() => this.pg.exec(sql));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.counted(() => this.embeddedTransaction(fn));
  }

  private embeddedTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (t: PGliteTx) => {
      const tx: Queryable = {
        query: async <R>(sql: string, params?: unknown[]) => {
          try {
            const r = await t.query(sql, params);
            return { rows: normaliseRows<R>(r.rows), rowCount: r.affectedRows ?? r.rows.length };
          } catch (err) {
            throw unavailable(err);
          }
        },
        exec: async (sql: string) => {
          try {
            await t.exec(sql);
          } catch (err) {
            throw unavailable(err);
          }
        },
      };
      return fn(tx);
    });
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    return this.pg.listen(channel, onPayload); // in-process: never lost
  }

  notificationsUp(): boolean {
    return true;
  }

  async copyOut(select: string, onData: (chunk: Buffer) => void): Promise<void> {
    // COPY TO STDOUT on PGlite's raw protocol stream: the CopyData messages come out as the backend flushes its
    // send buffer, and are handed on while the COPY runs (no whole-output Blob). COPY TO '/dev/blob' was ~12x
    // slower (a JS device write and a slice per row, then the Blob): benchmarks/RESULTS.md "Index load".
    // Inside a transaction (PGlite's transaction lock, a snapshot of its own) and the query lock, as PGlite's
    // own queries run; the Sync afterwards through execProtocolStream clears the raw-stream callback that
    // execProtocolRawStream leaves installed (PGlite 0.5.14).
    const message = queryMessage(`COPY (${select}) TO STDOUT (FORMAT binary)`);
    await this.pg.transaction(() =>
      this.pg.runExclusive(async () => {
        const reader = new CopyOutStreamReader(onData);
        try {
          await this.pg.execProtocolRawStream(message, { syncToFs: false, onRawData: (data) => reader.push(data) });
        } finally {
          await this.pg.execProtocolStream(SYNC_MESSAGE, { syncToFs: false });
        }
        reader.finish();
      }),
    );
  }

  async copyIn(target: string, data: Buffer): Promise<number> {
    // PGlite's virtual device again, this time read by the server.
    const blob = new Blob([data as Uint8Array<ArrayBuffer>]); // Blob copies the bytes
    try {
      const r = await this.pg.query(`COPY ${target} FROM '/dev/blob' (FORMAT binary)`, [], { blob });
      return r.affectedRows ?? 0;
    } catch (err) {
      throw unavailable(err);
    }
  }

  async close(): Promise<void> {
    try {
      await this.pg.close();
    } finally {
      this.lock.release();
    }
  }
}

/**
 * One process at a time may open an embedded data folder: two PGlite instances on one folder corrupt it.
 * A lock file holds the owner's pid; a lock left by a dead process is taken over.
 */
class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dir: string): DataDirLock {
    const file = path.join(dir, 'faceserver.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(fs.readFileSync(file, 'utf8'));
        if (owner && owner !== process.pid && isAlive(owner)) {
          throw new Error(`the data folder ${dir} is in use by process ${owner}; stop it or set DATA_DIR to another folder`, { cause: err });
        }
        fs.rmSync(file, { force: true });
      }
    }
    throw new Error(`cannot lock the data folder ${dir}`);
  }

  release(): void {
    fs.rmSync(this.file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface OpenDbOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  /**
   * Embedded store: make every commit durable (fsync), as a PostgreSQL server does; default true. PGlite itself
   * runs PostgreSQL with fsync off (-F) on a filesystem whose fsync does nothing: its commits reach the operating
   * system (a killed process loses nothing) but not the disk (a power loss or an OS crash may lose the last
   * commits or damage the folder). With fsync on, PostgreSQL fsyncs its WAL at every commit and its files at
   * checkpoints, and those calls reach the disk (see durableNodeFs).
   */
  fsync?: boolean;
}

/** fsync calls the embedded store's PostgreSQL made through durableNodeFs (tests check commits reach the disk). */
export const embeddedFsyncStats = { calls: 0 };

/**
 * PGlite's Node filesystem (Emscripten's NODEFS over the data folder) with fsync implemented: Emscripten's
 * NODEFS has none, so fsync() returned success without syncing. Installed before PostgreSQL starts.
 */
async function durableNodeFs(dir: string) {
  const { NodeFS } = await import('@electric-sql/pglite/nodefs');
  type Stream = { nfd?: number };
  class DurableNodeFS extends NodeFS {
    override async init(...args: Parameters<InstanceType<typeof NodeFS>['init']>) {
      const result = await super.init(...args);
      const opts = result.emscriptenOpts as { preRun?: ((mod: unknown) => void)[] };
      opts.preRun = [
        ...(opts.preRun ?? []),
        (mod: unknown) => {
          const nodefs = (mod as { FS: { filesystems: { NODEFS: { stream_ops: Record<string, unknown> } } } }).FS.filesystems.NODEFS;
          nodefs.stream_ops.fsync = (stream: Stream) => {
            if (stream.nfd !== undefined) fs.fsyncSync(stream.nfd);
            embeddedFsyncStats.calls++;
            return 0;
          };
        },
      ];
      return result;
    }
  }
  return new DurableNodeFS(dir);
}

/** Opens the user's PostgreSQL server when a URL is given, else the embedded one under dataDir/pgdata. */
export async function openDb(opts: OpenDbOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const db = new PostgresDb(opts.databaseUrl, opts.poolSize ?? 10);
    await db.query('SELECT 1');
    return db;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const dir = path.join(opts.dataDir, 'pgdata');
  fs.mkdirSync(dir, { recursive: true });
  const lock = DataDirLock.acquire(opts.dataDir);
  try {
    // bytea through Node's native hex decoder: PGlite's own parser loops in JS, ~2x slower on the index load.
    const parsers = { [BYTEA_OID]: (hex: string) => Buffer.from(hex.slice(2), 'hex') };
    // Durable: PostgreSQL's own fsync on (PGlite's -F dropped) and WAL synced with fsync(), the call the
    // filesystem above implements (Emscripten's fdatasync does nothing).
    const durable = opts.fsync !== false;
    const startParams = durable
      ? [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'fsync=on', '-c', 'wal_sync_method=fsync']
      : PGlite.defaultStartParams;
    const storage = durable ? { fs: await durableNodeFs(dir) } : { dataDir: dir };
    const instance = await PGlite.create({ ...storage, extensions: { vector }, parsers, startParams });
    return new EmbeddedDb(instance, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}
