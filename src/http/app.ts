// The Koa application: request ids and logs, trailing-slash tolerance, the dialect chosen from the path, CORS
// for dialect paths, one error middleware, body parsing within limits, health endpoints, and each dialect's
// routes. The dialect is chosen before anything else runs, so even a malformed body is answered in that
// product's own error format and read with that product's parameter rules.
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Logger } from '../log';
import { DomainError } from '../domain/errors';
import { dialectCors, type CorsOptions, type DialectCors } from './cors';
import { docsRouter } from './docs';
import { HttpError, errorMiddleware, type ErrorRenderer } from './errors';
import { readMultipart, tooLarge, type Upload } from './multipart';
import type { OpenApiDocument } from './openapi';
import type { ParamSource } from './params';
import { LogBudget } from './log-budget';
import { compileTrustedProxies } from './client-address';

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

/** A product's HTTP face: where it lives, how it fails, where it reads parameters, whether browsers may call it. */
export interface Dialect {
  name: string;
  /** Path prefixes this dialect answers (the longest matching prefix wins). */
  prefixes: string[];
  renderError: ErrorRenderer;
  router: Router;
  /** Where its parameters are looked up, in order (default: the query string, then the body). */
  paramSources?: readonly ParamSource[];
  /** Cross-origin browser access (the headers its clients authenticate with); absent: no CORS on its paths. */
  cors?: DialectCors;
  /** Every route it serves, documented; served at /openapi/<name>.json (test/openapi.test.ts holds the two equal). */
  openapi?: OpenApiDocument;
  /**
   * Another form of its paths (such as a configurable segment in front of its prefix): the path it answers as,
   * or undefined. Asked only when no dialect's prefix matches, so it never takes another dialect's path.
   */
  pathAlias?: (path: string) => string | undefined;
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
  cors?: CorsOptions;
  /** Serve the browsable documentation of the dialects' documents at /docs (API_DOCS; default true). */
  docs?: boolean;
  /** Told of every answered request; its router (GET /metrics) is served beside the health endpoints. */
  metrics?: { observeRequest(ctx: Koa.Context, seconds: number): void; router?: Router };
  /** Requests on dialect paths handled at once; more are answered BUSY before their body is read (0: no limit). */
  maxInFlight?: number;
  /** Requests answered with an error status logged per second, the rest counted (0: no limit). */
  logRejectedPerSecond?: number;
  /** TRUSTED_PROXIES: the reverse proxies whose X-Forwarded-For names the client (clientAddress); default none. */
  trustedProxies?: readonly string[];
}

declare module 'koa' {
  interface DefaultState {
    dialect?: Dialect;
    renderError?: ErrorRenderer;
    /** Whether this request's log lines are written (error answers beyond the log budget are only counted). */
    logged?: () => boolean;
  }
}

function requestContext(log: Logger, budget: LogBudget, observe?: (ctx: Koa.Context, seconds: number) => void): Koa.Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    ctx.requestId = /^[\w.-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
    ctx.set('X-Request-Id', ctx.requestId);
    ctx.log = log.child({ requestId: ctx.requestId });
    let decision: boolean | undefined;
    ctx.state.logged = () => (decision ??= budget.allow(ctx.status));
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      observe?.(ctx, ms / 1000);
      if (ctx.state.logged()) ctx.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}

/**
 * Every route answers with and without a trailing slash: the path is rewritten before routing, never
 * redirected (a redirected POST loses its body in many clients).
 */
function trailingSlash(): Koa.Middleware {
  return (ctx, next) => {
    if (ctx.path.length > 1 && ctx.path.endsWith('/')) ctx.path = ctx.path.replace(/\/+$/, '') || '/';
    return next();
  };
}

function selectDialect(dialects: Dialect[]): Koa.Middleware {
  const byPrefix = dialects
    .flatMap((d) => d.prefixes.map((prefix) => ({ prefix, dialect: d })))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return async (ctx, next) => {
    const match = byPrefix.find(({ prefix }) => ctx.path === prefix || ctx.path.startsWith(prefix.endsWith('/') ? prefix : prefix + '/'));
    let dialect = match?.dialect;
    if (!dialect) {
      for (const d of dialects) {
        const aliased = d.pathAlias?.(ctx.path);
        if (aliased === undefined) continue;
        ctx.path = aliased;
        dialect = d;
        break;
      }
    }
    if (dialect) {
      ctx.state.dialect = dialect;
      ctx.state.renderError = dialect.renderError;
      ctx.state.paramSources = dialect.paramSources;
    }
    await next();
  };
}

/** What koa-body parses as JSON (named here so the parameter readers know the body's kind the same way). */
const JSON_TYPES = ['application/json', 'application/json-patch+json', 'application/vnd.api+json', 'application/csp-report', 'application/scim+json'];
const RAW_IMAGE_TYPES = ['image/*', 'application/octet-stream'];

/** A raw request body in memory, stopped as soon as it crosses `limit` (the rest is drained unread). */
function readRawBody(req: IncomingMessage, limit: number, tooBig: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) {
      req.resume();
      return reject(tooBig());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      req.off('data', onData);
      req.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(tooBig());
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
    req.on('error', (err) => fail(new HttpError('MALFORMED_BODY', `malformed request body: ${err.message}`)));
    req.on('close', () => !req.complete && fail(new HttpError('MALFORMED_BODY', 'malformed request body: the client closed the request')));
  });
}

/**
 * Request bodies: multipart in memory (busboy, src/http/multipart.ts), a raw image/* body in memory, everything
 * else (JSON, forms, text) through koa-body, its failures turned into HttpErrors the dialects can render.
 * ctx.request.bodyKind says which it was, for the parameter readers.
 */
function bodyParser(maxBodyBytes: number, maxFileBytes: number): Koa.Middleware {
  const multipartLimits = { maxBodyBytes, maxFileBytes, maxFiles: 8, maxFields: 100 };
  const parse = koaBody({
    multipart: false,
    jsonLimit: maxBodyBytes,
    formLimit: maxBodyBytes,
    textLimit: maxBodyBytes,
    jsonStrict: true,
    onError: (err, ctx) => {
      const e = err as { status?: number; message?: string };
      const status = e.status ?? 400;
      if (status === 413) throw tooLarge('request body', maxBodyBytes);
      if (status === 415) throw new HttpError('UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported content type');
      const code = ctx.is(JSON_TYPES) ? 'MALFORMED_JSON' : 'MALFORMED_BODY';
      throw new HttpError(code, `malformed request body: ${e.message ?? 'cannot parse'}`);
    },
  });
  const noop = async () => {};
  return async (ctx, next) => {
    if (ctx.is('multipart/form-data')) {
      const declared = ctx.get('content-length');
      const body = await readMultipart(ctx.req, { contentType: ctx.get('content-type'), contentLength: declared ? Number(declared) : undefined }, multipartLimits);
      ctx.request.body = body.fields;
      ctx.request.uploads = body.files;
      ctx.request.bodyKind = 'multipart';
    } else if (ctx.is(RAW_IMAGE_TYPES)) {
      const tooBig = () => new DomainError('IMAGE_TOO_LARGE', `image is larger than ${maxFileBytes} bytes`, { limit: maxFileBytes });
      ctx.request.rawImage = { bytes: await readRawBody(ctx.req, maxFileBytes, tooBig), mimeType: ctx.get('content-type') };
      ctx.request.bodyKind = 'raw';
    } else {
      await parse(ctx, noop);
      if (ctx.request.body !== undefined) {
        ctx.request.bodyKind = ctx.is(JSON_TYPES) ? 'json' : ctx.is('urlencoded') ? 'form' : 'text';
      }
    }
    return next();
  };
}

/** Each dialect's routes run only on its own paths; a known path with another method answers 405. */
function dialectRoutes(d: Dialect): Koa.Middleware {
  // (The router's middleware types carry its own context additions; as plain Koa middleware they are the same.)
  const routes = d.router.routes() as unknown as Koa.Middleware;
  const methods = d.router.allowedMethods({
    throw: true,
    methodNotAllowed: () => new HttpError('METHOD_NOT_ALLOWED', 'Request method not supported'),
    notImplemented: () => new HttpError('METHOD_NOT_ALLOWED', 'Request method not supported'),
  }) as unknown as Koa.Middleware;
  return (ctx, next) => (ctx.state.dialect === d ? routes(ctx, () => methods(ctx, next)) : next());
}

/**
 * Admission control: at most `max` requests on dialect paths at once. One more is answered at once with the
 * dialect's BUSY (503 and Retry-After) before its body is read, so a burst above capacity costs neither the
 * memory of its bodies nor a place in the inference queue, and the requests admitted keep a bounded latency.
 */
function admission(max: number): Koa.Middleware {
  let inFlight = 0;
  return async (ctx, next) => {
    if (!max || !ctx.state.dialect) return next();
    if (inFlight >= max) {
      ctx.set('Connection', 'close'); // the unread body is not worth reading to keep the connection
      throw new DomainError('BUSY', `the server is handling ${max} requests; try again later`, { limit: max });
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  };
}

/** Nothing answered: NOT_FOUND in the dialect's format. */
function notFound(): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status === 404 && ctx.body == null) throw new HttpError('NOT_FOUND', `no such endpoint: ${ctx.method} ${ctx.path}`);
  };
}

export function createHttpApp(opts: HttpAppOptions): Koa {
  // proxy: false keeps Koa's ctx.ip and ctx.protocol off X-Forwarded-*; the client behind a trusted proxy is
  // clientAddress(ctx) (proxy-addr over TRUSTED_PROXIES), used where an address is counted, never to grant access.
  const app = new Koa({ proxy: false });
  app.context.proxyTrust = compileTrustedProxies(opts.trustedProxies ?? []);
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
  // API documents need no credentials, like the health endpoints.
  const documents = new Map(opts.dialects.filter((d) => d.openapi).map((d) => [d.name, d.openapi!]));
  health.get('/openapi/:file', (ctx, next) => {
    const doc = documents.get(ctx.params.file.replace(/\.json$/, ''));
    if (!doc || !ctx.params.file.endsWith('.json')) return next();
    ctx.body = doc;
  });

  const budget = new LogBudget(opts.log, opts.logRejectedPerSecond ?? 0);
  app.use(requestContext(opts.log, budget, opts.metrics && ((ctx, seconds) => opts.metrics!.observeRequest(ctx, seconds))));
  app.use(trailingSlash());
  app.use(selectDialect(opts.dialects));
  // Only dialect paths (API-key clients) get CORS; anything else, such as a future cookie-authenticated
  // console, must never be reachable cross-origin from a browser.
  app.use(dialectCors(opts.dialects, opts.cors));
  app.use(errorMiddleware());
  app.use(notFound());
  app.use(health.routes());
  if (opts.metrics?.router) app.use(opts.metrics.router.routes());
  if (opts.docs !== false) {
    const titles = new Map([...documents].map(([name, doc]) => [name, doc.info.title]));
    app.use(docsRouter([...documents.keys()], titles).routes());
  }
  app.use(admission(opts.maxInFlight ?? 0));
  app.use(bodyParser(opts.maxBodyBytes, opts.maxFileBytes));
  for (const d of opts.dialects) app.use(dialectRoutes(d));
  return app;
}
