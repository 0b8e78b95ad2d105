// The CompreFace REST v1 dialect: routes under /api/v1 mapped onto the domain services, errors rendered as
// CompreFace renders them.
import Router from '@koa/router';
import type { Dialect } from '../../http/app';
import { compreFaceAuth } from './auth';
import { compreFace, DIALECT, type CompreFaceDeps } from './context';
import { renderCompreFaceError } from './errors';
import { recognitionRoutes } from './recognition-routes';
import { serviceRoutes } from './service-routes';

export type { CompreFaceDeps } from './context';

export function createCompreFaceDialect(deps: CompreFaceDeps): Dialect {
  const router = new Router({ prefix: '/api/v1' });
  // The static image URL carries its key in the path; every other route needs the x-api-key header.
  const keyed = compreFaceAuth(deps.services.keys);
  router.use(async (ctx, next) => (ctx.path.startsWith('/api/v1/static/') ? next() : keyed(ctx, next)));
  const cf = compreFace(deps);
  recognitionRoutes(router, cf);
  serviceRoutes(router, cf);
  return { name: DIALECT, prefixes: ['/api/v1'], renderError: renderCompreFaceError, router };
}
