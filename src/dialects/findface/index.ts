// NtechLab FindFace's REST API v0 / v1 (issue 12): detect, verify, identify, faces with meta and galleries,
// persons and camera history, with `Authorization: Token <token>` (key kind "findface") and FindFace's error
// body {"code", "reason"}. Parameters come as JSON, a urlencoded form, multipart fields or the query string.
import Router from '@koa/router';
import type { Dialect } from '../../http/app';
import { DIALECT, findFace, type FindFaceDeps } from './context';
import { renderFindFaceError } from './errors';
import { FINDFACE_OPENAPI } from './openapi';
import { registerRoutes, UNVERSIONED_PREFIXES } from './routes';

export type { FindFaceDeps } from './context';
export { findfaceSettings } from './context';

export function createFindFaceDialect(deps: FindFaceDeps): Dialect {
  const router = new Router();
  registerRoutes(router, findFace(deps));
  return {
    name: DIALECT,
    // The pre-v0 paths without a version too (/face, /identify, ...): no other API's prefix starts with them.
    prefixes: ['/v0', '/v1', ...UNVERSIONED_PREFIXES],
    renderError: renderFindFaceError,
    router,
    paramSources: ['json', 'form', 'multipart', 'query'],
    cors: { allowHeaders: ['Authorization'] },
    openapi: FINDFACE_OPENAPI,
  };
}
