// CompreFace's key rules: the x-api-key header, a UUID, a key of the service the path belongs to (a detection
// key fails on a recognition endpoint and the reverse, as in CompreFace), with CompreFace's error wording. The
// scope a request needs follows from its path and method.
import type Koa from 'koa';
import { DomainError, isDomainError } from '../../domain/errors';
import type { KeyGrant, KeyService, Scope } from '../../domain/keys';
import { authenticateRequest } from '../../http/auth';

export const SERVICES = ['recognition', 'detection', 'verification'] as const;
export type CompreFaceService = (typeof SERVICES)[number];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkKeyFormat(key: string): void {
  if (!UUID_RE.test(key)) throw new DomainError('KEY_MALFORMED', 'Service API key should be UUID');
}

/** The service a CompreFace path belongs to: /api/v1/<service>/... */
export function serviceOfPath(path: string): CompreFaceService {
  const m = /^\/api\/v1\/(recognition|detection|verification)(\/|$)/.exec(path);
  return m ? (m[1] as CompreFaceService) : 'recognition';
}

/** The scope a request needs: the detection and verification services' own; search, compare, read or change. */
export function scopeOfRequest(method: string, path: string): Scope {
  const p = path.replace(/^\/api\/v1/, '').replace(/\/+$/, '');
  if (p.startsWith('/detection/')) return 'detect';
  if (p.startsWith('/verification/')) return 'verify';
  if (p === '/recognition/recognize' || p === '/recognition/embeddings/recognize') return 'identify';
  if (/^\/recognition\/(embeddings\/)?faces\/[^/]+\/verify$/.test(p)) return 'verify';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** Domain key errors in CompreFace's words. */
function inCompreFaceWords(err: unknown, service: CompreFaceService, key: string): unknown {
  if (isDomainError(err, 'KEY_MISSING')) return new DomainError('KEY_MISSING', 'Missing header: x-api-key', { header: 'x-api-key' });
  if (isDomainError(err, 'KEY_INVALID')) return new DomainError('KEY_INVALID', `${service} service with API Key ${key} not found`, { service });
  return err;
}

async function authenticate(ctx: Koa.Context, keys: KeyService, service: CompreFaceService, scope: Scope): Promise<KeyGrant> {
  try {
    return await authenticateRequest(ctx, { keys, schemes: ['x-api-key'], kinds: [service], scope, validate: (c) => checkKeyFormat(c.secret) });
  } catch (err) {
    throw inCompreFaceWords(err, service, ctx.get('x-api-key'));
  }
}

export function compreFaceAuth(keys: KeyService): Koa.Middleware {
  return async (ctx, next) => {
    ctx.state.grant = await authenticate(ctx, keys, serviceOfPath(ctx.path), scopeOfRequest(ctx.method, ctx.path));
    await next();
  };
}

/** The collection of the recognition key in a static image URL (`/static/{key}/images/{id}`: read scope). */
export async function staticImageCollection(keys: KeyService, key: string, client: string): Promise<number> {
  checkKeyFormat(key);
  try {
    return (await keys.authenticate(key, ['recognition'], { scope: 'read', client })).collectionIds[0];
  } catch (err) {
    throw inCompreFaceWords(err, 'recognition', key);
  }
}
