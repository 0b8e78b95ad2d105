// Prometheus metrics (prom-client) at GET /metrics, in the text exposition format:
//   requests       faceserver_http_requests_total, faceserver_http_request_duration_seconds
//                  {dialect, method, route (the router's pattern, never the raw path), status}
//   inference      faceserver_inference_queue_depth / _queue_capacity / _workers / _in_flight,
//                  faceserver_inference_requests_total{outcome}, faceserver_inference_rejections_total (BUSY),
//                  faceserver_inference_duration_seconds (queue wait included), faceserver_inference_stage_seconds{stage}
//   matcher        faceserver_index_faces{collection_id, collection}, faceserver_index_memory_bytes,
//                  faceserver_search_duration_seconds, faceserver_searches_total
//   events         faceserver_events_pending, faceserver_events_write_duration_seconds, faceserver_events_written_total,
//                  faceserver_events_dropped_total (refused by the database), faceserver_events_write_retries_total
//   database       faceserver_db_pool_connections{state: max, total, idle, busy}, faceserver_db_pool_waiting
//   keys           faceserver_key_lookups_total (keys read from the database), faceserver_auth_throttled_total
//                  (attempts refused, unread, from blocked addresses), faceserver_auth_blocks_total (addresses blocked)
//   build          faceserver_build_info{version, node, database} = 1
//   process        prom-client's default set (process_cpu_seconds_total, process_resident_memory_bytes,
//                  nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes, nodejs_gc_duration_seconds, ...)
// Guarded by its own settings: METRICS (serve it at all), METRICS_ALLOWED_ADDRESSES (callers besides loopback,
// as for the admin API) and METRICS_TOKEN (a bearer token scrapes must send, when set).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type Koa from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { callerFilter } from './admin/routes';
import type { Config } from './config';
import { DomainError } from './domain/errors';
import type { EngineLike } from './domain/face-analyzer';
import type { FaceSearcher } from './domain/face-search';
import { readCredential } from './http/auth';
import type { Db } from './store/db';

export const METRICS_PATH = '/metrics';

/** package.json's version (src/ and dist/ are both one level below it). */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Request and inference latencies: 1 ms to 30 s. */
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Matcher searches and single stages: 10 µs to 2.5 s. */
const FAST_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/** The process-wide default metrics: one collector per process (each adds event-loop and GC observers). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What the gauges read at each scrape. */
export interface MetricsSources {
  engine: { info(): { queued: number; queueSize: number; workers: number } };
  faceIndex: { loadedCollectionIds(): number[]; size(collectionId: number): number; memoryBytes(): number };
  events: { readonly pending: number };
  db: Db;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'dialect' | 'method' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'dialect' | 'method' | 'route' | 'status'>;
  private readonly inference: Counter<'outcome'>;
  private readonly rejections: Counter;
  private readonly inferenceSeconds: Histogram<'outcome'>;
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly searches: Counter;
  private readonly searchSeconds: Histogram;
  private readonly eventsWritten: Counter;
  private readonly eventWriteSeconds: Histogram;
  private readonly eventsDropped: Counter;
  private readonly eventRetries: Counter;
  private readonly keyLookups: Counter;
  private readonly authThrottled: Counter;
  private readonly authBlocks: Counter;
  private readonly buildInfo: Gauge<'version' | 'node' | 'database'>;
  private inFlight = 0;
  private sources?: MetricsSources;
  private readonly merged: Registry;

  constructor() {
    const registers = [this.registry];
    const labels = ['dialect', 'method', 'route', 'status'] as const;
    this.requests = new Counter({ name: 'faceserver_http_requests_total', help: 'HTTP requests answered', labelNames: labels, registers });
    this.requestSeconds = new Histogram({
      name: 'faceserver_http_request_duration_seconds',
      help: 'HTTP request time, from the first byte read to the answer',
      labelNames: labels,
      buckets: SECONDS,
      registers,
    });
    this.inference = new Counter({ name: 'faceserver_inference_requests_total', help: 'Images given to the engine, by outcome (ok, busy, error)', labelNames: ['outcome'], registers });
    this.rejections = new Counter({ name: 'faceserver_inference_rejections_total', help: 'Images refused at once because the inference queue was full (BUSY)', registers });
    this.inferenceSeconds = new Histogram({
      name: 'faceserver_inference_duration_seconds',
      help: 'Engine time per image, queue wait included, by outcome',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'faceserver_inference_stage_seconds',
      help: 'Engine time per image in each pipeline stage (decode, detect, landmarks, template, and each attribute)',
      labelNames: ['stage'],
      buckets: FAST_SECONDS,
      registers,
    });
    this.searches = new Counter({ name: 'faceserver_searches_total', help: 'Searches of a collection (one per probe face and collection)', registers });
    this.searchSeconds = new Histogram({ name: 'faceserver_search_duration_seconds', help: 'Time of one search of a collection', buckets: FAST_SECONDS, registers });
    this.eventsWritten = new Counter({ name: 'faceserver_events_written_total', help: 'Recognition events written to the database', registers });
    this.eventWriteSeconds = new Histogram({ name: 'faceserver_events_write_duration_seconds', help: 'Time of one COPY of recognition events', buckets: SECONDS, registers });
    this.eventsDropped = new Counter({ name: 'faceserver_events_dropped_total', help: 'Recognition events the database refused outright (logged, then dropped)', registers });
    this.eventRetries = new Counter({ name: 'faceserver_events_write_retries_total', help: 'Event writes that failed for want of the database and were retried', registers });
    this.keyLookups = new Counter({ name: 'faceserver_key_lookups_total', help: 'API keys read from the database (a secret not cached: every unknown one)', registers });
    this.authThrottled = new Counter({
      name: 'faceserver_auth_throttled_total',
      help: 'Authentication attempts refused (429, no database read) because their address made too many failed ones (AUTH_FAILURES_PER_ADDRESS)',
      registers,
    });
    this.authBlocks = new Counter({ name: 'faceserver_auth_blocks_total', help: 'Client addresses blocked for AUTH_BLOCK_SECONDS after too many failed key attempts', registers });
    this.buildInfo = new Gauge({ name: 'faceserver_build_info', help: 'Always 1: the version, Node.js and database kind', labelNames: ['version', 'node', 'database'], registers });

    // collect() runs with the gauge as `this`; these reach the server's parts.
    const sources = () => this.sources;
    const inFlight = () => this.inFlight;
    const gauge = (name: string, help: string, read: (s: MetricsSources) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = sources();
          if (s) this.set(read(s));
        },
      });
    gauge('faceserver_inference_queue_depth', 'Images waiting for an engine worker', (s) => s.engine.info().queued);
    gauge('faceserver_inference_queue_capacity', 'Images that may wait (QUEUE_SIZE); more are refused with BUSY', (s) => s.engine.info().queueSize);
    gauge('faceserver_inference_workers', 'Engine worker threads (WORKERS)', (s) => s.engine.info().workers);
    gauge('faceserver_inference_in_flight', 'Images given to the engine and not answered yet (running or queued)', () => inFlight());
    gauge('faceserver_index_memory_bytes', 'Memory of the in-memory face index', (s) => s.faceIndex.memoryBytes());
    gauge('faceserver_events_pending', 'Recognition events queued and not yet written (the event writer\'s backlog)', (s) => s.events.pending);
    gauge('faceserver_db_pool_waiting', 'Database queries waiting for a connection', (s) => s.db.poolStats?.().waiting ?? 0);
    new Gauge({
      name: 'faceserver_db_pool_connections',
      help: 'Database connections: the pool\'s maximum, open (total), idle and busy',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = sources()?.db.poolStats?.();
        if (!stats) return;
        this.set({ state: 'max' }, stats.max);
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'busy' }, stats.total - stats.idle);
      },
    });
    new Gauge({
      name: 'faceserver_index_faces',
      help: 'Faces in the in-memory index, per collection',
      labelNames: ['collection_id', 'collection'],
      registers,
      async collect() {
        const s = sources();
        if (!s) return;
        this.reset();
        const ids = s.faceIndex.loadedCollectionIds();
        const names = new Map<number, string>();
        if (ids.length) {
          try {
            const r = await s.db.query<{ id: number; name: string }>('SELECT id, name FROM collections WHERE id = ANY($1::bigint[])', [ids]);
            for (const row of r.rows) names.set(Number(row.id), row.name);
          } catch {
            // the database is unreachable: the figures still come, by id
          }
        }
        for (const id of ids) this.set({ collection_id: String(id), collection: names.get(id) ?? '' }, s.faceIndex.size(id));
      },
    });
    this.merged = Registry.merge([processMetrics(), this.registry]);
  }

  /** The running server's parts the gauges read. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
    this.buildInfo.set({ version: packageVersion(), node: process.version, database: sources.db.kind }, 1);
  }

  /** One answered HTTP request (called by the HTTP app for every request). */
  observeRequest(ctx: Koa.Context, seconds: number): void {
    const matched = (ctx as unknown as { _matchedRoute?: unknown })._matchedRoute;
    const labels = {
      dialect: ctx.state.dialect?.name ?? 'none',
      method: ctx.method,
      // The route's pattern (/api/v1/recognition/faces/:image_id), so ids and keys never become label values.
      route: typeof matched === 'string' ? matched : 'unmatched',
      status: String(ctx.status),
    };
    this.requests.inc(labels);
    this.requestSeconds.observe(labels, seconds);
  }

  /** The engine, counted and timed (what EngineFaceAnalyzer calls). */
  meteredEngine(engine: EngineLike): EngineLike {
    return {
      analyze: async (image, options) => {
        const started = performance.now();
        this.inFlight++;
        let outcome = 'error';
        try {
          const r = await engine.analyze(image, options);
          outcome = 'ok';
          for (const [stage, ms] of Object.entries(r.timings)) this.stageSeconds.observe({ stage }, ms / 1000);
          return r;
        } catch (err) {
          if ((err as { code?: string }).code === 'BUSY') {
            outcome = 'busy';
            this.rejections.inc();
          }
          throw err;
        } finally {
          this.inFlight--;
          this.inference.inc({ outcome });
          this.inferenceSeconds.observe({ outcome }, (performance.now() - started) / 1000);
        }
      },
    };
  }

  /** A searcher whose searches are counted and timed. */
  meteredSearcher(searcher: FaceSearcher): FaceSearcher {
    return {
      search: async (collectionId, probe, opts) => {
        const started = performance.now();
        try {
          return await searcher.search(collectionId, probe, opts);
        } finally {
          this.searches.inc();
          this.searchSeconds.observe((performance.now() - started) / 1000);
        }
      },
      personNames: (ids) => searcher.personNames(ids),
    };
  }

  /** The event writer's onWritten, onDropped and onRetry. */
  readonly eventWriterHooks = {
    onWritten: (events: number, ms: number): void => {
      this.eventsWritten.inc(events);
      this.eventWriteSeconds.observe(ms / 1000);
    },
    onDropped: (events: number): void => this.eventsDropped.inc(events),
    onRetry: (): void => this.eventRetries.inc(),
  };

  /** The key service's hooks and the throttle's (faceserver_key_lookups_total, faceserver_auth_*). */
  readonly keyHooks = {
    onLookup: (): void => this.keyLookups.inc(),
    onThrottled: (): void => this.authThrottled.inc(),
    onBlocked: (): void => this.authBlocks.inc(),
  };

  /** Everything, in Prometheus's text format. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.merged.contentType, text: await this.merged.metrics() };
  }

  /** GET /metrics behind METRICS_ALLOWED_ADDRESSES and METRICS_TOKEN. */
  router(config: Pick<Config, 'metricsAllowedAddresses' | 'metricsToken'>): Router {
    const allowed = callerFilter(config.metricsAllowedAddresses);
    const token = config.metricsToken;
    const tokenHash = token ? (token.sha256 ?? crypto.createHash('sha256').update(token.secret!).digest()) : undefined;
    const router = new Router();
    router.get(METRICS_PATH, async (ctx) => {
      // The socket's peer, never a forwarded address (TRUSTED_PROXIES does not apply: see callerFilter).
      if (!allowed(ctx.req.socket.remoteAddress)) {
        throw new DomainError('FORBIDDEN', 'metrics answer loopback callers only (see METRICS_ALLOWED_ADDRESSES)');
      }
      if (tokenHash) {
        const credential = readCredential(ctx, ['bearer']);
        if (!credential) throw new DomainError('KEY_MISSING', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
        const given = crypto.createHash('sha256').update(credential.secret).digest();
        if (!crypto.timingSafeEqual(given, tokenHash)) throw new DomainError('KEY_INVALID', 'wrong metrics token');
      }
      const { contentType, text } = await this.exposition();
      ctx.set('Cache-Control', 'no-store');
      ctx.type = contentType;
      ctx.body = text;
    });
    return router;
  }
}
