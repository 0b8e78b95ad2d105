// The SQL the in-memory face index runs: streaming a collection's embeddings at start, and re-reading the
// current state of changed faces. Embeddings are read as pgvector's binary send format through bytea
// (vector_send), which is several times faster to decode than the vector text on both drivers (see
// benchmarks/RESULTS.md "Index load").
import type { Db, Queryable } from './db';
import { EMBEDDING_DIM, parseVectorInto } from './vector';

export interface InMemoryCollection {
  id: number;
  version: number;
}

/** The collections kept in memory, with their change versions. */
export async function listInMemoryCollections(q: Queryable): Promise<InMemoryCollection[]> {
  const r = await q.query<InMemoryCollection>(`SELECT id, version FROM collections WHERE in_memory ORDER BY id`);
  return r.rows;
}

export async function getCollectionState(q: Queryable, id: number): Promise<{ inMemory: boolean; version: number } | undefined> {
  const r = await q.query<{ in_memory: boolean; version: number }>(`SELECT in_memory, version FROM collections WHERE id = $1`, [id]);
  return r.rows[0] && { inMemory: r.rows[0].in_memory, version: r.rows[0].version };
}

export interface EmbeddingBatch {
  ids: number[];
  /** ids.length x 512 floats. */
  embeddings: Float32Array;
}

export type EmbeddingFormat = 'binary' | 'text';

/** pgvector's binary form: int16 dim, int16 unused, dim big-endian float4. */
const VECTOR_HEADER_BYTES = 4;

/**
 * Copies big-endian float4 vectors (vector_send output) into `out`; one byte swap over the whole batch.
 * Throws on a vector of the wrong size instead of reading past it.
 */
export function decodeVectorSendBatch(rows: Buffer[], out: Float32Array): void {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, rows.length * EMBEDDING_DIM * 4);
  rows.forEach((b, i) => {
    if (b.length !== VECTOR_HEADER_BYTES + EMBEDDING_DIM * 4 || b.readInt16BE(0) !== EMBEDDING_DIM) {
      throw new RangeError(`stored embedding has ${b.length} bytes, expected a ${EMBEDDING_DIM}-d vector`);
    }
    bytes.set(b.subarray(VECTOR_HEADER_BYTES), i * EMBEDDING_DIM * 4);
  });
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).swap32();
}

function embeddingColumn(format: EmbeddingFormat): string {
  return format === 'binary' ? 'vector_send(f.embedding) AS embedding' : 'f.embedding::text AS embedding';
}

function decodeRows(rows: { embedding: Buffer | string }[], format: EmbeddingFormat): Float32Array {
  const out = new Float32Array(rows.length * EMBEDDING_DIM);
  if (format === 'binary') decodeVectorSendBatch(rows.map((r) => r.embedding as Buffer), out);
  else rows.forEach((r, i) => parseVectorInto(r.embedding as string, out, i * EMBEDDING_DIM));
  return out;
}

/**
 * Streams a collection's faces with ids in (afterId, upToId], in id order, batch by batch: keyset pagination on
 * the membership primary key, so each batch is one short query and no cursor or long transaction is held. The
 * next batch is requested before the current one is decoded, so the server reads while the client decodes.
 */
export async function* streamCollectionEmbeddings(
  q: Queryable,
  collectionId: number,
  opts: { batchSize?: number; format?: EmbeddingFormat; afterId?: number; upToId?: number } = {},
): AsyncGenerator<EmbeddingBatch> {
  const batchSize = opts.batchSize ?? 20_000;
  const format = opts.format ?? 'binary';
  const upTo = opts.upToId ?? Number.MAX_SAFE_INTEGER;
  const fetch = (after: number) =>
    q.query<{ face_id: number; embedding: Buffer | string }>(
      `SELECT fc.face_id, ${embeddingColumn(format)}
         FROM face_collections fc JOIN faces f ON f.id = fc.face_id
        WHERE fc.collection_id = $1 AND fc.face_id > $2 AND f.id > $2 AND fc.face_id <= $4
        ORDER BY fc.face_id LIMIT $3`,
      [collectionId, after, batchSize, upTo],
    );
  let pending = fetch(opts.afterId ?? -1);
  for (;;) {
    const r = await pending;
    if (!r.rows.length) return;
    const full = r.rows.length === batchSize;
    if (full) pending = fetch(r.rows[r.rows.length - 1].face_id);
    yield { ids: r.rows.map((row) => row.face_id), embeddings: decodeRows(r.rows, format) };
    if (!full) return;
  }
}

/**
 * Splits a collection's face ids into `parts` ranges of about equal size (for reading them on several
 * connections at once); each range is (afterId, upToId].
 */
export async function splitCollectionRanges(q: Queryable, collectionId: number, parts: number): Promise<{ afterId: number; upToId: number }[]> {
  const r = await q.query<{ bound: number | null }>(
    `SELECT percentile_disc(p) WITHIN GROUP (ORDER BY face_id) AS bound
       FROM face_collections, unnest($2::float8[]) AS p WHERE collection_id = $1 GROUP BY p ORDER BY p`,
    [collectionId, Array.from({ length: parts }, (_, i) => (i + 1) / parts)],
  );
  const bounds = r.rows.map((row) => row.bound).filter((b): b is number => b !== null);
  if (!bounds.length) return [];
  bounds[bounds.length - 1] = Number.MAX_SAFE_INTEGER;
  return bounds.map((upToId, i) => ({ afterId: i === 0 ? -1 : bounds[i - 1], upToId }));
}

export interface FaceMembership {
  collectionId: number;
  faceId: number;
}

/**
 * The current in-memory memberships of the given faces with their embeddings: a membership absent from the
 * answer means the face is not (or no longer) in that collection, or the collection is not kept in memory.
 */
export async function readFaceMemberships(q: Queryable, faceIds: number[]): Promise<{ members: FaceMembership[]; embeddings: Float32Array }> {
  const r = await q.query<{ collection_id: number; face_id: number; embedding: Buffer }>(
    `SELECT fc.collection_id, fc.face_id, ${embeddingColumn('binary')}
       FROM face_collections fc JOIN faces f ON f.id = fc.face_id JOIN collections c ON c.id = fc.collection_id
      WHERE fc.face_id = ANY($1::bigint[]) AND c.in_memory`,
    [faceIds],
  );
  return {
    members: r.rows.map((row) => ({ collectionId: row.collection_id, faceId: row.face_id })),
    embeddings: decodeRows(r.rows, 'binary'),
  };
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER_BYTES = 19; // signature, flags int32, header extension length int32
const VECTOR_SEND_BYTES = VECTOR_HEADER_BYTES + EMBEDDING_DIM * 4;
// int16 field count, int32 length + int8 face id, int32 length + vector
const COPY_ROW_BYTES = 2 + 4 + 8 + 4 + VECTOR_SEND_BYTES;

/**
 * Parses PostgreSQL's binary COPY of (face_id bigint, embedding vector(512)) rows into batches, whatever the
 * message boundaries. Every length is checked before it is read.
 */
export class BinaryCopyBatcher {
  private pending?: Buffer;
  private headerDone = false;
  private trailerSeen = false;
  private ids: number[] = [];
  private readonly out: Float32Array;
  private readonly bytes: Uint8Array;

  constructor(
    private readonly batchSize: number,
    private readonly onBatch: (batch: EmbeddingBatch) => void,
  ) {
    this.out = new Float32Array(batchSize * EMBEDDING_DIM);
    this.bytes = new Uint8Array(this.out.buffer);
  }

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    if (!this.headerDone) {
      if (buf.length < COPY_HEADER_BYTES) {
        this.pending = buf;
        return;
      }
      if (!buf.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) throw new RangeError('not a binary COPY stream');
      pos = COPY_HEADER_BYTES + buf.readInt32BE(15);
      this.headerDone = true;
    }
    while (buf.length - pos >= 2 && !this.trailerSeen) {
      const fields = buf.readInt16BE(pos);
      if (fields === -1) {
        this.trailerSeen = true;
        pos += 2;
        break;
      }
      if (buf.length - pos < COPY_ROW_BYTES) break;
      if (fields !== 2 || buf.readInt32BE(pos + 2) !== 8 || buf.readInt32BE(pos + 14) !== VECTOR_SEND_BYTES || buf.readInt16BE(pos + 18) !== EMBEDDING_DIM) {
        throw new RangeError('unexpected row in the binary COPY of embeddings');
      }
      this.bytes.set(buf.subarray(pos + 22, pos + COPY_ROW_BYTES), this.ids.length * EMBEDDING_DIM * 4);
      this.ids.push(Number(buf.readBigInt64BE(pos + 6)));
      pos += COPY_ROW_BYTES;
      if (this.ids.length === this.batchSize) this.flush();
    }
    this.pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : undefined;
  }

  /** Hands over the last partial batch; throws if the stream ended inside a row. */
  finish(): void {
    if (this.pending || !this.trailerSeen) throw new RangeError('the binary COPY stream ended early');
    this.flush();
  }

  private flush(): void {
    const n = this.ids.length;
    if (!n) return;
    const used = Buffer.from(this.out.buffer, 0, n * EMBEDDING_DIM * 4);
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) used.swap32(); // big-endian floats on the wire
    this.onBatch({ ids: this.ids, embeddings: this.out.slice(0, n * EMBEDDING_DIM) });
    this.ids = [];
  }
}

/**
 * Reads a collection's faces with ids in (afterId, upToId] through one binary COPY (PostgreSQL server only:
 * no hex, no per-row objects); batches are handed to onBatch as they fill.
 */
export async function copyCollectionEmbeddings(
  db: Db,
  collectionId: number,
  range: { afterId: number; upToId: number },
  batchSize: number,
  onBatch: (batch: EmbeddingBatch) => void,
): Promise<void> {
  if (!db.copyOut) throw new Error(`the ${db.kind} store cannot COPY`);
  const int = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`);
    return String(n);
  };
  const batcher = new BinaryCopyBatcher(batchSize, onBatch);
  await db.copyOut(
    `COPY (SELECT fc.face_id, f.embedding FROM face_collections fc JOIN faces f ON f.id = fc.face_id
            WHERE fc.collection_id = ${int(collectionId)} AND fc.face_id > ${int(range.afterId)} AND fc.face_id <= ${int(range.upToId)})
       TO STDOUT (FORMAT binary)`,
    (chunk) => batcher.push(chunk),
  );
  batcher.finish();
}
