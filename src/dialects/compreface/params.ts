// CompreFace's request parameters: names, defaults and validation messages as its controllers have them. Its
// controllers read them with Spring's @RequestParam, so they come from the query string or from form fields
// alike (CompreFace's own k6 load tests send limit and prediction_count as multipart fields); the shared
// readers (src/http/params.ts) look in both.
import type Koa from 'koa';
import { DomainError, isDomainError } from '../../domain/errors';
import { params } from '../../http/params';
import { CF, CompreFaceError } from './errors';

/** limit: faces to process, biggest first; 0 (default) = all. */
export function limitParam(ctx: Koa.Context): number {
  return params(ctx).int('limit', { min: 0, rangeMessage: 'Limit should be equal or greater than 0' }) ?? 0;
}

/** prediction_count: subjects per face; default 1; -1 = all. */
export function predictionCountParam(ctx: Koa.Context): number {
  const n = params(ctx).int('prediction_count') ?? 1;
  if (n === 0 || n < -1) throw new CompreFaceError(400, CF.INCORRECT_PREDICTION_COUNT, 'Prediction count should be any positive number or -1');
  return n;
}

/** det_prob_threshold: detector confidence in [0, 1]; the engine's default when absent. */
export function detProbThresholdParam(ctx: Koa.Context): number | undefined {
  try {
    return params(ctx).number('det_prob_threshold', { min: 0, max: 1 });
  } catch (err) {
    // CompreFace words every bad value (not a number, out of range) the same way.
    if (isDomainError(err, 'INVALID_ARGUMENT')) {
      throw new DomainError('INVALID_ARGUMENT', 'Detection probability threshold should be between 0.0 and 1.0', err.details);
    }
    throw err;
  }
}

/** status: add execution_time and plugins_versions. Default false (the Python SDK sends "False"). */
export const statusParam = (ctx: Koa.Context) => params(ctx).boolean('status') ?? false;
/** detect_faces: false treats the image as one face crop. Default true. */
export const detectFacesParam = (ctx: Koa.Context) => params(ctx).boolean('detect_faces') ?? true;

/**
 * face_plugins: comma-separated plugin slugs, spaces allowed ("landmarks, gender, age"). Unknown ones (other
 * builds' slugs, Double Take's literal "undefined") are ignored by the caller.
 */
export function facePluginsParam(ctx: Koa.Context): string[] {
  return (params(ctx).list('face_plugins') ?? []).map((p) => p.toLowerCase());
}

/** subject as a required request parameter (adding an example). */
export function requiredSubjectParam(ctx: Koa.Context): string {
  const subject = params(ctx).string('subject', {
    required: true,
    trim: false,
    blankIsAbsent: false,
    missingMessage: "Required request parameter 'subject' for method parameter type String is not present",
  });
  if (subject.trim() === '') throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, 'subject: must not be blank');
  return subject;
}

export function optionalSubjectParam(ctx: Koa.Context): string | undefined {
  return params(ctx).string('subject', { trim: false });
}

const MAX_PAGE_SIZE = 10_000;

/** page (default 0) and size (default 20) of example listings. */
export function pageParams(ctx: Koa.Context): { page: number; size: number } {
  const p = params(ctx);
  const page = p.int('page', { min: 0, rangeMessage: 'page should be equal or greater than 0' }) ?? 0;
  const size = p.int('size', { min: 1, max: MAX_PAGE_SIZE, rangeMessage: `size should be between 1 and ${MAX_PAGE_SIZE}` }) ?? 20;
  return { page, size };
}
