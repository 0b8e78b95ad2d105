// Prometheus metrics (issue 16, item 2): GET /metrics on the real server, on both stores, scraped before and
// after real traffic (CompreFace enrolments, recognitions, detections, an error, and a burst the one-worker,
// one-slot queue must refuse), then every family checked to have moved by what the traffic did: requests by
// dialect, route and status with their histograms, inference outcomes, rejections and stages, the matcher's
// faces per collection and searches, the event writer's writes and backlog, the database pool, the process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { Api, createKeys, identificationSet, photo, requireFacedata, type Keys } from './support/compreface';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { REPO_ROOT, startTestServer } from './support/server';

const TOKEN = 'metrics-token-for-the-test-0123';

/** One scrape: every sample by its name and labels, `name{a="x",b="y"}` (labels sorted). */
type Samples = Map<string, number>;

function parseExposition(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    out.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1], Number(m[3]));
  }
  return out;
}

/** A sample's value (0 when the series does not exist yet). */
function value(s: Samples, name: string, labels: Record<string, string> = {}): number {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return s.get(l.length ? `${name}{${l.join(',')}}` : name) ?? 0;
}

/** The sum of every series of `name` whose labels include `labels`. */
function sum(s: Samples, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const [key, v] of s) {
    const brace = key.indexOf('{');
    const n = brace < 0 ? key : key.slice(0, brace);
    if (n !== name) continue;
    if (want.every((w) => key.includes(w))) total += v;
  }
  return total;
}

async function scrape(url: string, token = TOKEN): Promise<Samples> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

for (const storeName of ['embedded', 'postgres'] as const) {
  describe(`metrics at /metrics (${storeName} store)`, function () {
    this.timeout(180_000);
    let server: RunningServer | undefined;
    let temp: TempDatabase | undefined;
    let keys: Keys;

    before(async function () {
      this.timeout(120_000);
      requireFacedata(this);
      // One worker and one waiting slot, so that a burst of requests is refused (BUSY) and counted.
      const env = { WORKERS: '1', QUEUE_SIZE: '1', METRICS_TOKEN: TOKEN, EVENTS_FLUSH_MS: '50' };
      if (storeName === 'postgres') {
        temp = await createTempDatabase(requirePostgres(this));
        server = await startTestServer({ ...env, DATABASE_URL: temp.url });
      } else server = await startTestServer(env);
      keys = await createKeys(server);
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
    });

    it('needs the token when METRICS_TOKEN is set', async () => {
      const none = await fetch(`${server!.url}/metrics`);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'KEY_MISSING');
      assert.equal((await fetch(`${server!.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, 401);
    });

    it('every figure moves by what real traffic did', async () => {
      const s = server!;
      const before = await scrape(s.url);
      const recognition = new Api(s.url, keys.recognition);
      const detection = new Api(s.url, keys.detection);
      const { people } = identificationSet(4);

      for (const p of people) await recognition.enrol(p.name, photo(p.gallery));
      let recognized = 0;
      let probeFaces = 0;
      for (const p of people) {
        const r = await recognition.post('/recognition/recognize', { files: { file: photo(p.probes[0]) } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.result[0].subjects[0].subject, p.name);
        recognized++;
        probeFaces += r.body.result.length;
      }
      const missing = await recognition.delete('/recognition/faces/00000000-0000-4000-8000-000000000000');
      assert.equal(missing.status, 404);
      // A burst against one worker and one waiting slot: some are refused with BUSY (503), each counted.
      let busy = 0;
      let detected = 0;
      for (let round = 0; round < 6 && busy === 0; round++) {
        const replies = await Promise.all(people.concat(people, people, people).map((p) => detection.post('/detection/detect', { files: { file: photo(p.gallery) } })));
        busy += replies.filter((r) => r.status === 503).length;
        detected += replies.filter((r) => r.status === 200).length;
      }
      assert.ok(busy > 0, 'the burst was refused at least once');
      await s.services.events.flush(); // the thumbnail crops first, then the writer
      const after = await scrape(s.url);
      const moved = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
      const movedSum = (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels);

      // Requests by dialect, route and status, and their latency histograms.
      const recognize = { dialect: 'compreface', method: 'POST', route: '/api/v1/recognition/recognize', status: '200' };
      assert.equal(moved('faceserver_http_requests_total', recognize), recognized);
      assert.equal(moved('faceserver_http_request_duration_seconds_count', recognize), recognized);
      assert.ok(moved('faceserver_http_request_duration_seconds_sum', recognize) > 0);
      assert.equal(moved('faceserver_http_request_duration_seconds_bucket', { ...recognize, le: '+Inf' }), recognized);
      const enrol = { dialect: 'compreface', method: 'POST', route: '/api/v1/recognition/faces', status: '201' };
      assert.equal(moved('faceserver_http_requests_total', enrol), people.length);
      const notFound = { dialect: 'compreface', method: 'DELETE', route: '/api/v1/recognition/faces/:image_id', status: '404' };
      assert.equal(moved('faceserver_http_requests_total', notFound), 1, 'an error is counted under its route and status, the id not a label');
      const detect = { dialect: 'compreface', method: 'POST', route: '/api/v1/detection/detect' };
      assert.equal(moved('faceserver_http_requests_total', { ...detect, status: '503' }), busy);
      assert.equal(moved('faceserver_http_requests_total', { ...detect, status: '200' }), detected);
      assert.ok(value(after, 'faceserver_http_requests_total', { dialect: 'none', method: 'GET', route: '/metrics', status: '200' }) >= 1);

      // Inference: outcomes, rejections, stages, the queue.
      assert.equal(moved('faceserver_inference_requests_total', { outcome: 'ok' }), people.length + recognized + detected);
      assert.equal(moved('faceserver_inference_requests_total', { outcome: 'busy' }), busy);
      assert.equal(moved('faceserver_inference_rejections_total'), busy);
      assert.equal(moved('faceserver_inference_duration_seconds_count', { outcome: 'ok' }), people.length + recognized + detected);
      for (const stage of ['decode', 'detect', 'landmarks', 'template']) {
        assert.ok(moved('faceserver_inference_stage_seconds_count', { stage }) > 0, `stage ${stage} timed`);
        assert.ok(moved('faceserver_inference_stage_seconds_sum', { stage }) > 0, `stage ${stage} took time`);
      }
      assert.equal(value(after, 'faceserver_inference_queue_capacity'), 1);
      assert.equal(value(after, 'faceserver_inference_workers'), 1);
      assert.equal(value(after, 'faceserver_inference_queue_depth'), 0);
      assert.equal(value(after, 'faceserver_inference_in_flight'), 0);

      // The matcher: faces of the key's collection (by id and name), searches and their times.
      const collection = [...after.keys()].find((k) => k.startsWith('faceserver_index_faces{') && after.get(k) === people.length);
      assert.ok(collection, `a collection with ${people.length} faces: ${[...after.keys()].filter((k) => k.startsWith('faceserver_index_faces')).join(', ')}`);
      assert.match(collection, /collection="[^"]+"/);
      // One search per face found in a probe (a photo may show more than one person).
      assert.equal(moved('faceserver_searches_total'), probeFaces);
      assert.equal(moved('faceserver_search_duration_seconds_count'), probeFaces);
      assert.ok(moved('faceserver_search_duration_seconds_sum') > 0);
      assert.ok(value(after, 'faceserver_index_memory_bytes') > 0);

      // The event writer: one event per recognized face, written, nothing left behind.
      assert.equal(moved('faceserver_events_written_total'), probeFaces);
      assert.ok(moved('faceserver_events_write_duration_seconds_count') >= 1);
      assert.equal(value(after, 'faceserver_events_pending'), 0);
      assert.equal(moved('faceserver_events_dropped_total'), 0);
      assert.equal(moved('faceserver_events_write_retries_total'), 0);

      // The database pool.
      const max = value(after, 'faceserver_db_pool_connections', { state: 'max' });
      assert.equal(max, storeName === 'postgres' ? 10 : 1);
      assert.ok(value(after, 'faceserver_db_pool_connections', { state: 'total' }) >= 1);
      assert.equal(
        value(after, 'faceserver_db_pool_connections', { state: 'idle' }) + value(after, 'faceserver_db_pool_connections', { state: 'busy' }),
        value(after, 'faceserver_db_pool_connections', { state: 'total' }),
      );
      assert.ok(after.has('faceserver_db_pool_waiting'));

      // What runs.
      const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      assert.equal(value(after, 'faceserver_build_info', { version, node: process.version, database: storeName }), 1);

      // The process.
      assert.ok(value(after, 'process_resident_memory_bytes') > 50e6);
      assert.ok(movedSum('process_cpu_seconds_total') > 0);
      assert.ok(after.has('nodejs_eventloop_lag_seconds'));
      assert.ok(value(after, 'nodejs_heap_size_used_bytes') > 0);
    });
  });
}

describe('metrics switched off (METRICS=false)', function () {
  this.timeout(120_000);
  let server: RunningServer | undefined;
  after(async () => {
    await server?.close();
  });

  it('/metrics is not served', async () => {
    server = await startTestServer({ METRICS: 'false', WORKERS: '1' });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 404);
  });
});
