// The console's HTTP guards: where it lives behind a proxy, the session cookie, the CSRF rule and the headers
// every console response carries.
//
// CSRF: the cookie is SameSite=Strict and HttpOnly, so another site's page cannot send it; on top of that
// every state-changing call must carry the session's CSRF token in X-CSRF-Token (a header no cross-site form
// can set, and no cross-site script can either, since the console answers no CORS preflight), and any request
// a browser marks Sec-Fetch-Site: cross-site or same-site is refused. Sign-in, which has no session yet, must
// be JSON (not a form another site could post).
import crypto from 'node:crypto';
import type Koa from 'koa';
import type { Session, Sessions } from './accounts';
import { ConsoleError } from './errors';

export const CONSOLE_PATH = '/console';
export const COOKIE_NAME = 'faceserver_console';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'koa' {
  interface DefaultState {
    consoleSession?: Session & { token: string };
  }
}

const PREFIX_RE = /^(\/[A-Za-z0-9._~-]+)+$/;

/** The path the browser sees faceserver under: CONSOLE_PATH_PREFIX, else a well-formed X-Forwarded-Prefix. */
export function publicPrefix(ctx: Koa.Context, configured: string): string {
  if (configured) return configured;
  const forwarded = ctx.get('x-forwarded-prefix').trim().replace(/\/+$/, '');
  return PREFIX_RE.test(forwarded) ? forwarded : '';
}

/** Whether the browser reached us over HTTPS (directly, or through a proxy that says so). */
function secure(ctx: Koa.Context): boolean {
  return (ctx.req.socket as { encrypted?: boolean }).encrypted === true || ctx.get('x-forwarded-proto').split(',')[0].trim() === 'https';
}

export function setSessionCookie(ctx: Koa.Context, prefix: string, token: string | null): void {
  const attrs = [`Path=${prefix}${CONSOLE_PATH}`, 'HttpOnly', 'SameSite=Strict'];
  if (secure(ctx)) attrs.push('Secure');
  if (token === null) attrs.push('Max-Age=0');
  ctx.append('Set-Cookie', `${COOKIE_NAME}=${token ?? ''}; ${attrs.join('; ')}`);
}

export function sessionToken(ctx: Koa.Context): string | undefined {
  const header = ctx.get('cookie');
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE_NAME) {
      const token = value.join('=');
      return /^[A-Za-z0-9_-]{43}$/.test(token) ? token : undefined;
    }
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refuses requests a browser says come from another site (any method: reads are data too). */
export function sameOriginOnly(): Koa.Middleware {
  return (ctx, next) => {
    const site = ctx.get('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') throw new ConsoleError('CSRF', 'the console answers its own pages only');
    return next();
  };
}

/** Every API call but signing in: a live session, and for unsafe methods its CSRF token. */
export function requireSession(sessions: Sessions): Koa.Middleware {
  return async (ctx, next) => {
    const token = sessionToken(ctx);
    const session = token ? await sessions.find(token) : undefined;
    if (!token || !session) throw new ConsoleError('SIGN_IN_REQUIRED', 'sign in first (the session is missing or has expired)');
    if (!SAFE_METHODS.has(ctx.method)) {
      const sent = Buffer.from(ctx.get(CSRF_HEADER));
      const expected = Buffer.from(session.csrfToken);
      if (sent.length !== expected.length || !crypto.timingSafeEqual(sent, expected)) {
        throw new ConsoleError('CSRF', `this request needs the session's ${CSRF_HEADER} header`);
      }
    }
    ctx.state.consoleSession = { ...session, token };
    await next();
  };
}

/** The content security policy: everything from the console itself; photos the browser holds (blob:) too. */
const CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set({
      'Content-Security-Policy': CSP,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    await next();
  };
}
