// OAuth2 bearer authentication of the scan API's routes: the request's `Authorization: Bearer <JWT>` verified
// (token-verifier.ts) into the principal on ctx.state.scanPrincipal, then the route's permission checked:
// 401 for no, a malformed, an expired or a foreign token; 403 for a valid token that may not do this.
import type Koa from 'koa';
import { DomainError } from '../../domain/errors';
import { readCredential } from '../../http/auth';
import type { Scans } from './context';
import type { ScanPrincipal } from './token-verifier';

declare module 'koa' {
  interface DefaultState {
    scanPrincipal?: ScanPrincipal;
  }
}

export type Permission = keyof ScanPrincipal['may'];

const VERBS: Record<Permission, string> = { create: 'create scans', read: 'read scans', update: 'update scans' };

function whyNot(s: Scans, permission: Permission, principal: ScanPrincipal): string {
  if (principal.issuedBy === 'faceserver') {
    const scope = { create: 'verify', read: 'read', update: 'write' }[permission];
    return `this client may not ${VERBS[permission]} (its key lacks the "${scope}" scope)`;
  }
  const p = s.settings.provider;
  return `this token may not ${VERBS[permission]}: it needs the role "${p?.updateRole}" (claims: ${p?.rolesClaims.join(', ')})`;
}

/** Route middleware: a verified bearer token that may do `permission`. */
export function bearer(s: Scans, permission: Permission): Koa.Middleware {
  return async (ctx, next) => {
    const credential = readCredential(ctx, ['bearer']);
    if (!credential) throw new DomainError('KEY_MISSING', 'Full authentication is required to access this resource (send Authorization: Bearer <access token>)');
    const principal = await s.verifier.verify(credential.secret);
    if (!principal.may[permission]) throw new DomainError('FORBIDDEN', whyNot(s, permission, principal), { permission });
    ctx.state.scanPrincipal = principal;
    await next();
  };
}

export function principalOf(ctx: Koa.Context): ScanPrincipal {
  const p = ctx.state.scanPrincipal;
  if (!p) throw new DomainError('KEY_MISSING', 'Full authentication is required to access this resource');
  return p;
}
