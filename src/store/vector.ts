// Embeddings cross the SQL boundary as pgvector text ('[0.1,0.2,...]'), the same on both drivers.
import pgvector from 'pgvector';
import { EMBEDDING_DIM } from '../domain/types';

/** A unit embedding as a pgvector literal for a query parameter. */
export function vectorToSql(embedding: Float32Array | number[]): string {
  if (embedding.length !== EMBEDDING_DIM) throw new RangeError(`embedding must have ${EMBEDDING_DIM} values, got ${embedding.length}`);
  return pgvector.toSql(Array.from(embedding)) as string;
}

/** Parses a pgvector text value into a Float32Array. */
export function vectorFromSql(text: string): Float32Array {
  return Float32Array.from(pgvector.fromSql(text) as number[]);
}

/**
 * Parses a pgvector text value straight into `out` at `offset` without building an intermediate array; the
 * index loader streams a million of these at start, where this is several times faster than fromSql.
 */
export function parseVectorInto(text: string, out: Float32Array, offset: number, dim = EMBEDDING_DIM): void {
  let start = 1; // skip '['
  const end = text.length - 1; // before ']'
  for (let i = 0; i < dim; i++) {
    let comma = text.indexOf(',', start);
    if (comma < 0 || comma > end) comma = end;
    if (start >= comma) throw new RangeError(`vector has fewer than ${dim} values`);
    out[offset + i] = +text.slice(start, comma);
    start = comma + 1;
  }
  if (start <= end) throw new RangeError(`vector has more than ${dim} values`);
}
