// The OAuth2 token endpoint for deployments without an identity provider (RFC 6749 section 4.4, client
// credentials): a 'scans' key's client id and secret, by HTTP Basic (client_secret_basic) or in the form
// (client_secret_post), for a short-lived JWT access token. The client's company is its key's default
// collection (`faceserver keys create --kind scans --user CLIENT_ID --collection COMPANY`), or the client id
// itself when the key names none. The signing keys' public halves are served as a JWKS.
import type Router from '@koa/router';
import type Koa from 'koa';
import { isDomainError } from '../../domain/errors';
import { isScope, type KeyGrant } from '../../domain/keys';
import { clientAddress } from '../../http/auth';
import { params } from '../../http/params';
import type { Scans } from './context';
import { OAuthError } from './errors';

export const TOKEN_PATH = '/oauth2/token';
export const JWKS_PATH = '/oauth2/jwks';

/** The key kind whose id and secret the token endpoint takes. */
export const CLIENT_KIND = 'scans';

interface ClientCredentials {
  clientId: string;
  secret: string;
  basic: boolean;
}

/** RFC 6749 section 2.3.1: Basic's user and password are form-urlencoded before base64. */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new OAuthError(400, 'invalid_request', 'the client credentials are not form-urlencoded', true);
  }
}

function clientCredentials(ctx: Koa.Context): ClientCredentials {
  const p = params(ctx, ['form', 'json']);
  const formId = p.string('client_id');
  const formSecret = p.string('client_secret');
  const authorization = ctx.get('authorization').trim();
  if (authorization) {
    const m = /^basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(authorization);
    if (!m) throw new OAuthError(401, 'invalid_client', 'client authentication is HTTP Basic (client_secret_basic) or client_id and client_secret in the form', true);
    if (formSecret !== undefined) throw new OAuthError(400, 'invalid_request', 'the client authenticated twice (Basic and client_secret)', true);
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new OAuthError(401, 'invalid_client', 'the Basic credentials are not "client_id:client_secret"', true);
    const clientId = formDecode(decoded.slice(0, colon));
    if (formId !== undefined && formId !== clientId) throw new OAuthError(400, 'invalid_request', 'client_id differs from the authenticated client', true);
    return { clientId, secret: formDecode(decoded.slice(colon + 1)), basic: true };
  }
  if (formId === undefined || formSecret === undefined) throw new OAuthError(401, 'invalid_client', 'no client credentials (HTTP Basic, or client_id and client_secret)');
  return { clientId: formId, secret: formSecret, basic: false };
}

/** The scopes asked for (space-separated `scope`), each granted to the key; all of the key's when absent. */
function grantedScopes(ctx: Koa.Context, grant: KeyGrant): string[] {
  const asked = params(ctx, ['form', 'json']).string('scope');
  if (asked === undefined) return [...grant.scopes];
  const scopes = [...new Set(asked.split(/\s+/).filter(Boolean))];
  const refused = scopes.find((sc) => !isScope(sc) || !grant.scopes.includes(sc));
  if (refused !== undefined) throw new OAuthError(400, 'invalid_scope', `scope "${refused}" is not granted to this client (its scopes: ${grant.scopes.join(' ')})`);
  return scopes;
}

export function tokenRoutes(router: Router, s: Scans): void {
  router.post(TOKEN_PATH, async (ctx) => {
    try {
      await issueToken(ctx, s);
    } catch (err) {
      // A parameter of the wrong type, in OAuth2's terms.
      if (isDomainError(err, 'INVALID_ARGUMENT') || isDomainError(err, 'MISSING_ARGUMENT')) throw new OAuthError(400, 'invalid_request', err.message);
      throw err;
    }
  });

  router.get(JWKS_PATH, async (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = await s.issuer.jwks();
  });
}

async function issueToken(ctx: Koa.Context, s: Scans): Promise<void> {
  const credentials = clientCredentials(ctx);
  const grantType = params(ctx, ['form', 'json']).string('grant_type');
  if (grantType === undefined) throw new OAuthError(400, 'invalid_request', 'grant_type is required', credentials.basic);
  if (grantType !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported', credentials.basic);
  let grant: KeyGrant;
  try {
    grant = await s.services.keys.verifyClientSecret(credentials.clientId, credentials.secret, [CLIENT_KIND], clientAddress(ctx));
  } catch (err) {
    if (isDomainError(err, 'KEY_INVALID')) throw new OAuthError(401, 'invalid_client', 'unknown client, wrong secret, or a revoked client', credentials.basic);
    if (isDomainError(err, 'AUTH_THROTTLED')) {
      const retryAfter = err.details.retryAfterSeconds as number;
      throw new OAuthError(429, 'temporarily_unavailable', err.message, credentials.basic, retryAfter);
    }
    throw err;
  }
  const scopes = grantedScopes(ctx, grant);
  const collection = grant.collectionIds[0];
  const company = collection === undefined ? credentials.clientId : (await s.services.collections.get(collection)).name;
  const token = await s.issuer.issue({ clientId: credentials.clientId, company, scopes });
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.body = { access_token: token.accessToken, token_type: 'Bearer', expires_in: token.expiresIn, scope: token.scope };
}
