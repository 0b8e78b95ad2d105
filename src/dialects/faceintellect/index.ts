// ITV / AxxonSoft Face Intellect's Face Recognition Server API (issue 14): FindFaces and the person database under
// /firserver (and /<prefix>/firserver), HTTP Basic credentials (or none, for the servers configured as anonymous), errors in its Status /
// Description envelope.
import Router from '@koa/router';
import type Koa from 'koa';
import type { Dialect } from '../../http/app';
import { HttpError } from '../../http/errors';
import { DIALECT, faceIntellect, faceIntellectAuth, type FaceIntellectDeps } from './context';
import { renderFaceIntellectError } from './errors';
import { FACE_INTELLECT_OPENAPI } from './openapi';
import { faceIntellectRoutes } from './routes';

export type { FaceIntellectDeps } from './context';
export { faceIntellectSettings } from './context';

export function createFaceIntellectDialect(deps: FaceIntellectDeps): Dialect {
  const fi = faceIntellect(deps);
  const router = new Router({ prefix: '/firserver' });
  router.use(jsonInText());
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
    pathAlias: firserverBehindPrefix,
  };
}

/**
 * The documented `http://IP-address:port/prefix/firserver/...` form: a path with segments in front of
 * `/firserver` is answered as `/firserver/...`. The HTTP app asks only when no API's prefix matches, so a prefix
 * another API owns (`/v1/firserver/...` is FindFace's) stays that API's.
 */
export function firserverBehindPrefix(path: string): string | undefined {
  return /^(?:\/[^/]+)+?(\/firserver(?:\/.*)?)$/.exec(path)?.[1];
}

/**
 * A JSON object sent as text/plain (scripts of VMS integrations often leave the content type at that) is read
 * as the JSON it is; any other text body stays text.
 */
function jsonInText(): Koa.Middleware {
  return async (ctx, next) => {
    const text = ctx.request.body as unknown;
    if (ctx.request.bodyKind === 'text' && typeof text === 'string' && text.trimStart().startsWith('{')) {
      try {
        ctx.request.body = JSON.parse(text);
      } catch (err) {
        throw new HttpError('MALFORMED_JSON', `malformed request body: ${(err as Error).message}`);
      }
      ctx.request.bodyKind = 'json';
    }
    await next();
  };
}
