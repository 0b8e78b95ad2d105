// Status: models, engine queue, matcher size per collection, database, event backlog, version; refreshed every
// 5 seconds while shown.
import { useEffect } from 'preact/hooks';
import { get, type Collection } from '../api';
import { Alert, fmtBytes, fmtInt, fmtTime, PageHeader, useLoad } from '../ui';

interface Status {
  version: string;
  node: string;
  startedAt: string;
  uptimeSeconds: number;
  memoryRssBytes: number;
  models: { name: string; file: string; bytes: number }[];
  engine: { backend: { requested: string; used: string; fallbackReason?: string }; workers: number; queued: number; queueSize: number; opencv: { version?: string } | null };
  matcher: { memoryBytes: number; collections: { collectionId: number; size: number }[] };
  database: {
    ok: boolean;
    kind: string;
    schemaVersion: number;
    error?: string;
    collections?: number;
    persons?: number;
    faces?: number;
    events?: number;
    eventsLastDay?: number;
    eventsWithThumbnail?: number;
    databaseBytes?: number | null;
  };
  events: { writerQueue: number; thumbnails: { pending: number; skipped: number; failed: number }; crops: { count: number; failed: number; meanMs: number | null } | null };
  settings: { saveImages: boolean; thumbnails: boolean; historyRetentionDays: number };
}

const uptime = (s: number) => (s < 3600 ? `${Math.round(s / 60)} min` : s < 86400 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} days`);

export function StatusPage() {
  const status = useLoad(() => get<Status>('status'), []);
  const collections = useLoad(() => get<{ collections: Collection[] }>('collections'), []);
  useEffect(() => {
    const t = setInterval(status.reload, 5000);
    return () => clearInterval(t);
  }, []);
  const s = status.data;
  const names = new Map(collections.data?.collections.map((c) => [c.id, c.name]));
  return (
    <>
      <PageHeader title="Status" />
      {status.error && <Alert>{status.error}</Alert>}
      {s && (
        <div class="status-grid">
          <section class="card" aria-labelledby="st-server">
            <h2 id="st-server">Server</h2>
            <dl class="details">
              <dt>Version</dt>
              <dd>faceserver {s.version}</dd>
              <dt>Node.js</dt>
              <dd>{s.node}</dd>
              <dt>Up since</dt>
              <dd>
                {fmtTime(s.startedAt)} ({uptime(s.uptimeSeconds)})
              </dd>
              <dt>Memory</dt>
              <dd>{fmtBytes(s.memoryRssBytes)}</dd>
              <dt>Settings</dt>
              <dd>
                photos {s.settings.saveImages ? 'kept' : 'not kept'} · thumbnails {s.settings.thumbnails ? 'on' : 'off'} · history kept{' '}
                {s.settings.historyRetentionDays ? `${s.settings.historyRetentionDays} days` : 'forever'}
              </dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="st-engine">
            <h2 id="st-engine">Engine</h2>
            <dl class="details">
              <dt>Backend</dt>
              <dd>
                {s.engine.backend.used}
                {s.engine.backend.fallbackReason ? ` (asked for ${s.engine.backend.requested}: ${s.engine.backend.fallbackReason})` : ''}
              </dd>
              <dt>Workers</dt>
              <dd>{s.engine.workers}</dd>
              <dt>Queue</dt>
              <dd data-testid="engine-queue">
                {s.engine.queued} waiting of {s.engine.queueSize} allowed
              </dd>
              <dt>OpenCV</dt>
              <dd>{s.engine.opencv?.version ?? '—'}</dd>
            </dl>
            <table class="table compact">
              <caption>Models loaded</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">File</th>
                  <th scope="col" class="num">
                    Size
                  </th>
                </tr>
              </thead>
              <tbody>
                {s.models.map((m) => (
                  <tr key={m.name}>
                    <td>{m.name}</td>
                    <td>
                      <code>{m.file.split('/').pop()}</code>
                    </td>
                    <td class="num">{fmtBytes(m.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="st-matcher">
            <h2 id="st-matcher">Matcher</h2>
            <p>In memory: {fmtBytes(s.matcher.memoryBytes)}</p>
            <table class="table compact">
              <caption>Faces in the matcher per collection</caption>
              <thead>
                <tr>
                  <th scope="col">Collection</th>
                  <th scope="col" class="num">
                    Faces
                  </th>
                </tr>
              </thead>
              <tbody>
                {s.matcher.collections.map((c) => (
                  <tr key={c.collectionId}>
                    <td>{names.get(c.collectionId) ?? `#${c.collectionId}`}</td>
                    <td class="num">{fmtInt(c.size)}</td>
                  </tr>
                ))}
                {!s.matcher.collections.length && (
                  <tr>
                    <td colSpan={2} class="empty">
                      No collection loaded yet.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="st-db">
            <h2 id="st-db">Database</h2>
            <dl class="details">
              <dt>State</dt>
              <dd>{s.database.ok ? 'reachable' : `unreachable: ${s.database.error}`}</dd>
              <dt>Kind</dt>
              <dd>{s.database.kind === 'embedded' ? 'embedded (PGlite)' : 'PostgreSQL server'}</dd>
              <dt>Schema</dt>
              <dd>version {s.database.schemaVersion}</dd>
              <dt>Size</dt>
              <dd>{fmtBytes(s.database.databaseBytes)}</dd>
              <dt>Contents</dt>
              <dd>
                {fmtInt(s.database.collections)} collections · {fmtInt(s.database.persons)} persons · {fmtInt(s.database.faces)} faces
              </dd>
              <dt>Recognition events</dt>
              <dd>
                {fmtInt(s.database.events)} in all, {fmtInt(s.database.eventsLastDay)} in the last 24 h
                {s.database.eventsWithThumbnail !== undefined && s.database.eventsWithThumbnail >= 0 ? ` · ${fmtInt(s.database.eventsWithThumbnail)} with a thumbnail` : ''}
              </dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="st-events">
            <h2 id="st-events">Event backlog</h2>
            <dl class="details">
              <dt>Waiting to be written</dt>
              <dd data-testid="event-backlog">{fmtInt(s.events.writerQueue)}</dd>
              <dt>Waiting for a thumbnail</dt>
              <dd>{fmtInt(s.events.thumbnails.pending)}</dd>
              <dt>Written without one</dt>
              <dd>
                {fmtInt(s.events.thumbnails.skipped)} (crops behind) · {fmtInt(s.events.thumbnails.failed)} (crop failed)
              </dd>
              <dt>Crops cut</dt>
              <dd>{s.events.crops ? `${fmtInt(s.events.crops.count)}, ${s.events.crops.meanMs ?? '—'} ms each on average` : '—'}</dd>
            </dl>
          </section>
        </div>
      )}
    </>
  );
}
