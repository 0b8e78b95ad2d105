// The composition root: config -> database (migrated) -> engine -> services -> HTTP. startServer() is what
// `npm start` and the tests call; close() stops accepting, finishes in-flight requests and closes everything.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createLogger, type Logger } from './log';
import { openDb, type Db } from './store/db';
import { migrate } from './store/migrations';
import { verifyModels, type ModelFile } from './engine/models';
import { loadAddon } from './engine/addon';
import { createHttpApp, type ReadyState } from './http/app';
import { Engine } from './engine/engine';
import { EngineFaceAnalyzer } from './domain/face-analyzer';
import { createDomainServices, type DomainServices } from './domain/services';
import { createCompreFaceDialect } from './dialects/compreface';

/** How long an image URL may take to download. */
const IMAGE_URL_TIMEOUT_MS = 10_000;

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  engine: Engine;
  services: DomainServices;
  log: Logger;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const models: ModelFile[] = verifyModels(config.modelsDir);
  const addon = loadAddon();
  log.info({ models: models.map((m) => m.name), native: addon.info() }, 'models verified');

  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let httpServer: http.Server | undefined;
  let engine: Engine | undefined;
  try {
    const report = await migrate(db);
    log.info({ database: db.kind, applied: report.applied, schema: report.current }, 'database ready');

    const readiness = async (): Promise<ReadyState> => {
      const checks: ReadyState['checks'] = {};
      try {
        await db.query('SELECT 1');
        checks.database = { ok: true, detail: db.kind };
      } catch (err) {
        checks.database = { ok: false, detail: (err as Error).message };
      }
      checks.migrations = { ok: true, detail: `schema version ${report.current}` };
      checks.models = { ok: true, detail: `${models.length} verified` };
      return { ready: Object.values(checks).every((c) => c.ok), checks };
    };

    engine = await Engine.open({
      modelsDir: config.modelsDir,
      workers: config.workers,
      queueSize: config.queueSize,
      backend: config.backend,
      limits: { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels, maxWidth: config.maxImageSide, maxHeight: config.maxImageSide },
    });
    const services = createDomainServices({ db, analyzer: new EngineFaceAnalyzer(engine), saveImages: config.saveImages });
    const imageInput = {
      maxBytes: config.maxImageBytes,
      url: { allowPrivate: config.urlFetchAllowPrivate, allowHosts: config.urlFetchAllowHosts, timeoutMs: IMAGE_URL_TIMEOUT_MS },
    };

    const app = createHttpApp({
      log,
      maxBodyBytes: config.maxBodyBytes,
      maxFileBytes: config.maxImageBytes,
      readiness,
      dialects: [createCompreFaceDialect({ services, image: imageInput })],
    });
    httpServer = http.createServer(app.callback());
    const server = httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ url }, 'listening');

    let closing: Promise<void> | undefined;
    const openEngine = engine;
    const close = () =>
      (closing ??= (async () => {
        await stopHttp(server, config.shutdownTimeoutMs);
        await openEngine.close();
        await db.close();
        log.info('stopped');
      })());
    return { url, port, db, engine, services, log, close };
  } catch (err) {
    httpServer?.close();
    await engine?.close().catch(() => undefined);
    await db.close();
    throw err;
  }
}

/** Stops accepting connections, lets in-flight requests finish, then drops idle keep-alive sockets. */
function stopHttp(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
