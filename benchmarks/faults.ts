// `npm run bench:faults`: the PostgreSQL fault drill of issue 18 (part 1) under sustained traffic, as an operator
// would run it by hand; not part of the test suite (test/db-outage.test.ts covers the same faults under light
// traffic). It starts a PostgreSQL cluster of its own (scripts/pg-test-cluster.sh) and the real server on it (in
// this process unless the drill kills it; 20 LFW people enrolled), and offers the soak's mixed open loop
// (recognize x3, enrol, recognize, delete of that face) at --rate requests/s for the whole drill. After --warmup
// seconds it applies, one after another with --settle seconds between: `pg_ctl restart -m fast`; a stop of
// --outage seconds, then a start; pg_terminate_backend of every faceserver session; and, when --faults names it,
// kill: SIGKILL of faceserver itself under the traffic and a start again on the same port and database (the
// server then runs as src/main.ts in a process of its own from the start, as test/crash.test.ts runs it). Then
// --after seconds of traffic, and checks.
//
// Prints one JSON line per phase (before, each fault's window, its recovery, after), of the answers that came in
// it: by status, 2xx latency p50/p99 (all and by kind), answers that were not the CompreFace 503 {message,
// code: 41} with Retry-After (while a killed server is down, refused or cut connections are counted apart),
// answers slower than --hang-ms (or never answered), peak and final RSS of the server's process, peaks of its
// inference queue and event backlog (/metrics, every second); a recovery line adds the time from the fault's end
// until /readyz answered 200 (polled every 200 ms) and until the first enrolment sent afterwards was answered 201. Then verifies against the database that nothing acknowledged was
// lost: every enrolment answered 201 and not deleted is stored, every delete answered 200 is gone, the in-memory
// index holds as many faces as the database (and recognises the churned photo exactly when the database holds
// it), and the recognition events written equal the faces found by the recognitions answered 200 (after a
// flush, less at most what the writer still holds and what a killed process held). A summary line gives
// pass/fail per check, then a Markdown table of the phases; the exit code is 1 if any check failed. The cluster
// is stopped and its folder removed at the end (Ctrl-C included).
//
// Not covered: disk full (test/disk-full.test.ts, test/pg-disk-full.test.ts), the embedded store (no server to
// lose; its SIGKILL is test/crash.test.ts's).
//
//   npm run bench:faults -- [--rate 8] [--outage 30] [--warmup 30] [--settle 30] [--after 30] [--hang-ms 10000]
//                           [--faults restart,stop,terminate[,kill]] [--cycles 1 (the fault sequence repeated)]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { main as cli } from '../src/cli/main';
import { FACEDATA, LoadGenerator, percentile, round, RssSampler, people, startBenchServer, type Answer, type BenchServer, type Interval } from './lib/traffic';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
const CLUSTER = path.join(REPO, 'scripts/pg-test-cluster.sh');
const FAULTS = ['restart', 'stop', 'terminate', 'kill'] as const;
type Fault = (typeof FAULTS)[number];

interface Args {
  rate: number;
  outage: number;
  warmup: number;
  settle: number;
  after: number;
  'hang-ms': number;
  cycles: number;
  faults: Fault[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { rate: 8, outage: 30, warmup: 30, settle: 30, after: 30, 'hang-ms': 10_000, cycles: 1, faults: ['restart', 'stop', 'terminate'] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Args;
    if (!(key in a)) throw new Error(`unknown option ${argv[i]}`);
    if (key === 'faults') {
      a.faults = argv[i + 1].split(',').map((f) => {
        if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`unknown fault ${f} (${FAULTS.join(', ')})`);
        return f as Fault;
      });
    } else {
      const v = Number(argv[i + 1]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${argv[i]} needs a number`);
      a[key as Exclude<keyof Args, 'faults'>] = v;
    }
  }
  return a;
}

async function cluster(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [CLUSTER, ...args], { timeout: 120_000 });
  return stdout.trim().split('\n').pop() ?? '';
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

// Ctrl-C ends the drill through its cleanup (the load generator, a child, dies of the same signal).
let interrupt: (err: Error) => void = () => {};
const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
interrupted.catch(() => {});
process.once('SIGINT', () => interrupt(new Error('interrupted')));
const sleep = (ms: number): Promise<void> => Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms)), interrupted]);

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const ok = (a: Answer) => /^2\d\d$/.test(a.status);
/** A refusal as a client should get it during an outage: CompreFace's 503 {message, code: 41} with Retry-After. */
const goodRefusal = (a: Answer) => a.status === '503' && a.compreFace503 === true && a.retryAfter !== undefined;

function latency(ms: number[]): { n: number; p50: number | null; p99: number | null } {
  return { n: ms.length, p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)) };
}

interface Phase {
  name: string;
  fault: Fault | null;
  kind: 'steady' | 'fault' | 'recovery';
  start: number;
  end: number;
  peakRss: number;
  endRss: number;
  detail?: Record<string, unknown>;
}

interface Check {
  pass: boolean;
  [k: string]: unknown;
}

/** The subject CompreFace's recognize names first for a photo, and how many faces it found (events written). */
async function recognizeAs(target: Target, photo: string): Promise<{ subject: string | undefined; faces: number }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(fs.readFileSync(path.join(FACEDATA, photo)))]), 'probe.jpg');
  const res = await fetch(`${target.url}/api/v1/recognition/recognize`, { method: 'POST', headers: { 'x-api-key': target.key }, body: form });
  const body = (await res.json()) as { result?: { subjects?: { subject: string }[] }[] };
  return { subject: body.result?.[0]?.subjects?.[0]?.subject, faces: res.status === 200 ? (body.result?.length ?? 0) : 0 };
}

async function until<T>(ms: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() - t0 > ms) return { value, ms: Date.now() - t0 };
    await sleep(250);
  }
}

/**
 * The server under the drill: in this process (startBenchServer), or, when the drill kills it, src/main.ts in a
 * process of its own on a fixed port (as test/crash.test.ts runs it), started again after the kill.
 */
interface Target {
  url: string;
  key: string;
  store: string;
  /** Resident memory of the server's process. */
  rss(): number;
  /** Events the writer holds (0 once a child has stopped). */
  pendingEvents(): Promise<number>;
  /** Writes what the event writer holds: a flush, or for a child a graceful stop (SIGTERM writes its queue). */
  drainEvents(): Promise<void>;
  /** SIGKILL, then a start on the same port and database (a child only). */
  killAndRestart?(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

function inProcess(bench: BenchServer): Target {
  return {
    url: bench.server.url,
    key: bench.key,
    store: bench.store,
    rss: () => process.memoryUsage.rss(),
    pendingEvents: async () => bench.server.events.pending,
    drainEvents: () => bench.server.events.flush(),
    close: () => bench.close(),
  };
}

interface Child {
  proc: ChildProcess;
  exited: Promise<void>;
}

/** src/main.ts with env; resolves once it listens. Its warnings and errors go to stderr. */
function spawnServer(env: Record<string, string>): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/main.ts')], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', MODELS_DIR: path.join(REPO, 'models'), LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((done) => proc.once('exit', () => done()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('the server did not start within 180 s'));
    }, 180_000);
    let rest = '';
    proc.stdout!.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.includes('"listening"')) {
          clearTimeout(timer);
          resolve({ proc, exited });
        } else if (/"level":[4-6]0/.test(line)) process.stderr.write(`${line}\n`);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${proc.exitCode ?? proc.signalCode}) before listening`));
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

async function childServer(databaseUrl: string, n: number): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-bench-'));
  const env = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, PORT: String(await freePort()) };
  let child: Child | undefined;
  const stop = async (signal: NodeJS.Signals) => {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill(signal);
    await child?.exited;
  };
  try {
    const out: string[] = [];
    const err: string[] = [];
    const code = await cli(['keys', 'create', '--kind', 'recognition'], { out: (l) => out.push(l), err: (l) => err.push(l) }, { ...env, LOG_LEVEL: 'warn' });
    if (code !== 0) throw new Error(`faceserver keys create: ${err.join('\n')}`);
    const key = out[0];
    child = await spawnServer(env);
    const url = `http://127.0.0.1:${env.PORT}`;
    for (const p of people(n)) {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(fs.readFileSync(path.join(FACEDATA, p.gallery)))]), 'face.jpg');
      const res = await fetch(`${url}/api/v1/recognition/faces?subject=${encodeURIComponent(p.name)}`, { method: 'POST', headers: { 'x-api-key': key }, body: form });
      if (res.status !== 201) throw new Error(`enrol ${p.name}: ${res.status} ${await res.text()}`);
    }
    const running = () => child!.proc.exitCode === null && child!.proc.signalCode === null;
    return {
      url,
      key,
      store: 'postgres (server in a process of its own)',
      rss: () => {
        try {
          return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child!.proc.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
        } catch {
          return 0; // between the kill and the restart
        }
      },
      pendingEvents: async () => (running() ? metric(url, 'faceserver_events_pending') : 0),
      drainEvents: () => stop('SIGTERM'),
      killAndRestart: async () => {
        // What the killed process still held of the events: lost with it (they are written behind the response).
        const pending = await metric(url, 'faceserver_events_pending');
        const killedAt = Date.now();
        await stop('SIGKILL');
        child = await spawnServer(env);
        return { command: 'SIGKILL, then a start on the same port and database', eventsPendingAtKill: pending, killedAt, downMs: Date.now() - killedAt };
      },
      close: async () => {
        try {
          await stop('SIGTERM');
        } finally {
          fs.rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    await stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const hangMs = args['hang-ms'];
  const url = await cluster('start');
  let halted = false;
  let target: Target | undefined;
  let load: LoadGenerator | undefined;
  let polling = false;
  let poller: Promise<void> = Promise.resolve();
  try {
    load = new LoadGenerator(); // first: its process starts while the server does
    // The server's warnings (a line per refused request during an outage) on stderr; stdout is the drill's.
    target = args.faults.includes('kill')
      ? await childServer(url, 20)
      : inProcess(await startBenchServer(20, { DATABASE_URL: url }, pino({ level: 'warn' }, pino.destination(2))));
    const server = target;
    const cohort = people(20);
    const eventsBefore = (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM recognition_events'))[0].n;

    // /readyz every 200 ms for the whole drill: when each answer came, and its status (0: no answer in 5 s).
    const readyz: { sent: number; at: number; status: number }[] = [];
    polling = true;
    poller = (async () => {
      while (polling) {
        const sent = Date.now();
        let status = 0;
        try {
          const r = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(5000) });
          await r.arrayBuffer();
          status = r.status;
        } catch {
          // no answer within 5 s: status 0
        }
        readyz.push({ sent, at: Date.now(), status });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    // The server's inference queue and event backlog every second (a queue that fills says the CPU, not the
    // database, held requests up).
    const gauges: { at: number; queue: number; events: number }[] = [];
    const gaugePoller = (async () => {
      while (polling) {
        try {
          const [queue, events] = await Promise.all([metric(server.url, 'faceserver_inference_queue_depth'), metric(server.url, 'faceserver_events_pending')]);
          gauges.push({ at: Date.now(), queue, events });
        } catch {
          // no answer (a killed server): no sample
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();

    const traffic: Promise<Interval> = load.run({
      url: server.url,
      key: target.key,
      connections: 0,
      seconds: 24 * 3600, // until stop()
      overallRate: args.rate,
      openLoop: true,
      mix: 'mixed',
      probes: cohort.map((p) => p.probe),
      reportEveryMs: 5000,
      answers: true,
    });
    traffic.catch(() => {}); // awaited below; a failure meanwhile must not be unhandled
    const phases: Phase[] = [];
    const phase = async (name: string, fault: Fault | null, kind: Phase['kind'], body: () => Promise<Record<string, unknown> | void>) => {
      const rss = new RssSampler(server.rss);
      const start = Date.now();
      console.error(`bench:faults: ${new Date(start).toISOString()} ${name}`);
      const detail = await Promise.race([body(), interrupted, traffic.then(() => Promise.reject(new Error('the load generator stopped early')))]);
      phases.push({ name, fault, kind, start, end: Date.now(), peakRss: rss.stop(), endRss: server.rss(), ...(detail ? { detail } : {}) });
    };

    await phase('before', null, 'steady', () => sleep(args.warmup * 1000));
    for (let cycle = 1; cycle <= args.cycles; cycle++) for (const fault of args.faults) {
      const name = args.cycles > 1 ? `${fault} #${cycle}` : fault;
      await phase(name, fault, 'fault', async () => {
        const t0 = Date.now();
        if (fault === 'restart') {
          await cluster('ctl', url, 'restart');
          return { command: 'pg_ctl restart -m fast', commandMs: Date.now() - t0 };
        }
        if (fault === 'stop') {
          halted = true;
          await cluster('ctl', url, 'halt');
          const haltMs = Date.now() - t0;
          await sleep(Math.max(0, args.outage * 1000 - haltMs));
          await cluster('ctl', url, 'resume');
          halted = false;
          return { command: `pg_ctl stop -m fast; ${args.outage} s; pg_ctl start`, haltMs, downMs: Date.now() - t0 };
        }
        if (fault === 'kill') return server.killAndRestart!();
        // In the select list, so it runs only for the rows the WHERE kept (never on this session itself).
        const [{ n }] = await sql<{ n: number }>(
          url,
          `SELECT count(*) FILTER (WHERE terminated)::int AS n FROM (
             SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend') s`,
        );
        return { command: 'pg_terminate_backend (every faceserver session)', terminated: n };
      });
      await phase(`${name} recovery`, fault, 'recovery', () => sleep(args.settle * 1000));
    }
    await phase('after', null, 'steady', () => sleep(args.after * 1000));
    load.stop();
    const total = await Promise.race([traffic, interrupted]);
    polling = false;
    await Promise.all([poller, gaugePoller]);
    const answers = total.answers ?? [];

    // Per phase: what the clients got.
    const checks: Record<string, Check> = {};
    const excused = new Set<Answer>();
    const lines: Record<string, unknown>[] = [];
    for (const [i, p] of phases.entries()) {
      // An answer belongs to the phase it came in (a request sent just before a fault and refused during it
      // is the fault's); the first and last phases take what came before or after them.
      const mine = answers.filter((a) => (i === 0 || a.at + a.ms >= p.start) && (i === phases.length - 1 || a.at + a.ms < p.end));
      const statuses: Record<string, number> = {};
      for (const a of mine) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      const okMs = mine.filter(ok).map((a) => a.ms);
      const byKind: Record<string, ReturnType<typeof latency>> = {};
      for (const kind of ['recognize', 'enrol', 'delete']) byKind[kind] = latency(mine.filter((a) => ok(a) && a.kind === kind).map((a) => a.ms));
      const notOk = mine.filter((a) => !ok(a));
      // While a killed server is down, its clients' connections are refused or cut: no other answer is possible.
      const cut = p.fault === 'kill' && p.kind === 'fault' ? notOk.filter((a) => a.status.startsWith('error')) : [];
      for (const a of cut) excused.add(a);
      const badRefusals = notOk.filter((a) => !goodRefusal(a) && !excused.has(a));
      const slow = mine.filter((a) => a.ms > hangMs || a.status === 'timeout');
      const line: Record<string, unknown> = {
        phase: p.name,
        seconds: round((p.end - p.start) / 1000, 1),
        answered: mine.length,
        statuses,
        okMs: latency(okMs),
        byKind,
        refused503: notOk.length - badRefusals.length - cut.length,
        ...(cut.length ? { connectionsRefusedOrCut: cut.length } : {}),
        // Recognition goes on from memory during an outage: its refusals should stay at 0.
        non2xxByKind: Object.fromEntries(['recognize', 'enrol', 'delete'].map((kind) => [kind, notOk.filter((a) => a.kind === kind).length])),
        otherNon2xx: badRefusals.length,
        overHangMs: slow.length,
        maxMs: round(percentile(mine.map((a) => a.ms), 100)),
        rssMb: { peak: mb(p.peakRss), end: mb(p.endRss) },
        ...(() => {
          const g = gauges.filter((x) => x.at >= p.start && x.at < p.end);
          return g.length ? { peaks: { inferenceQueue: Math.max(...g.map((x) => x.queue)), eventBacklog: Math.max(...g.map((x) => x.events)) } } : {};
        })(),
        ...(p.detail ? { fault: p.detail } : {}),
      };
      // Before and after the faults every request is served; around them a refusal must be the clean 503.
      const pass = p.kind === 'steady' ? notOk.length === 0 && slow.length === 0 : badRefusals.length === 0 && slow.length === 0;
      const check: Check = { pass, non2xx: notOk.length, notCompreFace503: badRefusals.length, overHangMs: slow.length };
      if (p.kind === 'recovery') {
        // From the fault's end (the end of the phase before): /readyz 200 again, and a new enrolment stored.
        const faultEnd = phases[i - 1].end;
        const ready = readyz.find((r) => r.sent >= faultEnd && r.status === 200);
        const enrolled = answers.filter((a) => a.kind === 'enrol' && a.status === '201' && a.at >= faultEnd).sort((a, b) => a.at + a.ms - (b.at + b.ms))[0];
        const notReadySeen = readyz.some((r) => r.sent >= phases[i - 1].start && r.sent < faultEnd + 1000 && r.status !== 200);
        const recovery = {
          readyzMs: ready ? ready.at - faultEnd : null,
          firstEnrolMs: enrolled ? round(enrolled.at + enrolled.ms - faultEnd) : null,
          readyzNotReadySeen: notReadySeen,
        };
        line.recovery = recovery;
        const within = args.settle * 1000;
        check.recovered = recovery.readyzMs !== null && recovery.readyzMs <= within && recovery.firstEnrolMs !== null && recovery.firstEnrolMs <= within;
        check.pass &&= check.recovered as boolean;
        Object.assign(check, recovery);
      }
      checks[`phase ${p.name}`] = check;
      console.log(JSON.stringify(line));
      lines.push(line);
    }
    const unanswered = answers.filter((a) => (a.status.startsWith('error') && !excused.has(a)) || a.status === 'timeout' || (/^5\d\d$/.test(a.status) && a.status !== '503'));
    checks['no 500s, resets or timeouts'] = { pass: unanswered.length === 0, count: unanswered.length, statuses: [...new Set(unanswered.map((a) => a.status))] };

    // Acknowledged writes: every enrolment answered 201 is stored unless a delete of it was answered 200.
    const enrolledIds = answers.filter((a) => a.kind === 'enrol' && a.status === '201').map((a) => a.imageId!);
    const deletedIds = new Set(answers.filter((a) => a.kind === 'delete' && a.status === '200').map((a) => a.imageId!));
    const kept = enrolledIds.filter((id) => !deletedIds.has(id));
    const stored = new Set(
      (await sql<{ uuid: string }>(url, 'SELECT uuid::text FROM faces WHERE uuid = ANY($1::uuid[])', [[...enrolledIds, ...deletedIds]])).map((r) => r.uuid),
    );
    const [{ churn }] = await sql<{ churn: number }>(url, "SELECT count(*)::int AS churn FROM faces f JOIN persons p ON p.id = f.person_id WHERE p.name = 'soak-churn'");
    const missing = kept.filter((id) => !stored.has(id));
    const back = [...deletedIds].filter((id) => stored.has(id));
    checks['acknowledged enrolments stored'] = { pass: missing.length === 0, acknowledged: enrolledIds.length, keptAfterDeletes: kept.length, missing: missing.length };
    checks['acknowledged deletes absent'] = { pass: back.length === 0, acknowledged: deletedIds.size, stillStored: back.length };
    // Faces stored by a write answered 503 (its commit done as the connection broke) or cut by a kill: allowed.
    const unacknowledged = churn - kept.length;

    // The index equals the database: as many faces (a face committed as its request met the fault is re-read
    // by the index's next version check, within 10 s), and the churned photo recognised as itself exactly when
    // the database holds it.
    const dbFaces = async () => (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM face_collections'))[0].n;
    const agree = await until(
      20_000,
      async () => [await metric(server.url, 'faceserver_index_faces'), await dbFaces()],
      ([index, db]) => index === db,
    );
    const churnPhoto = await recognizeAs(server, cohort[0].probe);
    const other = await recognizeAs(server, cohort[5].probe);
    const churnExpected = churn > 0 ? 'soak-churn' : cohort[0].name;
    checks['index equals database'] = {
      pass: agree.value[0] === agree.value[1] && churnPhoto.subject === churnExpected && other.subject === cohort[5].name,
      indexFaces: agree.value[0],
      databaseFaces: agree.value[1],
      agreedAfterMs: agree.ms,
      churnFacesStored: churn,
      churnPhotoRecognisedAs: churnPhoto.subject ?? null,
      expected: churnExpected,
      [`${cohort[5].name} recognised`]: other.subject === cohort[5].name,
    };

    // Recognition events: one per face found by each recognition answered 200 (the drill's, and the two above),
    // written even across the faults. A kill loses what the process still held (written behind the response):
    // at most what /metrics showed queued just before it, plus the recognitions answered around it.
    const recognized = answers.filter((a) => a.kind === 'recognize' && ok(a));
    const expectedEvents = recognized.reduce((n, a) => n + (a.faces ?? 0), 0) + churnPhoto.faces + other.faces;
    let lostToKills = 0;
    for (const p of phases.filter((q) => q.fault === 'kill' && q.kind === 'fault')) {
      const killedAt = p.detail!.killedAt as number;
      const around = recognized.filter((a) => a.at + a.ms >= p.start - 1000 && a.at + a.ms <= killedAt + 500);
      lostToKills += (p.detail!.eventsPendingAtKill as number) + around.reduce((n, a) => n + (a.faces ?? 0), 0);
    }
    const events = await until(
      20_000,
      async () => {
        await server.drainEvents();
        return (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM recognition_events'))[0].n - eventsBefore;
      },
      (n) => n === expectedEvents,
    );
    const pending = await server.pendingEvents();
    checks['recognition events written'] = {
      pass: events.value <= expectedEvents && expectedEvents - events.value <= pending + lostToKills,
      expected: expectedEvents,
      written: events.value,
      pendingAfterFlush: pending,
      ...(args.faults.includes('kill') ? { mayBeLostToKills: lostToKills } : {}),
    };

    const failed = Object.entries(checks).filter(([, c]) => !c.pass).map(([name]) => name);
    console.log(
      JSON.stringify({
        summary: true,
        store: server.store,
        ratePerS: args.rate,
        faults: args.faults,
        outageS: args.outage,
        minutes: round((phases[phases.length - 1].end - phases[0].start) / 60_000, 1),
        sent: answers.length,
        unacknowledgedFacesStored: unacknowledged,
        pass: failed.length === 0,
        failed,
        checks,
      }),
    );
    console.log('\n| phase | s | answered | 2xx | 503 (CompreFace, Retry-After) | other | over hang-ms | 2xx ms p50 / p99 | /readyz 200 after (ms) | first enrolment after (ms) | RSS MB peak |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const l of lines as { phase: string; seconds: number; answered: number; statuses: Record<string, number>; refused503: number; otherNon2xx: number; overHangMs: number; okMs: { p50: number | null; p99: number | null }; recovery?: { readyzMs: number | null; firstEnrolMs: number | null }; rssMb: { peak: number } }[]) {
      const twoxx = Object.entries(l.statuses).filter(([k]) => /^2\d\d$/.test(k)).reduce((n, [, v]) => n + v, 0);
      console.log(
        `| ${l.phase} | ${l.seconds} | ${l.answered} | ${twoxx} | ${l.refused503} | ${l.otherNon2xx} | ${l.overHangMs} | ${l.okMs.p50 ?? '-'} / ${l.okMs.p99 ?? '-'} | ` +
          `${l.recovery ? (l.recovery.readyzMs ?? 'never') : ''} | ${l.recovery ? (l.recovery.firstEnrolMs ?? 'never') : ''} | ${l.rssMb.peak} |`,
      );
    }
    if (failed.length) process.exitCode = 1;
  } finally {
    polling = false;
    await poller;
    try {
      load?.close();
    } catch {
      // the load generator is gone already (Ctrl-C)
    }
    try {
      if (halted) await cluster('ctl', url, 'resume').catch(() => undefined);
      await target?.close();
    } finally {
      await cluster('stop', url);
    }
  }
}

await main();
