// Operator accounts through the admin API (/admin/v1/operators), for `faceserver operators` while the server
// runs (the embedded database is open in one process only). The same two guards as the rest of the admin API:
// a loopback (or ADMIN_ALLOWED_ADDRESSES) caller, and the admin secret as a bearer token.
import crypto from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import { DomainError } from '../domain/errors';
import type { Dialect } from '../http/app';
import { readCredential } from '../http/auth';
import { params } from '../http/params';
import { ADMIN_PREFIX, callerFilter, renderAdminError } from '../admin/routes';
import { sha256 } from '../admin/local-files';
import type { Operator, OperatorAccounts } from './accounts';

export const OPERATORS_PATH = `${ADMIN_PREFIX}/operators`;

export const operatorJson = (o: Operator) => ({ username: o.username, createdAt: o.createdAt.toISOString() });

export function operatorsAdminApi(opts: { operators: OperatorAccounts; secretHash: Buffer; allowedAddresses: readonly string[] }): Dialect {
  const allowed = callerFilter(opts.allowedAddresses);
  const guard: Koa.Middleware = async (ctx, next) => {
    // The socket's peer, never a forwarded address (TRUSTED_PROXIES does not apply: see callerFilter).
    if (!allowed(ctx.req.socket.remoteAddress)) throw new DomainError('FORBIDDEN', 'the admin API answers loopback callers only (see ADMIN_ALLOWED_ADDRESSES)');
    const credential = readCredential(ctx, ['bearer']);
    if (!credential) throw new DomainError('KEY_MISSING', 'the admin API needs Authorization: Bearer <admin secret>');
    if (!crypto.timingSafeEqual(sha256(credential.secret), opts.secretHash)) throw new DomainError('KEY_INVALID', 'wrong admin secret');
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
  const router = new Router({ prefix: OPERATORS_PATH });
  router.use(guard);
  const text = (ctx: Koa.Context, name: string) => params(ctx, ['json']).string(name, { required: true, trim: false });
  router.get('/', async (ctx) => {
    ctx.body = { operators: (await opts.operators.list()).map(operatorJson) };
  });
  router.post('/', async (ctx) => {
    ctx.status = 201;
    ctx.body = { operator: operatorJson(await opts.operators.create(text(ctx, 'username'), text(ctx, 'password'))) };
  });
  router.post('/password', async (ctx) => {
    await opts.operators.setPassword(text(ctx, 'username'), text(ctx, 'password'));
    ctx.body = { changed: true };
  });
  router.post('/remove', async (ctx) => {
    ctx.body = { removed: await opts.operators.remove(text(ctx, 'username')) };
  });
  return { name: 'admin', prefixes: [OPERATORS_PATH], renderError: renderAdminError, router };
}
