// The console's status page: models and engine queue, the in-memory matcher per collection, the database,
// the recognition-event backlog (writer queue and thumbnails waiting), the version.
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine';
import type { FaceIndex } from '../face-index/face-index';
import type { Db } from '../store/db';
import type { ThumbnailingEventSink } from './event-thumbnails';
import { storeFigures } from './queries';
import type { FaceCropper } from './thumbnails';

export interface StatusSource {
  matcherSizes(): Map<number, number>;
  report(): Promise<Record<string, unknown>>;
}

export interface StatusDeps {
  db: Db;
  engine: Engine;
  faceIndex: FaceIndex;
  /** The event writer's queue length. */
  eventsPending: () => number;
  thumbnails: ThumbnailingEventSink;
  cropper: FaceCropper | null;
  schemaVersion: number;
  settings: { saveImages: boolean; thumbnails: boolean; historyRetentionDays: number };
}

const PACKAGE = path.resolve(import.meta.dirname, '../../package.json');
const version = (() => {
  try {
    return (JSON.parse(fs.readFileSync(PACKAGE, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
const startedAt = new Date();

export function statusSource(d: StatusDeps): StatusSource {
  const matcherSizes = () => new Map(d.faceIndex.loadedCollectionIds().map((id) => [id, d.faceIndex.size(id)]));
  return {
    matcherSizes,
    async report() {
      const info = d.engine.info();
      let database: Record<string, unknown>;
      try {
        const figures = await storeFigures(d.db);
        database = { ok: true, kind: d.db.kind, schemaVersion: d.schemaVersion, ...figures };
      } catch (err) {
        database = { ok: false, kind: d.db.kind, schemaVersion: d.schemaVersion, error: (err as Error).message };
      }
      const crops = d.cropper?.stats;
      return {
        version,
        node: process.version,
        startedAt,
        uptimeSeconds: Math.round(process.uptime()),
        memoryRssBytes: process.memoryUsage().rss,
        models: info.models,
        engine: {
          backend: info.backend,
          workers: info.workers,
          queued: info.queued,
          queueSize: info.queueSize,
          opencv: info.addon.opencv ?? info.addon.opencvVersion ?? null,
        },
        matcher: {
          memoryBytes: d.faceIndex.memoryBytes(),
          collections: [...matcherSizes()].map(([collectionId, size]) => ({ collectionId, size })),
        },
        database,
        events: {
          writerQueue: d.eventsPending(),
          thumbnails: d.thumbnails.stats(),
          crops: crops ? { count: crops.count, failed: crops.failed, meanMs: crops.count ? Math.round((crops.ms / crops.count) * 10) / 10 : null } : null,
        },
        settings: d.settings,
      };
    },
  };
}
