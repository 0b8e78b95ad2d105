// The face-compare scan API (issue 15): scans under /v1/face-recognition and the SDK gateway's compare_face,
// with OAuth2 bearer tokens (an OpenID Connect provider's, or faceserver's own from /oauth2/token), errors as its
// Spring services render them.
import Router from '@koa/router';
import type { Dialect } from '../../http/app';
import { scans, DIALECT, type ScansDeps } from './context';
import { renderScansError } from './errors';
import { SCANS_OPENAPI } from './openapi';
import { ScanRetention } from './retention';
import { scanRoutes } from './scan-routes';
import { tokenRoutes } from './token-routes';

export type { ScansDeps } from './context';
export { scansSettings } from './context';

export interface ScansApi {
  dialect: Dialect;
  /** Starts the retention of old scans (SCANS_RETENTION_DAYS). */
  start(onRetention?: (deleted: number, err?: Error) => void): void;
  close(): Promise<void>;
}

export function createScansDialect(deps: ScansDeps): ScansApi {
  const s = scans(deps);
  const router = new Router();
  scanRoutes(router, s);
  tokenRoutes(router, s);
  let retention: ScanRetention | undefined;
  return {
    dialect: {
      name: DIALECT,
      prefixes: ['/v1/face-recognition', '/face-recognition-sdk', '/oauth2'],
      renderError: renderScansError,
      router,
      // Spring's @RequestParam (query string, form and multipart fields) and a JSON body.
      paramSources: ['query', 'json', 'form', 'multipart'],
      // Browser clients send their bearer token.
      cors: { allowHeaders: ['Authorization'] },
      openapi: SCANS_OPENAPI,
    },
    start(onRetention) {
      retention ??= new ScanRetention(deps.db, deps.settings.retentionDays, onRetention);
      retention.start();
    },
    async close() {
      await retention?.stop();
    },
  };
}
