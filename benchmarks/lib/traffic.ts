// Shared by the fault benchmarks (overload.ts, soak.ts, faults.ts): the real server on loopback with a few LFW people
// enrolled over HTTP, and a load generator in a child process (autocannon, benchmarks/lib/load-child.ts) that
// reports every response's status and latency, in intervals, so admitted and refused requests are told apart.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';

export const FACEDATA = path.resolve(import.meta.dirname, '../../../shared/facedata');
const REPO = path.resolve(import.meta.dirname, '../..');

/** LFW people with a gallery photo and a probe, by name. */
export function people(n: number): { name: string; gallery: string; probe: string }[] {
  const rows = fs.readFileSync(path.join(FACEDATA, 'identification.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const gallery = new Map<string, string>();
  const probe = new Map<string, string>();
  for (const [p, id, source, role] of rows) {
    if (source !== 'lfw') continue;
    if (role === 'gallery') gallery.set(id, p);
    if (role === 'probe' && !probe.has(id)) probe.set(id, p);
  }
  return [...gallery.keys()]
    .filter((id) => probe.has(id))
    .sort()
    .slice(0, n)
    .map((name) => ({ name, gallery: gallery.get(name)!, probe: probe.get(name)! }));
}

export interface BenchServer {
  server: RunningServer;
  key: string;
  store: string;
  close(): Promise<void>;
}

/** The server (DATABASE_URL from the environment, else the embedded store in a temp folder) with n people enrolled. */
export async function startBenchServer(n: number, env: Record<string, string> = {}, log: pino.Logger = pino({ level: 'warn' })): Promise<BenchServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-'));
  const config = loadConfig({
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    MODELS_DIR: path.join(REPO, 'models'),
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    ...env,
  } as Record<string, string>);
  let server: RunningServer;
  try {
    server = await startServer(config, log);
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const key = (await server.services.keys.create('recognition')).key;
  for (const p of people(n)) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(fs.readFileSync(path.join(FACEDATA, p.gallery)))]), 'face.jpg');
    const res = await fetch(`${server.url}/api/v1/recognition/faces?subject=${encodeURIComponent(p.name)}`, { method: 'POST', headers: { 'x-api-key': key }, body: form });
    if (res.status !== 201) throw new Error(`enrol ${p.name}: ${res.status} ${await res.text()}`);
  }
  return {
    server,
    key,
    store: config.databaseUrl ? 'postgres' : 'embedded',
    close: async () => {
      try {
        await server.close();
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface LoadJob {
  url: string;
  key: string;
  connections: number;
  seconds: number;
  /** Requests per second over all connections; absent: as fast as answered (closed loop). */
  overallRate?: number;
  /** With overallRate: an open loop (a request every 1/rate s, however many are unanswered), not autocannon. */
  openLoop?: boolean;
  /** recognize only, or a mix: recognize x3, enrol, recognize, delete of the face enrolled (one subject). */
  mix: 'recognize' | 'mixed';
  probes: string[];
  reportEveryMs: number;
  /** Open loop only: report every answer (Answer) too, and run until stop() rather than for `seconds` alone. */
  answers?: boolean;
}

/** One answer of the open loop, when the job asks for them (bench:faults attributes them to its phases). */
export interface Answer {
  /** When the request was sent (epoch ms), and how long its answer took. */
  at: number;
  ms: number;
  kind: string;
  status: string;
  /** Non-2xx: its Retry-After header, and whether the body is CompreFace's 503 ({message, code: 41}). */
  retryAfter?: string;
  compreFace503?: boolean;
  /** The face enrolled (201) or deleted (200). */
  imageId?: string;
  /** A recognition's faces found (one recognition event each). */
  faces?: number;
}

/** What the child reports for an interval (and, summed, for the job). */
export interface Interval {
  ms: number;
  /** Count by status ('error' for a request that failed without an answer, 'timeout'). */
  statuses: Record<string, number>;
  /** Latencies (ms) of 2xx answers, and of 503s. */
  ok: number[];
  busy: number[];
  /** Latencies of 2xx answers by request kind (recognize, enrol, delete), in the open loop. */
  okByKind: Record<string, number[]>;
  /** Every answer of the interval, when the job asks for them. */
  answers?: Answer[];
}

export class LoadGenerator {
  private readonly child: ChildProcess = fork(path.join(import.meta.dirname, 'load-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });

  /** Runs a job; onInterval gets each interval's figures as they come. Resolves to the whole job's. */
  run(job: LoadJob, onInterval: (i: Interval) => void = () => {}): Promise<Interval> {
    return new Promise((resolve, reject) => {
      const total: Interval = { ms: 0, statuses: {}, ok: [], busy: [], okByKind: {} };
      const onExit = (code: number | null) => reject(new Error(`load generator exited with ${code}`));
      const onMessage = (m: { kind: 'interval' | 'done'; interval?: Interval; error?: string }) => {
        if (m.kind === 'interval') {
          const i = m.interval!;
          total.ms += i.ms;
          for (const [s, n] of Object.entries(i.statuses)) total.statuses[s] = (total.statuses[s] ?? 0) + n;
          for (const v of i.ok) total.ok.push(v);
          for (const v of i.busy) total.busy.push(v);
          for (const [kind, values] of Object.entries(i.okByKind ?? {})) for (const v of values) (total.okByKind[kind] ??= []).push(v);
          if (i.answers) for (const a of i.answers) (total.answers ??= []).push(a);
          onInterval(i);
          return;
        }
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (m.error) reject(new Error(m.error));
        else resolve(total);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ ...job, probePaths: job.probes.map((p) => path.join(FACEDATA, p)) });
    });
  }

  /** Ends the running open-loop job early (it resolves once the requests in flight are answered). */
  stop(): void {
    this.child.send({ stop: true });
  }

  close(): void {
    this.child.disconnect();
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (v: number, digits = 0) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : null);

/** Peak resident memory of this process (or what `rss` reads) over a phase, sampled every 250 ms. */
export class RssSampler {
  peak = 0;
  private readonly timer = setInterval(() => this.sample(), 250);
  constructor(private readonly rss: () => number = () => process.memoryUsage.rss()) {
    this.sample();
  }
  sample(): void {
    this.peak = Math.max(this.peak, this.rss());
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
