// The Koa application: request ids and logs, one error middleware, body limits, health endpoints, and the
// API dialects mounted under their path prefixes. A dialect's error renderer is chosen from the path before
// anything else runs, so even a malformed body is answered in that product's own error format.
import crypto from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Logger } from '../log';
import { HttpError, errorMiddleware, type ErrorRenderer } from './errors';
import { readMultipart, tooLarge, type Upload } from './multipart';

declare module 'koa' {
  interface DefaultContext {
    log: Logger;
    requestId: string;
  }
  interface Request {
    /** A multipart request's files by field name (in memory). */
    uploads?: Record<string, Upload[]>;
  }
}

export interface Dialect {
  name: string;
  /** Path prefixes this dialect answers (the longest matching prefix wins). */
  prefixes: string[];
  renderError: ErrorRenderer;
  router: Router;
}

export interface ReadyState {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HttpAppOptions {
  log: Logger;
  maxBodyBytes: number;
  maxFileBytes: number;
  readiness: () => Promise<ReadyState>;
  dialects: Dialect[];
}

function requestContext(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    ctx.requestId = /^[\w.-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
    ctx.set('X-Request-Id', ctx.requestId);
    ctx.log = log.child({ requestId: ctx.requestId });
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}

function selectDialect(dialects: Dialect[]): Koa.Middleware {
  const byPrefix = dialects
    .flatMap((d) => d.prefixes.map((prefix) => ({ prefix, dialect: d })))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return async (ctx, next) => {
    const match = byPrefix.find(({ prefix }) => ctx.path === prefix || ctx.path.startsWith(prefix.endsWith('/') ? prefix : prefix + '/'));
    if (match) ctx.state.renderError = match.dialect.renderError;
    await next();
  };
}

/**
 * Request bodies: multipart in memory (src/http/multipart.ts), everything else (JSON, forms, text) through
 * koa-body, its failures turned into HttpErrors the dialects can render.
 */
function bodyParser(maxBodyBytes: number, maxFileBytes: number): Koa.Middleware {
  const multipartLimits = { maxBodyBytes, maxFileBytes, maxFiles: 8, maxFields: 100 };
  const parse = koaBody({
    multipart: false,
    jsonLimit: maxBodyBytes,
    formLimit: maxBodyBytes,
    textLimit: maxBodyBytes,
    jsonStrict: true,
  });
  return async (ctx, next) => {
    if (ctx.is('multipart/form-data')) {
      const body = await readMultipart(ctx.req, ctx.get('content-type'), multipartLimits);
      ctx.request.body = body.fields;
      ctx.request.uploads = body.files;
      return next();
    }
    let parsed = false;
    try {
      await parse(ctx, async () => {
        parsed = true;
        await next();
      });
    } catch (err) {
      if (parsed) throw err; // thrown by a route, not by the parser
      const e = err as { status?: number; message?: string };
      const status = e.status ?? 400;
      if (status === 413) throw tooLarge('request body', maxBodyBytes);
      if (status === 415) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported content type');
      throw new HttpError(400, 'MALFORMED_BODY', `malformed request body: ${e.message ?? 'cannot parse'}`);
    }
  };
}

export function createHttpApp(opts: HttpAppOptions): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged by errorMiddleware, with the request id
  const health = new Router();
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  health.get('/readyz', async (ctx) => {
    const state = await opts.readiness();
    ctx.status = state.ready ? 200 : 503;
    ctx.body = { status: state.ready ? 'ready' : 'not ready', checks: state.checks };
  });

  app.use(requestContext(opts.log));
  app.use(selectDialect(opts.dialects));
  app.use(errorMiddleware());
  app.use(health.routes());
  app.use(bodyParser(opts.maxBodyBytes, opts.maxFileBytes));
  for (const d of opts.dialects) {
    app.use(d.router.routes());
    app.use(d.router.allowedMethods());
  }
  app.use((ctx) => {
    throw new HttpError(404, 'NOT_FOUND', `no such endpoint: ${ctx.method} ${ctx.path}`);
  });
  return app;
}
