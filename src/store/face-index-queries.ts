// The SQL the in-memory face index runs: streaming a collection's faces at start (copyIndexEntries: a binary
// COPY of face_index_entries, migrations/0005: face id, person id, embedding in half precision), and
// re-reading the current state of changed faces (readFaceMemberships: float embeddings through vector_send).
// See benchmarks/RESULTS.md "Index load".
import { halfvecToFloats } from '../engine/halfvec';
import type { Db, Queryable } from './db';
import { EMBEDDING_DIM } from '../domain/types';

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

function decodeRows(rows: { embedding: Buffer }[]): Float32Array {
  const out = new Float32Array(rows.length * EMBEDDING_DIM);
  decodeVectorSendBatch(rows.map((r) => r.embedding), out);
  return out;
}

/**
 * Splits a collection's face id span into `parts` ranges of equal width (for reading them on several
 * connections at once); each range is (afterId, upToId]. Two index probes, where percentiles would sort every id.
 */
export async function splitCollectionRanges(q: Queryable, collectionId: number, parts: number): Promise<{ afterId: number; upToId: number }[]> {
  const r = await q.query<{ lo: number | null; hi: number | null }>(
    `SELECT min(face_id) AS lo, max(face_id) AS hi FROM face_collections WHERE collection_id = $1`,
    [collectionId],
  );
  const { lo, hi } = r.rows[0];
  if (lo === null || hi === null) return [];
  const n = Math.max(1, Math.min(parts, hi - lo + 1));
  const bound = (i: number) => lo - 1 + Math.floor(((hi - lo + 1) * i) / n);
  return Array.from({ length: n }, (_, i) => ({ afterId: i === 0 ? -1 : bound(i), upToId: i === n - 1 ? Number.MAX_SAFE_INTEGER : bound(i + 1) }));
}

export interface FaceMembership {
  collectionId: number;
  faceId: number;
  personId: number | null;
}

/**
 * The current in-memory memberships of the given faces with their embeddings: a membership absent from the
 * answer means the face is not (or no longer) in that collection, or the collection is not kept in memory.
 */
export async function readFaceMemberships(q: Queryable, faceIds: number[]): Promise<{ members: FaceMembership[]; embeddings: Float32Array }> {
  const r = await q.query<{ collection_id: number; face_id: number; person_id: number | null; embedding: Buffer }>(
    `SELECT fc.collection_id, fc.face_id, f.person_id, vector_send(f.embedding) AS embedding
       FROM face_collections fc JOIN faces f ON f.id = fc.face_id JOIN collections c ON c.id = fc.collection_id
      WHERE fc.face_id = ANY($1::bigint[]) AND c.in_memory`,
    [faceIds],
  );
  return {
    members: r.rows.map((row) => ({ collectionId: row.collection_id, faceId: row.face_id, personId: row.person_id })),
    embeddings: decodeRows(r.rows),
  };
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER_BYTES = 19; // signature, flags int32, header extension length int32

/** A checked integer for SQL text (COPY takes no parameters). */
function sqlInt(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`);
  return String(n);
}

/**
 * One batch of the index load. The arrays are views into buffers the parser reuses: valid only during the
 * callback (the matcher copies what it keeps).
 */
export interface IndexEntryBatch {
  ids: Float64Array;
  /** NO_PERSON for a face without a person. */
  personIds: Float64Array;
  /** ids.length x 512 floats, unit length to within half precision. */
  embeddings: Float32Array;
}

export const NO_PERSON = -1;

const HALF_BYTES = EMBEDDING_DIM * 2;
// int32 length + int16 dim + int16 unused + the halves (the bytea holding halfvec_send output)
const HALFVEC_FIELD_BYTES = 4 + 4 + HALF_BYTES;

/**
 * Parses PostgreSQL's binary COPY of (face_id bigint, person_id bigint or NULL, embedding_half bytea) rows
 * (the bytea holds halfvec_send output, migrations/0005) into batches, whatever the message boundaries; every
 * length is checked before it is read. Rows are copied once, into a reused staging buffer; the addon then
 * byte-swaps and widens a full batch to floats in one pass (F16C where the CPU has it).
 */
export class IndexEntryCopyParser {
  private pending?: Buffer;
  private headerDone = false;
  private trailerSeen = false;
  private count = 0;
  /** Rows parsed so far, and the highest face id among them (keyset pagination). */
  rows = 0;
  maxFaceId = -1;
  private readonly ids: Float64Array;
  private readonly personIds: Float64Array;
  private readonly halves: Buffer;
  private readonly out: Float32Array;

  constructor(
    private readonly batchSize: number,
    private readonly onBatch: (batch: IndexEntryBatch) => void,
  ) {
    this.ids = new Float64Array(batchSize);
    this.personIds = new Float64Array(batchSize);
    this.halves = Buffer.alloc(batchSize * HALF_BYTES);
    this.out = new Float32Array(batchSize * EMBEDDING_DIM);
  }

  push(chunk: Buffer): void {
    if (this.trailerSeen) throw new RangeError('data after the end of the binary COPY stream');
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let pos = 0;
    if (!this.headerDone) {
      if (buf.length < COPY_HEADER_BYTES) {
        this.pending = Buffer.from(buf);
        return;
      }
      if (!buf.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) throw new RangeError('not a binary COPY stream');
      pos = COPY_HEADER_BYTES + buf.readInt32BE(15);
      this.headerDone = true;
    }
    while (!this.trailerSeen) {
      const end = this.parseRow(buf, pos);
      if (end < 0) break;
      pos = end;
    }
    if (pos < buf.length) {
      if (this.trailerSeen) throw new RangeError('data after the end of the binary COPY stream');
      this.pending = Buffer.from(buf.subarray(pos)); // the driver reuses its buffers
    }
  }

  /** Hands over the last partial batch; throws if the stream ended inside a row or before its trailer. */
  finish(): void {
    if (this.pending || !this.trailerSeen) throw new RangeError('the binary COPY stream ended early');
    this.flush();
  }

  /** Parses the row (or trailer) at pos; returns where the next one starts, or -1 when it is not all here. */
  private parseRow(buf: Buffer, pos: number): number {
    if (buf.length - pos < 2) return -1;
    const fields = buf.readInt16BE(pos);
    if (fields === -1) {
      this.trailerSeen = true;
      return pos + 2;
    }
    // int16 field count, int32 length + int8 face id, int32 length (-1: NULL) + int8 person id, halfvec
    if (buf.length - pos < 18) return -1;
    const personLength = buf.readInt32BE(pos + 14);
    const at = pos + 18 + (personLength === 8 ? 8 : 0);
    if (buf.length - at < HALFVEC_FIELD_BYTES) return -1;
    if (fields !== 3 || buf.readInt32BE(pos + 2) !== 8 || (personLength !== 8 && personLength !== -1)) {
      throw new RangeError('unexpected row in the binary COPY of index entries');
    }
    if (buf.readInt32BE(at) !== HALFVEC_FIELD_BYTES - 4 || buf.readInt16BE(at + 4) !== EMBEDDING_DIM) {
      throw new RangeError(`stored index entry does not hold ${EMBEDDING_DIM} halves`);
    }
    const id = readId(buf, pos + 6);
    this.ids[this.count] = id;
    this.personIds[this.count] = personLength === 8 ? readId(buf, pos + 18) : NO_PERSON;
    buf.copy(this.halves, this.count * HALF_BYTES, at + 8, at + HALFVEC_FIELD_BYTES);
    if (id > this.maxFaceId) this.maxFaceId = id;
    this.rows++;
    if (++this.count === this.batchSize) this.flush();
    return at + HALFVEC_FIELD_BYTES;
  }

  private flush(): void {
    const n = this.count;
    if (!n) return;
    const embeddings = this.out.subarray(0, n * EMBEDDING_DIM);
    halfvecToFloats(this.halves.subarray(0, n * HALF_BYTES), embeddings);
    this.count = 0;
    this.onBatch({ ids: this.ids.subarray(0, n), personIds: this.personIds.subarray(0, n), embeddings });
  }
}

/** A non-negative bigint below 2^53 from its big-endian bytes, without a BigInt per row. */
function readId(buf: Buffer, at: number): number {
  const hi = buf.readUInt32BE(at);
  if (hi >= 0x200000) throw new RangeError('id beyond 2^53 in the binary COPY');
  return hi * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/**
 * Streams a collection's index entries with face ids in (afterId, upToId] through binary COPY, in batches.
 * `pageSize` splits the read into several COPYs by face id (keyset, ordered); without it, one COPY streams the
 * range (both stores stream a COPY as it runs).
 */
export async function copyIndexEntries(
  db: Db,
  collectionId: number,
  range: { afterId: number; upToId: number },
  opts: { batchSize: number; pageSize?: number },
  onBatch: (batch: IndexEntryBatch) => void,
): Promise<number> {
  const parse = async (afterId: number, limit?: number) => {
    const parser = new IndexEntryCopyParser(opts.batchSize, onBatch);
    await db.copyOut(
      `SELECT fc.face_id, e.person_id, e.embedding_half FROM face_collections fc JOIN face_index_entries e ON e.face_id = fc.face_id
        WHERE fc.collection_id = ${sqlInt(collectionId)} AND fc.face_id > ${sqlInt(afterId)} AND fc.face_id <= ${sqlInt(range.upToId)}
          AND e.face_id > ${sqlInt(afterId)} AND e.face_id <= ${sqlInt(range.upToId)}
        ${limit ? `ORDER BY fc.face_id LIMIT ${sqlInt(limit)}` : ''}`,
      (chunk) => parser.push(chunk),
    );
    parser.finish();
    return parser;
  };
  if (!opts.pageSize) return (await parse(range.afterId)).rows;
  let total = 0;
  for (let after = range.afterId; ; ) {
    const page = await parse(after, opts.pageSize);
    total += page.rows;
    if (page.rows < opts.pageSize) return total;
    after = page.maxFaceId;
  }
}

/** The persons of the given faces (for hits found through SQL); a face without a person is absent. */
export async function readFacePersons(q: Queryable, faceIds: number[]): Promise<Map<number, number>> {
  const r = await q.query<{ id: number; person_id: number }>(`SELECT id, person_id FROM faces WHERE id = ANY($1::bigint[]) AND person_id IS NOT NULL`, [
    faceIds,
  ]);
  return new Map(r.rows.map((row) => [row.id, row.person_id]));
}

/** The count of committed person renames (migrations/0006): a change means cached names may be stale. */
export async function readPersonNamesVersion(q: Queryable): Promise<number> {
  const r = await q.query<{ version: string | number }>(`SELECT version FROM person_names_version`);
  return Number(r.rows[0]?.version ?? 0);
}

/** Person names by id; unknown ids are absent. */
export async function readPersonNames(q: Queryable, personIds: number[]): Promise<Map<number, string>> {
  const r = await q.query<{ id: number; name: string }>(`SELECT id, name FROM persons WHERE id = ANY($1::bigint[])`, [personIds]);
  return new Map(r.rows.map((row) => [row.id, row.name]));
}
