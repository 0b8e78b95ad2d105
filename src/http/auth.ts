// API key middleware any dialect can mount: reads the key from where that product sends it, checks it against
// the hashed keys for the services the route needs, and attaches the key's grant (service and collection) to
// ctx.state.grant. Failures are domain errors (KEY_MISSING / KEY_MALFORMED / KEY_INVALID) that each dialect
// renders in its own format. Keys are never logged.
import type Koa from 'koa';
import { DomainError } from '../domain/errors';
import type { KeyGrant, KeyService } from '../domain/keys';

declare module 'koa' {
  interface DefaultState {
    grant?: KeyGrant;
  }
}

export interface ApiKeyAuthOptions {
  keys: KeyService;
  /** Where the product sends its key, e.g. the x-api-key header or an Authorization token. */
  read: (ctx: Koa.Context) => string | undefined;
  /** Name of the credential for error messages (e.g. "x-api-key"). */
  name: string;
  /** The services whose keys may use this route. */
  services: (ctx: Koa.Context) => readonly string[];
  /** Product-specific syntax check before the lookup (throw KEY_MALFORMED). */
  validate?: (key: string) => void;
}

export function apiKeyAuth(opts: ApiKeyAuthOptions): Koa.Middleware {
  return async (ctx, next) => {
    const key = opts.read(ctx);
    if (key === undefined || key === '') throw new DomainError('KEY_MISSING', `Missing header: ${opts.name}`, { header: opts.name });
    opts.validate?.(key);
    ctx.state.grant = await opts.keys.authenticate(key, opts.services(ctx));
    await next();
  };
}

/** The authenticated grant of the current request (set by apiKeyAuth). */
export function grantOf(ctx: Koa.Context): KeyGrant {
  const grant = ctx.state.grant;
  if (!grant) throw new DomainError('KEY_MISSING', 'no API key on this request');
  return grant;
}
