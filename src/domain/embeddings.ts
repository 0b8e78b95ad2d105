// Embeddings that callers send: checked for size and values, normalised; and the template codec: the engine's
// versioned binary form of an embedding (src/engine, native/core/template_codec.h) that dialects exchange.
import { Engine } from '../engine/engine';
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

/** Which model and pipeline made a template, from its header (native/core/template_codec.h). */
export interface TemplateOrigin {
  /** The first 4 bytes of the embedding model's sha256. */
  modelId: number;
  /** Bumped whenever alignment or preprocessing changes the embeddings. */
  pipelineVersion: number;
}

const TEMPLATE_HEADER_BYTES = 16;

/** The versioned binary template of a unit embedding. */
export function templateFromEmbedding(embedding: Float32Array): Buffer {
  return Engine.templateFromEmbedding(embedding);
}

/**
 * The unit embedding a template holds. A template of another model, pipeline version or layout (or a damaged
 * one) is a DomainError TEMPLATE_MISMATCH carrying the codec's message.
 */
export function embeddingFromTemplate(template: Uint8Array): Float32Array {
  try {
    return Engine.embeddingFromTemplate(template);
  } catch (err) {
    if ((err as { code?: string }).code === 'TEMPLATE_MISMATCH') throw new DomainError('TEMPLATE_MISMATCH', (err as Error).message);
    throw err;
  }
}

/** The model and pipeline named in a template's header; undefined when it is too short to hold one. */
export function templateOrigin(template: Uint8Array): TemplateOrigin | undefined {
  if (template.length < TEMPLATE_HEADER_BYTES) return undefined;
  const view = new DataView(template.buffer, template.byteOffset, template.byteLength);
  return { modelId: view.getUint32(8, true), pipelineVersion: view.getUint16(12, true) };
}

let ownOrigin: TemplateOrigin | undefined;
/** The model and pipeline of the templates this server makes. */
export function serverTemplateOrigin(): TemplateOrigin {
  ownOrigin ??= templateOrigin(templateFromEmbedding(new Float32Array(EMBEDDING_DIM).fill(1 / Math.sqrt(EMBEDDING_DIM))))!;
  return ownOrigin;
}
