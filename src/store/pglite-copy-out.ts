// COPY ... TO STDOUT on embedded PostgreSQL (PGlite), read from its raw protocol stream (EmbeddedDb.copyOut).
// PGlite runs the backend in wasm and hands the backend's output to a callback as the send buffer is flushed
// (views into wasm memory, valid only during the call). This reader splits that stream into protocol messages,
// passes the CopyData payloads on as they arrive (the COPY data, whatever the chunk boundaries) and keeps the
// outcome: an ErrorResponse becomes an error thrown by finish(). It never throws into the wasm caller: an
// error from onData is kept, the rest of the COPY is skipped, and finish() throws it.

/** A frontend Query message (simple query protocol) for sql. */
export function queryMessage(sql: string): Uint8Array {
  const text = Buffer.from(sql, 'utf8');
  if (text.includes(0)) throw new RangeError('a query holds a NUL character');
  const m = Buffer.alloc(6 + text.length);
  m[0] = 0x51; // 'Q'
  m.writeInt32BE(5 + text.length, 1);
  text.copy(m, 5);
  return m;
}

/** A frontend Sync message. */
export const SYNC_MESSAGE = new Uint8Array([0x53, 0, 0, 0, 4]);

/** A server error, as pg and PGlite report it (code, severity, detail). */
export class CopyOutDatabaseError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly severity?: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'DatabaseError';
  }
}

const COPY_DATA = 0x64; // 'd'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const COMMAND_COMPLETE = 0x43; // 'C'
const ERROR_RESPONSE = 0x45; // 'E'
const READY_FOR_QUERY = 0x5a; // 'Z'

export class CopyOutStreamReader {
  private readonly header = Buffer.alloc(5);
  private headerHave = 0;
  private type = 0;
  /** Payload bytes of the current message still to come. */
  private remaining = 0;
  /** The current message's payload, for the (small) messages other than CopyData. */
  private body?: Buffer;
  private bodyHave = 0;
  private copyStarted = false;
  private completed = false;
  private ready = false;
  private dbError?: CopyOutDatabaseError;
  private callbackError?: unknown;

  constructor(private readonly onData: (chunk: Buffer) => void) {}

  /** One flush of the backend's output; never throws. */
  push(data: Uint8Array): void {
    try {
      this.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (err) {
      this.callbackError ??= err;
    }
  }

  private parse(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      if (this.headerHave < 5) {
        const take = Math.min(5 - this.headerHave, buf.length - pos);
        buf.copy(this.header, this.headerHave, pos, pos + take);
        this.headerHave += take;
        pos += take;
        if (this.headerHave < 5) return;
        this.type = this.header[0];
        this.remaining = this.header.readInt32BE(1) - 4;
        if (this.remaining < 0) throw new RangeError('malformed message in the COPY stream');
        this.body = this.type === COPY_DATA ? undefined : Buffer.alloc(this.remaining);
        this.bodyHave = 0;
      }
      const take = Math.min(this.remaining, buf.length - pos);
      if (take > 0) {
        if (this.type === COPY_DATA) {
          if (this.callbackError === undefined) {
            try {
              this.onData(buf.subarray(pos, pos + take));
            } catch (err) {
              this.callbackError = err;
            }
          }
        } else {
          buf.copy(this.body!, this.bodyHave, pos, pos + take);
          this.bodyHave += take;
        }
        pos += take;
        this.remaining -= take;
      }
      if (this.remaining === 0) {
        this.message();
        this.headerHave = 0;
      }
    }
  }

  private message(): void {
    if (this.type === COPY_OUT_RESPONSE) {
      if (this.body![0] !== 1) throw new RangeError('the COPY is not in binary format');
      this.copyStarted = true;
    } else if (this.type === COMMAND_COMPLETE) {
      this.completed = true;
    } else if (this.type === READY_FOR_QUERY) {
      this.ready = true;
    } else if (this.type === ERROR_RESPONSE && !this.dbError) {
      const fields = new Map<string, string>();
      const body = this.body!;
      for (let at = 0; at < body.length && body[at] !== 0; ) {
        const end = body.indexOf(0, at + 1);
        if (end < 0) break;
        fields.set(String.fromCharCode(body[at]), body.toString('utf8', at + 1, end));
        at = end + 1;
      }
      this.dbError = new CopyOutDatabaseError(fields.get('M') ?? 'COPY failed', fields.get('C'), fields.get('V') ?? fields.get('S'), fields.get('D'));
    }
    // Notices, parameter status and the rest: nothing the COPY needs.
    this.body = undefined;
  }

  /** After the query: throws the server's error, onData's error, or an error if the COPY did not complete. */
  finish(): void {
    if (this.dbError) throw this.dbError;
    if (this.callbackError !== undefined) throw this.callbackError;
    if (!this.copyStarted || !this.completed || !this.ready || this.headerHave !== 0) throw new Error('the COPY stream from PGlite ended early');
  }
}
