// Errors toward HTTP and their rendering. Every failure a request can meet has one code: a domain code
// (src/domain/errors.ts) or an HTTP-level code below. Each dialect renders them from a table typed
// Record<ErrorCode, ...>, so adding a code fails to compile until every dialect maps it; `tableRenderer` also
// checks the table at start-up, so a table built around the type system cannot miss one either.
import type Koa from 'koa';
import { DOMAIN_ERROR_CODES, isDomainError, type DomainErrorCode } from '../domain/errors';

/** Failures of the HTTP layer itself, before any route runs. */
export const HTTP_ERROR_CODES = [
  'BODY_TOO_LARGE', // the request body (or one file in it) crosses its limit; details.limit
  'MALFORMED_BODY', // a multipart or form body that cannot be parsed
  'MALFORMED_JSON', // a JSON body that cannot be parsed
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FOUND', // no such endpoint
  'METHOD_NOT_ALLOWED', // the endpoint exists, not with this method (or the method is unknown)
] as const;

export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];
export type ErrorCode = DomainErrorCode | HttpErrorCode;
export const ERROR_CODES: readonly ErrorCode[] = [...DOMAIN_ERROR_CODES, ...HTTP_ERROR_CODES];

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Any thrown value, reduced to what a dialect renders: a code, a message and the details. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
  /** The thrown value itself (for logs; renderers should not need it). */
  cause: unknown;
}

export interface RenderedError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A dialect's mapping from any thrown value to its own status, body and headers. */
export type ErrorRenderer = (err: unknown) => RenderedError;

/** One row of a dialect's error table: the error in, that product's status and body out. */
export type ErrorEntry = (e: ErrorInfo) => RenderedError;
export type ErrorTable = Record<ErrorCode, ErrorEntry>;

/** How long a client should wait before retrying BUSY and UNAVAILABLE. */
export const RETRY_AFTER_SECONDS = 1;

/** The Retry-After (seconds) of an error a client should retry later: BUSY, UNAVAILABLE, AUTH_THROTTLED (its block's rest). */
export function retryAfterOf(info: Pick<ErrorInfo, 'code' | 'details'>): number | undefined {
  if (info.code === 'BUSY' || info.code === 'UNAVAILABLE') return RETRY_AFTER_SECONDS;
  if (info.code === 'AUTH_THROTTLED') return typeof info.details.retryAfterSeconds === 'number' ? info.details.retryAfterSeconds : RETRY_AFTER_SECONDS;
  return undefined;
}

/** The neutral HTTP status of every code (the default rendering; dialects may follow or ignore it). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  NO_FACE: 400,
  TOO_MANY_FACES: 400,
  PERSON_NOT_FOUND: 404,
  PERSON_EXISTS: 409,
  FACE_NOT_FOUND: 404,
  COLLECTION_NOT_FOUND: 404,
  COLLECTION_EXISTS: 409,
  INVALID_ARGUMENT: 400,
  MISSING_ARGUMENT: 400,
  MISSING_IMAGE: 400,
  INVALID_BASE64: 400,
  IMAGE_TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 415,
  CORRUPT_IMAGE: 400,
  IMAGE_URL_REFUSED: 400,
  IMAGE_FETCH_FAILED: 400,
  EMBEDDING_SIZE: 400,
  TEMPLATE_MISMATCH: 400,
  BUSY: 503,
  UNAVAILABLE: 503,
  KEY_MISSING: 401,
  KEY_MALFORMED: 401,
  KEY_INVALID: 401,
  FORBIDDEN: 403,
  AUTH_THROTTLED: 429,
  INTERNAL: 500,
  BODY_TOO_LARGE: 413,
  MALFORMED_BODY: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
};

const KNOWN = new Set<string>(ERROR_CODES);

/**
 * Reduces any thrown value to an ErrorInfo. Unknown errors become INTERNAL with a fixed message (their text may
 * hold internals); errors of other libraries that carry an HTTP status (koa's, the router's 405/501) keep it.
 */
export function errorInfo(err: unknown): ErrorInfo {
  if (isDomainError(err) || err instanceof HttpError) {
    if (KNOWN.has(err.code)) return { code: err.code, message: err.message, details: err.details, cause: err };
    return { code: 'INTERNAL', message: 'internal error', details: { unmappedCode: err.code }, cause: err };
  }
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 405 || status === 501) return { code: 'METHOD_NOT_ALLOWED', message: 'Request method not supported', details: {}, cause: err };
  if (status === 404) return { code: 'NOT_FOUND', message: 'not found', details: {}, cause: err };
  if (status === 413) return { code: 'BODY_TOO_LARGE', message: 'request body is too large', details: {}, cause: err };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type', details: {}, cause: err };
  return { code: 'INTERNAL', message: 'internal error', details: {}, cause: err };
}

export interface TableRendererOptions {
  /** Errors a dialect raises in its own product's terms (rendered before the table; undefined: not one of them). */
  own?: (err: unknown) => RenderedError | undefined;
}

/**
 * A dialect's ErrorRenderer from its table. Throws at once when the table misses a code (possible only by
 * going around the type, e.g. a cast or plain JavaScript), so a server never starts with an unmapped code.
 * Adds Retry-After to BUSY, UNAVAILABLE and AUTH_THROTTLED unless the entry set its own.
 */
export function tableRenderer(table: ErrorTable, opts: TableRendererOptions = {}): ErrorRenderer {
  const missing = ERROR_CODES.filter((code) => typeof table[code] !== 'function');
  if (missing.length) throw new Error(`error table does not map ${missing.join(', ')}`);
  return (err) => {
    const own = opts.own?.(err);
    if (own) return own;
    const info = errorInfo(err);
    const rendered = table[info.code](info);
    const retryAfter = retryAfterOf(info);
    if (retryAfter !== undefined) rendered.headers = { 'Retry-After': String(retryAfter), ...rendered.headers };
    return rendered;
  };
}

/** The rendering outside any dialect (health, unknown paths): {"error": {"code", "message"}} with the neutral status. */
export const defaultRenderError: ErrorRenderer = tableRenderer(
  Object.fromEntries(
    ERROR_CODES.map((code) => [code, (e: ErrorInfo) => ({ status: HTTP_STATUS[code], body: { error: { code, message: e.message } } })]),
  ) as ErrorTable,
);

export function errorMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const render: ErrorRenderer = ctx.state.renderError ?? defaultRenderError;
      const { status, body, headers } = render(err);
      ctx.status = status;
      ctx.body = body;
      if (headers) ctx.set(headers);
      const code = (err as { code?: unknown }).code;
      if (ctx.state.logged && !ctx.state.logged()) return; // beyond the log budget: counted, not logged
      // Refusals that come in floods (the database down, the queue full): one line each, without a stack.
      if (code === 'UNAVAILABLE' || code === 'BUSY') ctx.log.warn({ status, code, reason: (err as Error).message }, 'request refused: try again later');
      else if (status >= 500) ctx.log.error({ err }, 'request failed');
      else ctx.log.info({ status, code }, 'request rejected');
    }
  };
}
