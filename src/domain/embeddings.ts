// Embeddings that callers send (CompreFace's embeddings endpoints): checked for size and values, normalised.
import { DomainError } from './errors';

export const EMBEDDING_SIZE = 512;
const MAX_EMBEDDINGS = 1000;

/** A caller's embedding as a unit Float32Array; EMBEDDING_SIZE / INVALID_ARGUMENT errors otherwise. */
export function toUnitEmbedding(value: unknown, field = 'embedding'): Float32Array {
  if (!Array.isArray(value)) throw new DomainError('INVALID_ARGUMENT', `${field} must be an array of numbers`, { param: field });
  if (value.length !== EMBEDDING_SIZE) {
    throw new DomainError('EMBEDDING_SIZE', `${field} must have ${EMBEDDING_SIZE} values, got ${value.length}`, { param: field });
  }
  const out = new Float32Array(EMBEDDING_SIZE);
  let norm = 0;
  for (let i = 0; i < EMBEDDING_SIZE; i++) {
    const x = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new DomainError('INVALID_ARGUMENT', `${field} must hold finite numbers`, { param: field });
    out[i] = x;
    norm += x * x;
  }
  if (norm === 0) throw new DomainError('INVALID_ARGUMENT', `${field} must not be all zeros`, { param: field });
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < EMBEDDING_SIZE; i++) out[i] *= inv;
  return out;
}

/** A non-empty list of embeddings. */
export function toUnitEmbeddings(value: unknown, field = 'embeddings'): Float32Array[] {
  if (value === undefined || value === null) throw new DomainError('MISSING_ARGUMENT', `${field} is required`, { param: field });
  if (!Array.isArray(value) || value.length === 0) throw new DomainError('INVALID_ARGUMENT', `${field} must be a non-empty array of embeddings`, { param: field });
  if (value.length > MAX_EMBEDDINGS) throw new DomainError('INVALID_ARGUMENT', `at most ${MAX_EMBEDDINGS} ${field} per request`, { param: field });
  return value.map((v, i) => toUnitEmbedding(v, `${field}[${i}]`));
}
