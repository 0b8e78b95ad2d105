// The CompreFace REST v1 dialect: routes under /api/v1 mapped onto the domain services, errors rendered as
// CompreFace renders them.
import Router from '@koa/router';
import type { Dialect } from '../../http/app';
import { compreFaceAuth } from './auth';
import { compreFace, DIALECT, type CompreFaceDeps } from './context';
import { renderCompreFaceError } from './errors';
import { COMPREFACE_OPENAPI } from './openapi';
import { recognitionRoutes } from './recognition-routes';
import { serviceRoutes } from './service-routes';

export type { CompreFaceDeps } from './context';

export function createCompreFaceDialect(deps: CompreFaceDeps): Dialect {
  const router = new Router({ prefix: '/api/v1' });
  // The static image URL carries its key in the path; every other route needs the x-api-key header.
  const keyed = compreFaceAuth(deps.services.keys);
  router.use(async (ctx, next) => (ctx.path.startsWith('/api/v1/static/') ? next() : keyed(ctx, next)));
  // A raw image/* body stands for the "file" part (a convenience; CompreFace itself takes multipart or JSON).
  const cf = compreFace({ ...deps, image: { ...deps.image, rawBodyField: 'file' } });
  recognitionRoutes(router, cf);
  serviceRoutes(router, cf);
  return {
    name: DIALECT,
    prefixes: ['/api/v1'],
    renderError: renderCompreFaceError,
    router,
    // Spring's @RequestParam: the query string and form fields (urlencoded or multipart), not a JSON body.
    paramSources: ['query', 'form', 'multipart'],
    // Browser clients (CompreFace's HTML demos) send their key in x-api-key.
    cors: { allowHeaders: ['x-api-key'] },
    openapi: COMPREFACE_OPENAPI,
  };
}
