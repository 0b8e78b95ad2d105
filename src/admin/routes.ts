// The admin API, /admin/v1: keys (create, list, revoke) and collections (list, create), for `faceserver keys`
// while the server runs. Two guards, both before anything else: the caller's address (loopback, plus
// ADMIN_ALLOWED_ADDRESSES; the socket's own peer, never a forwarded header) and the admin secret
// (`Authorization: Bearer <secret>`, compared by its sha-256 in constant time). Errors are JSON
// {"error": {"code", "message", "details"}}.
import crypto from 'node:crypto';
import net from 'node:net';
import Router from '@koa/router';
import type Koa from 'koa';
import { DomainError, isDomainError, type DomainErrorCode } from '../domain/errors';
import type { KeyInfo } from '../domain/keys';
import type { Dialect } from '../http/app';
import { HTTP_STATUS, HttpError, type ErrorRenderer } from '../http/errors';
import { readCredential } from '../http/auth';
import type { CollectionInfo, KeyAdmin } from './operations';
import type { BulkAdmin } from './bulk';
import { addBulkRoutes } from './bulk-routes';
import { sha256 } from './local-files';

export const ADMIN_PREFIX = '/admin/v1';

const STATUS: Record<DomainErrorCode, number> = {
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
};

export const renderAdminError: ErrorRenderer = (err) => {
  if (isDomainError(err)) {
    const status = STATUS[err.code];
    return {
      status,
      body: { error: { code: err.code, message: err.message, details: err.details } },
      headers: status === 401 ? { 'WWW-Authenticate': 'Bearer realm="faceserver admin"' } : undefined,
    };
  }
  if (err instanceof HttpError) return { status: HTTP_STATUS[err.code], body: { error: { code: err.code, message: err.message } } };
  const status = (err as { status?: number }).status;
  if (status === 405 || status === 501) return { status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: 'method not allowed' } } };
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
};

/** IPv4-mapped IPv6 peers (::ffff:a.b.c.d) as plain IPv4. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/**
 * Loopback always; the configured addresses and CIDR ranges too; `*` anyone. Callers pass the socket's peer
 * (ctx.req.socket.remoteAddress), never clientAddress or a forwarded header: TRUSTED_PROXIES lets a proxy name
 * the client for counting, but a loopback proxy would otherwise pass every request it forwards as loopback, and a
 * client could write "127.0.0.1" into X-Forwarded-For.
 */
export function callerFilter(allowed: readonly string[]): (address: string | undefined) => boolean {
  const list = new net.BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  const anyone = allowed.includes('*');
  for (const entry of allowed) {
    if (entry === '*') continue;
    const [address, bits] = entry.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    if (anyone) return true;
    if (!address) return false;
    const a = plainAddress(address);
    return list.check(a, net.isIPv6(a) ? 'ipv6' : 'ipv4');
  };
}

export interface AdminApiOptions {
  admin: KeyAdmin;
  /** sha-256 of the admin secret. */
  secretHash: Buffer;
  /** ADMIN_ALLOWED_ADDRESSES. */
  allowedAddresses: readonly string[];
  /** Bulk import and export (`faceserver import` / `export`); absent: not served. */
  bulk?: BulkAdmin;
}

function guard(opts: AdminApiOptions): Koa.Middleware {
  const allowed = callerFilter(opts.allowedAddresses);
  return async (ctx, next) => {
    // The socket's peer, never a forwarded address (TRUSTED_PROXIES does not apply: see callerFilter).
    if (!allowed(ctx.req.socket.remoteAddress)) {
      throw new DomainError('FORBIDDEN', 'the admin API answers loopback callers only (see ADMIN_ALLOWED_ADDRESSES)', { address: ctx.req.socket.remoteAddress });
    }
    const credential = readCredential(ctx, ['bearer']);
    if (!credential) throw new DomainError('KEY_MISSING', 'the admin API needs Authorization: Bearer <admin secret>');
    if (!crypto.timingSafeEqual(sha256(credential.secret), opts.secretHash)) throw new DomainError('KEY_INVALID', 'wrong admin secret');
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}

/** A JSON body property: a string, or absent. */
function text(ctx: Koa.Context, name: string, required: true): string;
function text(ctx: Koa.Context, name: string, required?: false): string | undefined;
function text(ctx: Koa.Context, name: string, required = false): string | undefined {
  const v = body(ctx)[name];
  if (v === undefined || v === null) {
    if (required) throw new DomainError('MISSING_ARGUMENT', `"${name}" is required`, { param: name });
    return undefined;
  }
  if (typeof v !== 'string') throw new DomainError('INVALID_ARGUMENT', `"${name}" must be a string`, { param: name, expected: 'string', value: v });
  return v;
}

/** A JSON body property: an array of strings, or absent. */
function texts(ctx: Koa.Context, name: string): string[] | undefined {
  const v = body(ctx)[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new DomainError('INVALID_ARGUMENT', `"${name}" must be an array of strings`, { param: name, expected: 'string[]', value: v });
  }
  return v as string[];
}

function body(ctx: Koa.Context): Record<string, unknown> {
  const b = ctx.request.body as unknown;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

export const keyJson = (k: KeyInfo) => ({ ...k, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null });
export const collectionJson = (c: CollectionInfo) => ({ ...c, createdAt: c.createdAt.toISOString() });

export function createAdminApi(opts: AdminApiOptions): Dialect {
  const { admin } = opts;
  const router = new Router({ prefix: ADMIN_PREFIX });
  router.use(guard(opts));

  router.get('/status', (ctx) => {
    ctx.body = { pid: process.pid };
  });
  router.get('/keys', async (ctx) => {
    const all = ctx.query.all === 'true' || ctx.query.all === '1';
    ctx.body = { keys: (await admin.listKeys({ includeRevoked: all })).map(keyJson) };
  });
  router.post('/keys', async (ctx) => {
    const { key, info } = await admin.createKey({
      kind: text(ctx, 'kind', true),
      scopes: texts(ctx, 'scopes'),
      collections: texts(ctx, 'collections'),
      name: text(ctx, 'name'),
      user: text(ctx, 'user'),
    });
    ctx.status = 201;
    ctx.body = { key, info: keyJson(info) };
  });
  // The key travels in the body, not the path: paths are logged.
  router.post('/keys/revoke', async (ctx) => {
    ctx.body = { revoked: (await admin.revokeKey(text(ctx, 'key', true))).map(keyJson) };
  });
  router.get('/collections', async (ctx) => {
    ctx.body = { collections: (await admin.listCollections()).map(collectionJson) };
  });
  router.post('/collections', async (ctx) => {
    ctx.status = 201;
    ctx.body = { collection: collectionJson(await admin.createCollection(text(ctx, 'name', true))) };
  });
  if (opts.bulk) addBulkRoutes(router, opts.bulk);

  return { name: 'admin', prefixes: [ADMIN_PREFIX], renderError: renderAdminError, router };
}
