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
import { createHttpApp, type Dialect, type ReadyState } from './http/app';
import { Engine, engineOptions } from './engine/engine';
import { AuthThrottle } from './domain/auth-throttle';
import { EngineFaceAnalyzer } from './domain/face-analyzer';
import { checkCalibration, loadCalibration } from './domain/calibration';
import { createDomainServices, type DomainServices } from './domain/services';
import { createCompreFaceDialect } from './dialects/compreface';
import { createScansDialect, scansSettings } from './dialects/scans';
import { createFaceIntellectDialect, faceIntellectSettings } from './dialects/faceintellect';
import { createFindFaceDialect, findfaceSettings } from './dialects/findface';
import { createImageApiDialect, imageApiSettings } from './dialects/imageapi';
import { KEY_KINDS } from './dialects/key-kinds';
import { FaceIndex } from './face-index/face-index';
import { nativeMatchers } from './face-index/native-matcher';
import { RetentionJob } from './store/retention';
import { EventWriter } from './store/event-writer';
import { createServerAdmin } from './admin';
import { engineCapacity, LocalBulkAdmin } from './admin/bulk';
import { createConsole, FaceCropper, ThumbnailingEventSink, UnkeptPhotoCrops } from './console';
import { ServerMetrics } from './metrics';

/** How long an image URL may take to download. */
const IMAGE_URL_TIMEOUT_MS = 10_000;

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  engine: Engine;
  services: DomainServices;
  /** The APIs it serves (their routers and documents). */
  dialects: Dialect[];
  /** The Prometheus metrics (also served at /metrics unless METRICS=false). */
  metrics: ServerMetrics;
  /** The recognition-event writer (its queue and flush). */
  events: EventWriter;
  log: Logger;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const models: ModelFile[] = verifyModels(config.modelsDir);
  const calibration = loadCalibration();
  checkCalibration(calibration, config.modelsDir);
  const addon = loadAddon();
  log.info({ models: models.map((m) => m.name), native: addon.info() }, 'models verified');

  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, fsync: config.embeddedFsync });
  const metrics = new ServerMetrics();
  let httpServer: http.Server | undefined;
  let engine: Engine | undefined;
  let faceIndex: FaceIndex | undefined;
  let retention: RetentionJob | undefined;
  let closeScans = async () => {};
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
      // The session that keeps the in-memory index in step with other instances (re-opened by itself when lost).
      checks.notifications = db.notificationsUp() ? { ok: true, detail: 'listening' } : { ok: false, detail: 'reconnecting to the database' };
      checks.migrations = { ok: true, detail: `schema version ${report.current}` };
      checks.models = { ok: true, detail: `${models.length} verified` };
      return { ready: Object.values(checks).every((c) => c.ok), checks };
    };

    engine = await Engine.open(engineOptions(config));
    // The in-memory index: loaded before the server listens, then kept in step (LISTEN/NOTIFY + re-reads).
    faceIndex = new FaceIndex(db, {
      createMatcher: nativeMatchers(),
      versionCheckMs: 10_000,
      onError: (err, context) => log.warn({ err, context }, 'face index'),
      onResync: (reloaded) => log.info({ reloaded }, 'face index resynchronised after the notification session was re-established'),
    });
    const loaded = await faceIndex.start();
    log.info({ ...loaded, ms: Math.round(loaded.ms), memoryBytes: faceIndex.memoryBytes() }, 'face index loaded');
    retention = new RetentionJob(db, config.historyRetentionDays, (deleted, err) => {
      if (err) log.warn({ err }, 'history retention failed');
      else if (deleted) log.info({ deleted }, 'old recognition events deleted');
    });
    retention.start();
    const events = new EventWriter(db, { log: log.child({ component: 'recognition-events' }), delayMs: config.eventsFlushMs, ...metrics.eventWriterHooks });
    metrics.attach({ engine, faceIndex, events, db });
    // Face crops for the console (THUMBNAILS): events get theirs cut behind the response, between the domain
    // and the writer; faces whose photos are not kept get theirs cut behind the enrolment.
    const cropper = new FaceCropper(config.thumbnailSize);
    const thumbnailLog = log.child({ component: 'thumbnails' });
    const eventSink = new ThumbnailingEventSink(events, config.thumbnails ? cropper : null, thumbnailLog);
    const unkeptPhotoCrops = config.thumbnails ? new UnkeptPhotoCrops(db, cropper, thumbnailLog) : undefined;
    // Failed key attempts per client address (src/domain/auth-throttle.ts): a flood of bad keys is refused
    // without database reads once an address reaches AUTH_FAILURES_PER_ADDRESS. Over PostgreSQL the failures are
    // counted in the database, shared by every instance on it; the embedded store's one process counts in memory.
    const throttle = new AuthThrottle({
      failures: config.authFailuresPerAddress,
      windowSeconds: config.authFailuresWindowSeconds,
      blockSeconds: config.authBlockSeconds,
      shared: db.kind === 'postgres' ? db : undefined,
      onSharedError: (err) => log.warn({ err }, 'failed key attempts could not be counted in the database: counting them in memory meanwhile'),
      onThrottled: metrics.keyHooks.onThrottled,
      onBlocked: (client, failures, blockSeconds) => {
        metrics.keyHooks.onBlocked();
        log.warn({ client, failures, blockSeconds }, 'client address blocked after failed key attempts');
      },
    });
    const services = createDomainServices({
      db,
      // With thumbnails on, the engine cuts each face's crop from the image it decoded (no second decode).
      analyzer: new EngineFaceAnalyzer(metrics.meteredEngine(engine), config.thumbnails ? config.thumbnailSize : 0),
      calibration,
      keyKinds: KEY_KINDS,
      keyOptions: { throttle, onLookup: metrics.keyHooks.onLookup },
      keepPhotos: config.saveImages,
      searcher: metrics.meteredSearcher(faceIndex),
      changes: faceIndex,
      events: eventSink,
      unkeptPhotos: unkeptPhotoCrops?.sink,
    });
    const imageInput = {
      maxBytes: config.maxImageBytes,
      url: { allowPrivate: config.urlFetchAllowPrivate, allowHosts: config.urlFetchAllowHosts, timeoutMs: IMAGE_URL_TIMEOUT_MS },
    };

    const openedEngine = engine;
    const bulk = new LocalBulkAdmin(db, services.faces, faceIndex, () => engineCapacity(openedEngine), 'this server', config.saveImages);
    const admin = createServerAdmin(config, { keys: services.keys, db, log, bulk });
    // Every API the server speaks, each a table of routes over the same services (src/dialects/).
    const scans = createScansDialect({ services, db, image: imageInput, settings: scansSettings(config) });
    const dialects: Dialect[] = [createCompreFaceDialect({ services, image: imageInput }), scans.dialect, ...admin.dialects];
    dialects.push(createFaceIntellectDialect({ services, db, image: imageInput, settings: faceIntellectSettings(config) }));
    dialects.push(createFindFaceDialect({ services, db, image: imageInput, settings: findfaceSettings(config), cropper }));
    dialects.push(createImageApiDialect({ services, image: imageInput, settings: imageApiSettings(config) }));
    dialects.push(
      ...createConsole(config, {
        services,
        db,
        engine,
        faceIndex,
        eventsPending: () => events.pending,
        thumbnails: eventSink,
        cropper,
        schemaVersion: report.current,
        dialectNames: dialects.map((d) => d.name).filter((name) => name !== 'admin'),
      }),
    );
    const app = createHttpApp({
      log,
      maxBodyBytes: config.maxBodyBytes,
      maxFileBytes: config.maxImageBytes,
      readiness,
      dialects,
      cors: { origins: config.corsOrigins },
      docs: config.apiDocs,
      metrics: { observeRequest: (ctx, seconds) => metrics.observeRequest(ctx, seconds), router: config.metrics ? metrics.router(config) : undefined },
      maxInFlight: config.maxRequestsInFlight,
      logRejectedPerSecond: config.logRejectedPerSecond,
      trustedProxies: config.trustedProxies,
    });
    // Slow and idle clients: headers, whole requests and idle keep-alive connections have deadlines, checked
    // every second (Node's default check runs every 30 s), and the number of connections is capped.
    httpServer = http.createServer(
      {
        headersTimeout: config.headersTimeoutMs,
        requestTimeout: config.requestTimeoutMs,
        keepAliveTimeout: config.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
      },
      app.callback(),
    );
    if (config.maxConnections) httpServer.maxConnections = config.maxConnections;
    const server = httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ url }, 'listening');
    scans.start((deleted, err) => {
      if (err) log.warn({ err }, 'scan retention failed');
      else if (deleted) log.info({ deleted }, 'old scans deleted');
    });
    closeScans = () => scans.close();
    admin.publish(port); // DATA_DIR/server.json: how `faceserver keys` finds this server

    let closing: Promise<void> | undefined;
    const openEngine = engine;
    const [openIndex, openRetention] = [faceIndex, retention];
    const close = () =>
      (closing ??= (async () => {
        admin.unpublish();
        await stopHttp(server, config.shutdownTimeoutMs);
        await eventSink.cropsDone(); // events still waiting for their thumbnail go to the writer, which closes next
        await unkeptPhotoCrops?.idle();
        await events.close(config.shutdownTimeoutMs); // the events of the last requests, written before the database closes
        await openRetention.stop();
        await closeScans();
        await openIndex.close();
        await openEngine.close();
        await db.close();
        log.info('stopped');
      })());
    return { url, port, db, engine, services, dialects, metrics, events, log, close };
  } catch (err) {
    httpServer?.close();
    await retention?.stop();
    await closeScans();
    await faceIndex?.close();
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
