// Embeddings that callers send: checked for size and values, normalised.
import { DomainError } from './errors';
import { EMBEDDING_DIM } from './types';

const MAX_EMBEDDINGS = 1000;

/** A caller's embedding as a unit Float32Array; EMBEDDING_SIZE / INVALID_ARGUMENT errors otherwise. */
export function toUnitEmbedding(value: unknown, param = 'embedding'): Float32Array {
  if (!Array.isArray(value)) throw new DomainError('INVALID_ARGUMENT', `${param} must be an array of numbers`, { param });
  if (value.length !== EMBEDDING_DIM) {
    throw new DomainError('EMBEDDING_SIZE', `${param} must have ${EMBEDDING_DIM} values, got ${value.length}`, { param });
  }
  const out = new Float32Array(EMBEDDING_DIM);
  let norm = 0;
  for (let i = 0; i < EMBEDDING_DIM; i++) {
    const x = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new DomainError('INVALID_ARGUMENT', `${param} must hold finite numbers`, { param });
    out[i] = x;
    norm += x * x;
  }
  if (norm === 0) throw new DomainError('INVALID_ARGUMENT', `${param} must not be all zeros`, { param });
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < EMBEDDING_DIM; i++) out[i] *= inv;
  return out;
}

/** A non-empty list of embeddings. */
export function toUnitEmbeddings(value: unknown, param = 'embeddings'): Float32Array[] {
  if (value === undefined || value === null) throw new DomainError('MISSING_ARGUMENT', `${param} is required`, { param });
  if (!Array.isArray(value) || value.length === 0) throw new DomainError('INVALID_ARGUMENT', `${param} must be a non-empty array of embeddings`, { param });
  if (value.length > MAX_EMBEDDINGS) throw new DomainError('INVALID_ARGUMENT', `at most ${MAX_EMBEDDINGS} ${param} per request`, { param });
  return value.map((v, i) => toUnitEmbedding(v, `${param}[${i}]`));
}
