// What every CompreFace route needs: the domain services, CompreFace's subject rules and similarity scale,
// image input limits, and small request helpers.
import type Koa from 'koa';
import { DomainError } from '../../domain/errors';
import type { CallContext } from '../../domain/events';
import type { DomainServices } from '../../domain/services';
import { grantOf } from '../../http/auth';
import { readImage, type ImageInputOptions } from '../../http/image-input';
import { findParam } from '../../http/params';
import { round5 } from './face-json';
import { cosineFromSimilarity, MATCH_SIMILARITY, similarityFromCosine } from './similarity';
import { Subjects } from './subjects';

export interface CompreFaceDeps {
  services: DomainServices;
  image: ImageInputOptions;
}

/** The dialect's own pieces, built once from the deps. */
export interface CompreFace extends CompreFaceDeps {
  subjects: Subjects;
  /** CompreFace's similarity of a cosine, rounded as CompreFace shows it. */
  similarity(cosine: number): number;
  /** The cosine at CompreFace's match similarity (0.5): the verdict recorded with events. */
  matchCosine: number;
}

export function compreFace(deps: CompreFaceDeps): CompreFace {
  const fit = deps.services.calibration.logistic;
  return {
    ...deps,
    subjects: new Subjects(deps.services),
    similarity: (cosine) => round5(similarityFromCosine(cosine, fit)),
    matchCosine: cosineFromSimilarity(MATCH_SIMILARITY, fit),
  };
}

export const DIALECT = 'compreface';

export function callContext(ctx: Koa.Context, endpoint: string): CallContext {
  return { dialect: DIALECT, endpoint, requestId: ctx.requestId };
}

/** The recognition key's collection (its grant's default). */
export function collectionOf(ctx: Koa.Context): number {
  const id = grantOf(ctx).collectionIds[0];
  if (id === undefined) throw new DomainError('KEY_INVALID', 'this key owns no face collection');
  return id;
}

/** The image in a multipart field or JSON property of this name; MISSING_IMAGE when absent. */
export async function requireImage(ctx: Koa.Context, deps: CompreFaceDeps, field: string): Promise<Buffer> {
  const image = await readImage(ctx, field, deps.image);
  if (!image) throw new DomainError('MISSING_IMAGE', `Required request part '${field}' is not present`, { param: field });
  return image;
}

/** A body property (JSON, or a form field). */
export function bodyProperty(ctx: Koa.Context, name: string): unknown {
  return findParam(ctx, name, ['json', 'form', 'multipart'])?.value;
}
