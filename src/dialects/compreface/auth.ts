// CompreFace's key rules: the x-api-key header, a UUID, of the service the path belongs to.
import type Koa from 'koa';
import { DomainError } from '../../domain/errors';
import type { KeyService } from '../../domain/keys';
import { apiKeyAuth } from '../../http/auth';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkKeyFormat(key: string): void {
  if (!UUID_RE.test(key)) throw new DomainError('KEY_MALFORMED', 'Service API key should be UUID');
}

/** The service a CompreFace path belongs to: /api/v1/<service>/... */
export function serviceOfPath(path: string): string {
  const m = /^\/api\/v1\/(recognition|detection|verification)(\/|$)/.exec(path);
  return m ? m[1] : 'recognition';
}

export function compreFaceAuth(keys: KeyService): Koa.Middleware {
  return apiKeyAuth({
    keys,
    name: 'x-api-key',
    read: (ctx) => ctx.get('x-api-key') || undefined,
    validate: checkKeyFormat,
    services: (ctx) => [serviceOfPath(ctx.path)],
  });
}
