// Rows in PostgreSQL's binary COPY format, for bulk writes where per-row text parsing would dominate: a 512-d
// vector's text form costs the server ~1 ms to parse in PGlite, its binary form is a copy (vector_recv).
// Format: https://www.postgresql.org/docs/current/sql-copy.html ("Binary Format").

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
const PG_EPOCH_US = 946_684_800_000_000n;

/** Writes tuples field by field; call row(n) before each tuple's n fields, then finish(). */
export class BinaryCopyWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, 64));
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags
    this.buf.writeInt32BE(0, 15); // header extension length
    this.pos = 19;
  }

  row(fieldCount: number): this {
    this.reserve(2);
    this.pos = this.buf.writeInt16BE(fieldCount, this.pos);
    return this;
  }

  null(): this {
    this.reserve(4);
    this.pos = this.buf.writeInt32BE(-1, this.pos);
    return this;
  }

  int4(v: number | null | undefined): this {
    if (v === null || v === undefined) return this.null();
    this.reserve(8);
    this.pos = this.buf.writeInt32BE(4, this.pos);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  int8(v: number | null | undefined): this {
    if (v === null || v === undefined) return this.null();
    this.reserve(12);
    this.pos = this.buf.writeInt32BE(8, this.pos);
    this.pos = this.buf.writeBigInt64BE(BigInt(v), this.pos);
    return this;
  }

  float4(v: number | null | undefined): this {
    if (v === null || v === undefined) return this.null();
    this.reserve(8);
    this.pos = this.buf.writeInt32BE(4, this.pos);
    this.pos = this.buf.writeFloatBE(v, this.pos);
    return this;
  }

  timestamptz(v: Date): this {
    const ms = v.getTime();
    if (!Number.isFinite(ms)) throw new RangeError('invalid date');
    this.reserve(12);
    this.pos = this.buf.writeInt32BE(8, this.pos);
    this.pos = this.buf.writeBigInt64BE(BigInt(ms) * 1000n - PG_EPOCH_US, this.pos);
    return this;
  }

  text(v: string | null | undefined): this {
    if (v === null || v === undefined) return this.null();
    const len = Buffer.byteLength(v, 'utf8');
    this.reserve(4 + len);
    this.pos = this.buf.writeInt32BE(len, this.pos);
    this.pos += this.buf.write(v, this.pos, 'utf8');
    return this;
  }

  /** bytea's binary form: the bytes as they are. */
  bytea(v: Buffer | null | undefined): this {
    if (!v) return this.null();
    this.reserve(4 + v.length);
    this.pos = this.buf.writeInt32BE(v.length, this.pos);
    this.pos += v.copy(this.buf, this.pos);
    return this;
  }

  /** jsonb's binary form: a version byte (1), then the JSON text. */
  jsonb(v: unknown): this {
    const json = JSON.stringify(v);
    const len = Buffer.byteLength(json, 'utf8');
    this.reserve(5 + len);
    this.pos = this.buf.writeInt32BE(len + 1, this.pos);
    this.buf[this.pos++] = 1;
    this.pos += this.buf.write(json, this.pos, 'utf8');
    return this;
  }

  /** pgvector's binary form (vector_recv): int16 dimensions, int16 unused, then big-endian float4 values. */
  vector(v: Float32Array | null | undefined): this {
    if (!v) return this.null();
    const len = 4 + 4 * v.length;
    this.reserve(4 + len);
    this.pos = this.buf.writeInt32BE(len, this.pos);
    this.pos = this.buf.writeInt16BE(v.length, this.pos);
    this.pos = this.buf.writeInt16BE(0, this.pos);
    // One copy and one byte swap for the whole vector instead of a call per value (a third of a bulk load).
    const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const start = this.pos;
    this.pos += bytes.copy(this.buf, this.pos);
    if (LITTLE_ENDIAN) this.buf.subarray(start, this.pos).swap32();
    return this;
  }

  /** The whole COPY input (trailer included); the writer must not be used afterwards. */
  finish(): Buffer {
    this.reserve(2);
    this.pos = this.buf.writeInt16BE(-1, this.pos);
    return this.buf.subarray(0, this.pos);
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
