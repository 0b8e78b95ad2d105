// Authentication any dialect can mount. A dialect says which credential schemes its clients use and which key
// kinds it takes; a route (or the dialect, per request) which scope it needs. The request's credential is
// resolved to one KeyGrant on ctx.state.grant. Failures are domain errors each dialect renders its own way:
// KEY_MISSING (no credential), KEY_MALFORMED (one that cannot be read), KEY_INVALID (unknown, revoked, or of
// another kind), FORBIDDEN (a valid key without the scope), AUTH_THROTTLED (the caller's address made too many
// failed attempts: src/domain/auth-throttle.ts). Credentials are never logged.
import type Koa from 'koa';
import { DomainError } from '../domain/errors';
import { checkCollection, checkScope, type KeyGrant, type KeyKind, type KeyService, type Scope } from '../domain/keys';
import { clientAddress } from './client-address';

declare module 'koa' {
  interface DefaultState {
    grant?: KeyGrant;
  }
}

/**
 * Where a credential travels: the `x-api-key` header; `Authorization: Token <t>`; `Authorization: Bearer <t>`;
 * HTTP Basic (`Authorization: Basic base64(user:password)`, the password being the secret); a `TOKEN` header.
 */
export const AUTH_SCHEMES = ['x-api-key', 'token', 'bearer', 'basic', 'token-header'] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

export interface Credential {
  scheme: AuthScheme;
  secret: string;
  /** The Basic user name. */
  user?: string;
}

const AUTHORIZATION_SCHEMES: Partial<Record<AuthScheme, string>> = { token: 'token', bearer: 'bearer', basic: 'basic' };

const malformed = (message: string, scheme: AuthScheme | string) => new DomainError('KEY_MALFORMED', message, { scheme });

function parseBasic(value: string): { user: string; secret: string } {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw malformed('the Basic credentials are not base64', 'basic');
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) throw malformed('the Basic credentials are not "user:password"', 'basic');
  return { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * The request's credential by the first of `schemes` it carries, or undefined when it carries none. An
 * Authorization header whose scheme the dialect does not take is KEY_MALFORMED (when the dialect takes any
 * Authorization scheme at all), so a client that sends the wrong one learns why.
 */
export function readCredential(ctx: Koa.Context, schemes: readonly AuthScheme[]): Credential | undefined {
  const authorization = ctx.get('authorization').trim();
  const [word = '', ...rest] = authorization.split(/\s+/);
  const value = rest.join(' ');
  for (const scheme of schemes) {
    if (scheme === 'x-api-key' || scheme === 'token-header') {
      const secret = ctx.get(scheme === 'x-api-key' ? 'x-api-key' : 'token');
      if (secret) return { scheme, secret };
    } else if (authorization && word.toLowerCase() === AUTHORIZATION_SCHEMES[scheme]) {
      if (!value) throw malformed(`the Authorization header has no ${word} credentials`, scheme);
      if (scheme === 'basic') return { scheme, ...parseBasic(value) };
      return { scheme, secret: value };
    }
  }
  const takesAuthorization = schemes.some((s) => AUTHORIZATION_SCHEMES[s]);
  if (authorization && takesAuthorization) {
    const taken = schemes.flatMap((s) => AUTHORIZATION_SCHEMES[s] ?? []).join(', ');
    throw malformed(`the Authorization scheme "${word}" is not accepted here (accepted: ${taken})`, word.toLowerCase());
  }
  return undefined;
}

export interface KeyAuthOptions {
  keys: KeyService;
  /** The credential schemes this dialect's clients use, tried in this order. */
  schemes: readonly AuthScheme[];
  /** The key kinds this dialect (or this request's path) takes. */
  kinds: readonly KeyKind[] | ((ctx: Koa.Context) => readonly KeyKind[]);
  /** The scope every request needs, or the scope of this request; routes may also use requireScope. */
  scope?: Scope | ((ctx: Koa.Context) => Scope | undefined);
  /** The dialect's own syntax check of a credential before the lookup (throw KEY_MALFORMED). */
  validate?: (credential: Credential) => void;
}

/**
 * The address failed key attempts are counted under: the socket's peer, or behind a proxy listed in
 * TRUSTED_PROXIES the client it forwarded (src/http/client-address.ts). Never a forwarded header otherwise.
 */
export { clientAddress };

/** Resolves the request's credential to a grant (without setting it on the context). */
export async function authenticateRequest(ctx: Koa.Context, opts: KeyAuthOptions): Promise<KeyGrant> {
  const credential = readCredential(ctx, opts.schemes);
  if (!credential) throw new DomainError('KEY_MISSING', `no credentials (send one of: ${opts.schemes.join(', ')})`, { schemes: opts.schemes });
  opts.validate?.(credential);
  const kinds = typeof opts.kinds === 'function' ? opts.kinds(ctx) : opts.kinds;
  const scope = typeof opts.scope === 'function' ? opts.scope(ctx) : opts.scope;
  return opts.keys.authenticate(credential.secret, kinds, { user: credential.user, scope, client: clientAddress(ctx) });
}

/** Middleware: authenticates every request and sets ctx.state.grant. */
export function keyAuth(opts: KeyAuthOptions): Koa.Middleware {
  return async (ctx, next) => {
    ctx.state.grant = await authenticateRequest(ctx, opts);
    await next();
  };
}

/** Route middleware: FORBIDDEN unless the request's key has the scope. */
export function requireScope(scope: Scope): Koa.Middleware {
  return async (ctx, next) => {
    checkScope(grantOf(ctx), scope);
    await next();
  };
}

/** The authenticated grant of the current request (set by keyAuth). */
export function grantOf(ctx: Koa.Context): KeyGrant {
  const grant = ctx.state.grant;
  if (!grant) throw new DomainError('KEY_MISSING', 'no credentials on this request');
  return grant;
}

/**
 * COLLECTION_NOT_FOUND unless the request's key may see the collection (`asked`: the name or id the client
 * used, for the error). Not FORBIDDEN, so that a key cannot tell others' collections from absent ones.
 */
export function requireCollection(ctx: Koa.Context, collectionId: number, asked?: string | number): void {
  checkCollection(grantOf(ctx), collectionId, asked);
}

/** The request's default collection (its key's first), or undefined for a key that sees none. */
export function defaultCollectionOf(ctx: Koa.Context): number | undefined {
  return grantOf(ctx).collectionIds[0];
}
