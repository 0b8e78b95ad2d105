// `npm run bench:http`: the CompreFace recognize endpoint under load on loopback (autocannon), against a
// collection of 10k subjects, next to the raw engine pipeline (decode, detect, landmarks, align, embed) on the
// same probe photos with the same concurrency, in the same run. The difference is what HTTP, parsing, the
// collection search, the subject lookup and the recognition-event insert cost on top of the pipeline.
//
//   npm run bench:http -- [--subjects 10000] [--seconds 15] [--connections 4] [--probes 20] [--rounds 3]
//   DATABASE_URL=postgres://... npm run bench:http     (PostgreSQL instead of the embedded store)
//   DATABASE_URL=postgres://... npm run bench:http -- --target http://127.0.0.1:8080 \
//       --instances http://127.0.0.1:8101,http://127.0.0.1:8102   (several instances: scripts/cluster.sh)
//
// With --target the load goes to that URL (a balancer in front of instances over the same DATABASE_URL)
// instead of this process's own server, which still sets the collection up in the shared database and runs the
// pipeline rounds; the probes must first be found through the target. With --instances it also measures how
// long a face enrolled on one instance takes to be found by searches on another (benchmarks/lib/propagation.ts).
//
// The 10k subjects are synthesised straight into the store (persons, faces, memberships in bulk SQL) with
// real-like embeddings: each is a real face embedding from ../shared/facedata (LFW distractors) plus Gaussian
// noise of the same norm, renormalised (cosine ~0.7 to its seed, so they are distinct identities spread like
// real ones). The probed people are enrolled over HTTP from their gallery photos; probes are their other
// photos, so every probe has its mate in the 10k collection. Prints one JSON line.
import { fork } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import autocannon, { type Result as LoadResult } from 'autocannon';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { startServer, type RunningServer } from '../src/server';
import { Engine } from '../src/engine/engine';
import { vectorToSql } from '../src/store/vector';
import { measurePropagation, summarize } from './lib/propagation';

const FACEDATA = path.resolve(import.meta.dirname, '../../shared/facedata');

interface Args {
  subjects: number;
  seconds: number;
  connections: number;
  probes: number;
  /** Alternating pipeline / HTTP rounds the measured seconds are split into. */
  rounds: number;
  /** Where the load goes instead of this process's server (a balancer over the same database). */
  target: string;
  /** Instances to measure write propagation between (comma-separated URLs). */
  instances: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { subjects: 10_000, seconds: 15, connections: 4, probes: 20, rounds: 3, target: '', instances: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Args;
    if (!(key in a)) throw new Error(`unknown option ${argv[i]}`);
    if (typeof a[key] === 'string') (a[key] as string) = argv[i + 1];
    else (a[key] as number) = Number(argv[i + 1]);
  }
  if ((a.target || a.instances) && !process.env.DATABASE_URL) throw new Error('--target and --instances need DATABASE_URL: the database the instances share');
  return a;
}

function readTsv(file: string): string[][] {
  return fs.readFileSync(path.join(FACEDATA, file), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
}

/** Probed people (gallery + one probe each) and distractor photos that seed the synthetic subjects. */
function pickPhotos(probes: number) {
  const rows = readTsv('identification.tsv').filter((r) => r[2] === 'lfw');
  const gallery = new Map<string, string>();
  const probe = new Map<string, string>();
  for (const [p, id, , role] of rows) {
    if (role === 'gallery') gallery.set(id, p);
    if (role === 'probe' && !probe.has(id)) probe.set(id, p);
  }
  const people = [...gallery.keys()].filter((id) => probe.has(id)).sort().slice(0, probes);
  const seeds = rows.filter((r) => r[3] === 'distractor').map((r) => r[0]);
  return { people: people.map((id) => ({ id, gallery: gallery.get(id)!, probe: probe.get(id)! })), seeds };
}

function gaussian(): number {
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

/** A seed embedding plus noise of the same norm, renormalised. */
function around(seed: Float32Array): Float32Array {
  const out = new Float32Array(seed.length);
  const sigma = 1 / Math.sqrt(seed.length);
  let n = 0;
  for (let i = 0; i < seed.length; i++) {
    out[i] = seed[i] + gaussian() * sigma;
    n += out[i] * out[i];
  }
  n = Math.sqrt(n);
  for (let i = 0; i < seed.length; i++) out[i] /= n;
  return out;
}

async function synthesiseSubjects(server: RunningServer, collectionId: number, n: number, seeds: Float32Array[]): Promise<void> {
  const batch = 1000;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const names = Array.from({ length: count }, (_, i) => `synthetic-${start + i}`);
    const embeddings = names.map((_, i) => around(seeds[(start + i) % seeds.length]));
    await server.db.transaction(async (tx) => {
      const persons = await tx.query<{ id: number }>(
        `INSERT INTO persons (owner_collection_id, name) SELECT $1, unnest($2::text[]) RETURNING id`,
        [collectionId, names],
      );
      const faces = await tx.query<{ id: number }>(
        `INSERT INTO faces (person_id, template, embedding)
         SELECT p, t, e::vector FROM unnest($1::bigint[], $2::bytea[], $3::text[]) AS x(p, t, e) RETURNING id`,
        [persons.rows.map((r) => r.id), embeddings.map((e) => Engine.templateFromEmbedding(e)), embeddings.map((e) => vectorToSql(e))],
      );
      await tx.query(`INSERT INTO face_collections (collection_id, face_id) SELECT $1, unnest($2::bigint[])`, [
        collectionId,
        faces.rows.map((r) => r.id),
      ]);
    });
  }
}

function multipart(field: string, bytes: Buffer): { body: Buffer; type: string } {
  const boundary = `----faceserver${crypto.randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="probe.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), type: `multipart/form-data; boundary=${boundary}` };
}

/** The raw pipeline: `connections` concurrent callers of engine.analyze for `seconds`, as recognize calls it. */
async function enginePipelineRate(
  engine: Engine,
  images: Buffer[],
  connections: number,
  seconds: number,
): Promise<{ count: number; seconds: number; p50: number; p99: number }> {
  const deadline = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const img = images[next++ % images.length];
      const t0 = performance.now();
      await engine.analyze(img, { detectFaces: true, template: true, maxFaces: 0, attributes: [] });
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { count: latencies.length, seconds: elapsed, p50: pct(50), p99: pct(99) };
}

const round = (x: number, d = 1) => Number(x.toFixed(d));

interface LoadJob {
  url: string;
  key: string;
  connections: number;
  seconds: number;
  probes: string[];
}

/**
 * autocannon in one child process, started once and given a job per round, so the server process's CPU time
 * counts only the server's work. It is started before any measuring: forking a process marks every page of
 * the parent copy-on-write, and the server's threads would pay a page fault for each page they write next
 * (thousands per round for the inference threads), which is the benchmark's cost, not the HTTP layer's.
 */
class LoadGenerator {
  private readonly child = fork(import.meta.filename, ['--load-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  private failure: Error | undefined;

  constructor() {
    this.child.once('error', (err) => (this.failure = err));
    this.child.once('exit', (code) => (this.failure ??= new Error(`load generator exited with ${code}`)));
  }

  run(job: LoadJob): Promise<LoadResult & { clientCpuMs: number }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const onExit = () => reject(this.failure ?? new Error('load generator exited'));
      this.child.once('exit', onExit);
      this.child.once('message', (m) => {
        this.child.off('exit', onExit);
        resolve(m as LoadResult & { clientCpuMs: number });
      });
      this.child.send(job);
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

/** The child: runs each job it is sent, reports autocannon's result, and exits when the parent disconnects. */
function loadChild(): void {
  const bodies = new Map<string, { body: Buffer; type: string }>();
  process.on('message', async (job: LoadJob) => {
    const requests = job.probes.map((p) => {
      if (!bodies.has(p)) bodies.set(p, multipart('file', fs.readFileSync(path.join(FACEDATA, p))));
      const { body, type } = bodies.get(p)!;
      return { method: 'POST', path: '/api/v1/recognition/recognize', headers: { 'x-api-key': job.key, 'content-type': type }, body };
    });
    const cpu0 = cpuMs();
    const result = await autocannon({ url: job.url, connections: job.connections, duration: job.seconds, requests });
    // The client shares the machine's cores with the server: its CPU is part of why HTTP wall rates fall behind.
    process.send!({ ...result, clientCpuMs: cpuMs() - cpu0 });
  });
}

/** Garbage-collection pauses of the main thread, summed (ms). */
let gcPauseMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauseMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

/** Process CPU time (every thread: event loop, engine workers, embedded database) in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const CLOCK_TICKS_PER_MS = 0.1; // USER_HZ is 100 on Linux

/** CPU time (ms) and minor page faults of the server process's threads, grouped. */
interface ThreadUsage {
  /** The event loop: HTTP, JSON, matcher calls, the embedded database. */
  main: number;
  /** The engine's inference threads (named fs-engine-N by the addon). */
  engine: number;
  /** Everything else: V8's compiler and garbage-collector helpers, libuv, the matcher's threads. */
  other: number;
  engineFaults: number;
}

/** Per-thread CPU from /proc (Node 20 has no per-thread CPU clock); zeros where /proc is missing. */
function threadUsage(): ThreadUsage {
  const usage: ThreadUsage = { main: 0, engine: 0, other: 0, engineFaults: 0 };
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return usage;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread has ended
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_MS; // utime, stime
    if (tid === String(process.pid)) usage.main += ms;
    else if (name.startsWith('fs-engine')) {
      usage.engine += ms;
      usage.engineFaults += Number(fields[7]); // minflt
    } else usage.other += ms;
  }
  return usage;
}

function addUsage(total: ThreadUsage, before: ThreadUsage, after: ThreadUsage): void {
  for (const k of Object.keys(total) as (keyof ThreadUsage)[]) total[k] += after[k] - before[k];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(FACEDATA, 'identification.tsv'))) throw new Error(`${FACEDATA} is missing`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-http-'));
  const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  const load = new LoadGenerator(); // forked before the server starts: see LoadGenerator
  const server = await startServer(config, pino({ level: 'silent' })).catch((err: unknown) => {
    load.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  try {
    const { key } = await server.services.keys.create('recognition');
    const collectionId = (await server.services.keys.authenticate(key, ['recognition'])).collectionIds[0];
    const { people, seeds } = pickPhotos(args.probes);

    // Seeds: real embeddings of LFW distractor photos.
    const seedEmbeddings: Float32Array[] = [];
    for (const p of seeds) {
      const r = await server.engine.analyze(fs.readFileSync(path.join(FACEDATA, p)), { template: true, maxFaces: 1 });
      if (r.faces[0]?.embedding) seedEmbeddings.push(r.faces[0].embedding);
    }
    const t0 = performance.now();
    await synthesiseSubjects(server, collectionId, args.subjects - people.length, seedEmbeddings);
    const synthMs = performance.now() - t0;

    // The probed people, enrolled over HTTP like any client would.
    for (const p of people) {
      const { body, type } = multipart('file', fs.readFileSync(path.join(FACEDATA, p.gallery)));
      const res = await fetch(`${server.url}/api/v1/recognition/faces?subject=${encodeURIComponent(p.id)}`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': type },
        body: new Uint8Array(body),
      });
      if (res.status !== 201) throw new Error(`enrol ${p.id}: ${res.status} ${await res.text()}`);
    }
    const subjects = (await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM persons WHERE owner_collection_id = $1`, [collectionId])).rows[0].n;

    const probeImages = people.map((p) => fs.readFileSync(path.join(FACEDATA, p.probe)));
    const requests = probeImages.map((img) => {
      const { body, type } = multipart('file', img);
      return { method: 'POST', path: '/api/v1/recognition/recognize', headers: { 'x-api-key': key, 'content-type': type }, body };
    });

    // Correctness first: every probe's top subject is its own person (through the target: once its instances
    // have heard of the new faces, which may take a moment for the synthesised ones).
    const loadUrl = args.target || server.url;
    let top1 = 0;
    const waitUntil = performance.now() + (args.target ? 120_000 : 0);
    do {
      top1 = 0;
      for (const [i, r] of requests.entries()) {
        const res = await fetch(`${loadUrl}${r.path}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
        const json = (await res.json()) as { result: { subjects: { subject: string }[] }[] };
        if (json.result?.[0]?.subjects?.[0]?.subject === people[i].id) top1++;
      }
    } while (top1 < requests.length && performance.now() < waitUntil);
    let propagation: ReturnType<typeof summarize> | undefined;
    if (args.instances) {
      const photos = seeds.slice(0, 10).map((p) => fs.readFileSync(path.join(FACEDATA, p)));
      propagation = summarize(await measurePropagation({ instances: args.instances.split(','), key, photos }));
    }

    // Warm both paths, then measure the pipeline alone and the whole HTTP request, same concurrency, alternating
    // in rounds (pipeline, HTTP, HTTP, pipeline, ...) so that a change in the shared machine's load falls on both.
    // CPU time per image is the steadier figure on a shared machine (wall-clock rates follow its load).
    const job = { url: loadUrl, key, connections: args.connections, probes: people.map((p) => p.probe) };
    await enginePipelineRate(server.engine, probeImages, args.connections, 2);
    await load.run({ ...job, seconds: 2 });
    const roundSeconds = args.seconds / args.rounds;
    const zero = (): ThreadUsage => ({ main: 0, engine: 0, other: 0, engineFaults: 0 });
    const pipe = { images: 0, seconds: 0, cpu: 0, threads: zero(), gc: 0, p50: [] as number[], p99: [] as number[] };
    const web = { requests: 0, seconds: 0, cpu: 0, threads: zero(), gc: 0, clientCpu: 0, non2xx: 0, errors: 0, latency: [] as LoadResult['latency'][] };
    const measurePipeline = async () => {
      const cpu0 = cpuMs();
      const threads0 = threadUsage();
      const gc0 = gcPauseMs;
      const r = await enginePipelineRate(server.engine, probeImages, args.connections, roundSeconds);
      pipe.gc += gcPauseMs - gc0;
      pipe.images += r.count;
      pipe.seconds += r.seconds;
      pipe.cpu += cpuMs() - cpu0;
      addUsage(pipe.threads, threads0, threadUsage());
      pipe.p50.push(r.p50);
      pipe.p99.push(r.p99);
    };
    const measureHttp = async () => {
      const cpu0 = cpuMs();
      const threads0 = threadUsage();
      const gc0 = gcPauseMs;
      const r = await load.run({ ...job, seconds: roundSeconds });
      await server.services.events.flush(); // the round's events count too (they are written behind the response)
      web.requests += r.requests.total;
      web.seconds += r.duration;
      web.cpu += cpuMs() - cpu0;
      addUsage(web.threads, threads0, threadUsage());
      web.gc += gcPauseMs - gc0;
      web.clientCpu += r.clientCpuMs;
      web.non2xx += r.non2xx;
      web.errors += r.errors;
      web.latency.push(r.latency);
    };
    for (let round = 0; round < args.rounds; round++) {
      if (round % 2 === 0) {
        await measurePipeline();
        await measureHttp();
      } else {
        await measureHttp();
        await measurePipeline();
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const pipeline = { rps: pipe.images / pipe.seconds, p50: median(pipe.p50), p99: median(pipe.p99) };
    const http = { rps: web.requests / web.seconds, total: web.requests, non2xx: web.non2xx, errors: web.errors };
    const pipelineCpu = pipe.cpu / pipe.images;
    const httpCpu = web.cpu / web.requests;

    const result = {
      store: server.db.kind,
      ...(args.target ? { target: args.target } : {}),
      ...(propagation ? { propagationMs: propagation } : {}),
      subjects,
      synthesiseSeconds: round(synthMs / 1000),
      probes: people.length,
      top1Correct: top1,
      connections: args.connections,
      seconds: args.seconds,
      workers: config.workers,
      rounds: args.rounds,
      http: {
        rps: round(http.rps),
        total: http.total,
        non2xx: http.non2xx,
        errors: http.errors,
        // medians over the rounds
        latencyMs: { p50: median(web.latency.map((l) => l.p50)), p90: median(web.latency.map((l) => l.p90)), p99: median(web.latency.map((l) => l.p99)) },
      },
      pipeline: { rps: round(pipeline.rps), latencyMs: { p50: round(pipeline.p50), p99: round(pipeline.p99) } },
      httpCostPercent: round((1 - http.rps / pipeline.rps) * 100),
      // Server-process CPU per image: the pipeline alone vs a whole recognize request. With DATABASE_URL the
      // PostgreSQL server's own CPU is not in these figures.
      cpuMsPerImage: { pipeline: round(pipelineCpu), http: round(httpCpu) },
      httpCpuCostPercent: round((1 - pipelineCpu / httpCpu) * 100),
      // Those figures by thread: the event loop, the inference threads, the rest (V8 helpers, libuv, matcher).
      threadCpuMsPerImage: {
        pipeline: { main: round(pipe.threads.main / pipe.images, 2), engine: round(pipe.threads.engine / pipe.images), other: round(pipe.threads.other / pipe.images, 2) },
        http: { main: round(web.threads.main / web.requests, 2), engine: round(web.threads.engine / web.requests), other: round(web.threads.other / web.requests, 2) },
      },
      // Minor page faults of the inference threads per image: near 0 when their memory stays mapped.
      engineFaultsPerImage: { pipeline: round(pipe.threads.engineFaults / pipe.images), http: round(web.threads.engineFaults / web.requests) },
      // Of which garbage-collection pauses (V8 also collects on helper threads: those count above, not here).
      gcPauseMsPerImage: { pipeline: round(pipe.gc / pipe.images, 2), http: round(web.gc / web.requests, 2) },
      // CPU of the autocannon process per request (not in the figures above).
      clientCpuMsPerRequest: round(web.clientCpu / http.total),
      loadAverage: os.loadavg().map((x) => round(x, 2)),
    };
    if (args.target) {
      // The HTTP rounds ran in the target's processes: this process's CPU during them says nothing of theirs.
      const r = result as Record<string, unknown>;
      for (const k of ['httpCpuCostPercent', 'cpuMsPerImage', 'threadCpuMsPerImage', 'engineFaultsPerImage', 'gcPauseMsPerImage']) {
        const v = r[k] as Record<string, unknown> | number;
        if (typeof v === 'object') delete v.http;
        else delete r[k];
      }
    }
    console.log(JSON.stringify(result));
  } finally {
    load.close();
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--load-child')) loadChild();
else await main();
