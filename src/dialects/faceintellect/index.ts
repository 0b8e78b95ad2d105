// ITV / AxxonSoft Face Intellect's Face Recognition Server API (issue 14): FindFaces and the person database under
// /firserver, HTTP Basic credentials (or none, for the servers configured as anonymous), errors in its Status /
// Description envelope.
import Router from '@koa/router';
import type { Dialect } from '../../http/app';
import { DIALECT, faceIntellect, faceIntellectAuth, type FaceIntellectDeps } from './context';
import { renderFaceIntellectError } from './errors';
import { FACE_INTELLECT_OPENAPI } from './openapi';
import { faceIntellectRoutes } from './routes';

export type { FaceIntellectDeps } from './context';
export { faceIntellectSettings } from './context';

export function createFaceIntellectDialect(deps: FaceIntellectDeps): Dialect {
  const fi = faceIntellect(deps);
  const router = new Router({ prefix: '/firserver' });
  router.use(faceIntellectAuth(fi));
  faceIntellectRoutes(router, fi);
  return {
    name: DIALECT,
    prefixes: ['/firserver'],
    renderError: renderFaceIntellectError,
    router,
    // A JSON body as the product's clients send it; the query string and form fields too.
    paramSources: ['json', 'query', 'form', 'multipart'],
    cors: { allowHeaders: ['Authorization'] },
    openapi: FACE_INTELLECT_OPENAPI,
  };
}
