// The web console, mounted by the composition root as one more path prefix of the HTTP app (/console) with no
// CORS (src/http/app.ts gives CORS to dialects that ask for it; the console never does). Its page and bundle
// (assets.ts), its JSON API over the domain services (api.ts), and the admin API's operator routes for the CLI.
import crypto from 'node:crypto';
import Router from '@koa/router';
import type { Config } from '../config';
import type { DomainServices } from '../domain/services';
import type { Engine } from '../engine/engine';
import type { FaceIndex } from '../face-index/face-index';
import type { Dialect } from '../http/app';
import type { Db } from '../store/db';
import { adminSecretHash, sha256 } from '../admin/local-files';
import { OperatorAccounts, Sessions } from './accounts';
import { consoleApi } from './api';
import { consoleAssets } from './assets';
import { renderConsoleError } from './errors';
import type { ThumbnailingEventSink } from './event-thumbnails';
import { CONSOLE_PATH, securityHeaders } from './http';
import { operatorsAdminApi } from './operators-admin';
import { statusSource } from './status';
import type { FaceCropper } from './thumbnails';

export { ThumbnailingEventSink } from './event-thumbnails';
export { FaceCropper } from './thumbnails';
export { UnkeptPhotoCrops } from './face-crops';

export interface ConsoleDeps {
  services: DomainServices;
  db: Db;
  engine: Engine;
  faceIndex: FaceIndex;
  /** The event writer's queue length. */
  eventsPending: () => number;
  thumbnails: ThumbnailingEventSink;
  cropper: FaceCropper;
  schemaVersion: number;
  /** The names of the dialects the server speaks (history filter). */
  dialectNames: readonly string[];
}

/** The console's dialects: /console itself (when CONSOLE is on) and /admin/v1/operators (when ADMIN_API is on). */
export function createConsole(config: Config, deps: ConsoleDeps): Dialect[] {
  // With ADMIN_API=false no secret is generated: the admin secret signs in only when ADMIN_SECRET gives one.
  const secretHash = config.adminApi || config.adminSecret ? adminSecretHash(config).hash : undefined;
  const operators = new OperatorAccounts(deps.db);
  const dialects: Dialect[] = [];
  if (config.adminApi && secretHash) dialects.push(operatorsAdminApi({ operators, secretHash, allowedAddresses: config.adminAllowedAddresses }));
  if (!config.console) return dialects;

  const sessions = new Sessions(deps.db, { idleMs: config.consoleSessionIdleMinutes * 60_000, maxMs: config.consoleSessionHours * 3_600_000 });
  const router = new Router();
  router.use(securityHeaders());
  const api = consoleApi({
    services: deps.services,
    db: deps.db,
    sessions,
    operators,
    adminSecretMatches: (secret) => secretHash !== undefined && crypto.timingSafeEqual(sha256(secret), secretHash),
    pathPrefix: config.consolePathPrefix,
    cropper: deps.cropper,
    keepCrops: config.thumbnails,
    status: statusSource({
      db: deps.db,
      engine: deps.engine,
      faceIndex: deps.faceIndex,
      eventsPending: deps.eventsPending,
      thumbnails: deps.thumbnails,
      cropper: deps.cropper,
      schemaVersion: deps.schemaVersion,
      settings: { saveImages: config.saveImages, thumbnails: config.thumbnails, historyRetentionDays: config.historyRetentionDays },
    }),
    dialectNames: [...deps.dialectNames, 'console'],
  });
  router.use(api.routes());
  router.use(consoleAssets({ pathPrefix: config.consolePathPrefix }).routes());
  dialects.push({ name: 'console', prefixes: [CONSOLE_PATH], renderError: renderConsoleError, router });
  return dialects;
}
