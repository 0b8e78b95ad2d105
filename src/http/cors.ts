// Cross-origin access for browser clients of the dialects (CompreFace's own HTML demos call /api/v1 from
// another origin): @koa/cors on each dialect's paths that asks for it, answering the preflight with the
// headers that dialect's clients authenticate with. Credentials (cookies) are never allowed cross-origin, and
// paths outside the dialects get no CORS headers at all.
import type Koa from 'koa';
import cors from '@koa/cors';
import type { Dialect } from './app';

export interface DialectCors {
  /** The request headers its clients send beyond the common ones (e.g. x-api-key, Authorization, TOKEN). */
  allowHeaders: readonly string[];
}

export interface CorsOptions {
  /** Allowed origins: ["*"] any (CompreFace's nginx answers so), a list of exact origins, or [] for none. */
  origins: readonly string[];
}

/** Headers browsers send that are not CORS-safelisted (the list CompreFace's nginx allows, plus our request id). */
const COMMON_HEADERS = ['Content-Type', 'X-Requested-With', 'Cache-Control', 'If-Modified-Since', 'Range', 'DNT', 'User-Agent', 'X-Request-Id'];
/** Response headers a script may read beyond the safelisted ones. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'Content-Length'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** How long a browser may cache a preflight answer (browsers cap it lower anyway). */
const PREFLIGHT_MAX_AGE_SECONDS = 86400;

/** The origin to allow for this request, or "" (no CORS headers) when it is not allowed. */
function originPolicy(origins: readonly string[]): string | ((ctx: Koa.Context) => string) {
  if (origins.includes('*')) return '*';
  const allowed = new Set(origins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  return (ctx) => {
    const origin = ctx.get('Origin');
    return allowed.has(origin.toLowerCase()) ? origin : '';
  };
}

/** CORS for the selected dialect's paths (ctx.state.dialect), when it and the configuration allow it. */
export function dialectCors(dialects: readonly Dialect[], opts: CorsOptions = { origins: ['*'] }): Koa.Middleware {
  const byDialect = new Map<Dialect, Koa.Middleware>();
  if (opts.origins.length) {
    const origin = originPolicy(opts.origins);
    for (const d of dialects) {
      if (!d.cors) continue;
      byDialect.set(
        d,
        cors({
          origin,
          credentials: false,
          allowMethods: METHODS,
          allowHeaders: [...COMMON_HEADERS, ...d.cors.allowHeaders],
          exposeHeaders: EXPOSED_HEADERS,
          maxAge: PREFLIGHT_MAX_AGE_SECONDS,
        }),
      );
    }
  }
  return (ctx, next) => {
    const middleware = ctx.state.dialect && byDialect.get(ctx.state.dialect);
    return middleware ? middleware(ctx, next) : next();
  };
}
