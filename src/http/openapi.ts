// Each dialect's OpenAPI 3 document, served at /openapi/<dialect>.json without credentials, and the routes a
// dialect's router really serves, so a test can hold the two equal (a route missing from its document, or a
// documented route that is not served, fails it).
import type Router from '@koa/router';
import type { OpenAPIV3 } from 'openapi-types';

export type OpenApiDocument = OpenAPIV3.Document;

export interface RouteKey {
  method: string;
  /** OpenAPI style: /v1/faces/{id}. */
  path: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/** Koa-router's "/faces/:id" as OpenAPI's "/faces/{id}" (a trailing slash dropped: both forms are served). */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/(.)\/$/, '$1');
}

/** Every method and path the router answers (HEAD, which it adds to each GET, left out). */
export function servedRoutes(router: Router): RouteKey[] {
  const out = new Map<string, RouteKey>();
  for (const layer of router.stack) {
    const paths = Array.isArray(layer.path) ? layer.path : [layer.path];
    for (const p of paths) {
      if (typeof p !== 'string') continue;
      for (const m of layer.methods) {
        if (m === 'HEAD') continue;
        const key = { method: m.toLowerCase(), path: openApiPath(p) };
        out.set(`${key.method} ${key.path}`, key);
      }
    }
  }
  return [...out.values()];
}

/** Every method and path the document describes. */
export function documentedRoutes(doc: OpenApiDocument): RouteKey[] {
  const out: RouteKey[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) if (item?.[m]) out.push({ method: m, path });
  }
  return out;
}
