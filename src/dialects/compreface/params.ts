// CompreFace's query parameters: names, defaults and validation messages as its controllers have them.
import type Koa from 'koa';
import { DomainError } from '../../domain/errors';
import { CF, CompreFaceError } from './errors';

function raw(ctx: Koa.Context, name: string): string | undefined {
  const v = ctx.query[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s.trim();
}

function integer(ctx: Koa.Context, name: string): number | undefined {
  const s = raw(ctx, name);
  if (s === undefined) return undefined;
  if (!/^-?\d{1,9}$/.test(s)) throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, `${name} should be an integer, got "${s}"`);
  return Number(s);
}

/** limit: faces to process, biggest first; 0 (default) = all. */
export function limitParam(ctx: Koa.Context): number {
  const n = integer(ctx, 'limit') ?? 0;
  if (n < 0) throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, 'Limit should be equal or greater than 0');
  return n;
}

/** prediction_count: subjects per face; default 1; -1 = all. */
export function predictionCountParam(ctx: Koa.Context): number {
  const n = integer(ctx, 'prediction_count') ?? 1;
  if (n === 0 || n < -1) throw new CompreFaceError(400, CF.INCORRECT_PREDICTION_COUNT, 'Prediction count should be any positive number or -1');
  return n;
}

/** det_prob_threshold: detector confidence in [0, 1]; the engine's default when absent. */
export function detProbThresholdParam(ctx: Koa.Context): number | undefined {
  const s = raw(ctx, 'det_prob_threshold');
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, 'Detection probability threshold should be between 0.0 and 1.0');
  }
  return n;
}

function booleanParam(ctx: Koa.Context, name: string, def: boolean): boolean {
  const s = raw(ctx, name)?.toLowerCase();
  if (s === undefined) return def;
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, `${name} should be true or false, got "${s}"`);
}

/** status: add execution_time and plugins_versions. Default false. */
export const statusParam = (ctx: Koa.Context) => booleanParam(ctx, 'status', false);
/** detect_faces: false treats the image as one face crop. Default true. */
export const detectFacesParam = (ctx: Koa.Context) => booleanParam(ctx, 'detect_faces', true);

/** face_plugins: comma-separated plugin slugs (unknown ones are ignored, as clients send other builds' slugs). */
export function facePluginsParam(ctx: Koa.Context): string[] {
  const s = raw(ctx, 'face_plugins');
  if (!s) return [];
  return s
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
}

/** subject as a required query parameter (adding an example). */
export function requiredSubjectParam(ctx: Koa.Context): string {
  const s = ctx.query.subject;
  const v = Array.isArray(s) ? s[0] : s;
  if (v === undefined) {
    throw new DomainError('MISSING_ARGUMENT', "Required request parameter 'subject' for method parameter type String is not present", {
      in: 'query',
    });
  }
  if (v.trim() === '') throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, 'subject: must not be blank');
  return v;
}

export function optionalSubjectParam(ctx: Koa.Context): string | undefined {
  const s = ctx.query.subject;
  const v = Array.isArray(s) ? s[0] : s;
  return v === undefined || v === '' ? undefined : v;
}

const MAX_PAGE_SIZE = 10_000;

/** page (default 0) and size (default 20) of example listings. */
export function pageParams(ctx: Koa.Context): { page: number; size: number } {
  const page = integer(ctx, 'page') ?? 0;
  const size = integer(ctx, 'size') ?? 20;
  if (page < 0) throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, 'page should be equal or greater than 0');
  if (size < 1 || size > MAX_PAGE_SIZE) throw new CompreFaceError(400, CF.VALIDATION_CONSTRAINT_VIOLATION, `size should be between 1 and ${MAX_PAGE_SIZE}`);
  return { page, size };
}
