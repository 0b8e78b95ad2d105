// `npm run bench:faults`: the PostgreSQL fault drill of issue 18 (part 1) under sustained traffic, as an operator
// would run it by hand; not part of the test suite (test/db-outage.test.ts covers the same faults under light
// traffic). It starts a PostgreSQL cluster of its own (scripts/pg-test-cluster.sh) and the real server on it
// (in this process, 20 LFW people enrolled), and offers the soak's mixed open loop (recognize x3, enrol,
// recognize, delete of that face) at --rate requests/s for the whole drill. After --warmup seconds it applies,
// one after another with --settle seconds between: `pg_ctl restart -m fast`; a stop of --outage seconds, then a
// start; pg_terminate_backend of every faceserver session. Then --after seconds of traffic, and checks.
//
// Prints one JSON line per phase (before, each fault's window, its recovery, after), of the answers that came in
// it: by status, 2xx latency p50/p99 (all and by kind), answers that were not the CompreFace 503 {message,
// code: 41} with Retry-After, answers slower than --hang-ms (or never answered), peak and final RSS of this
// process (the server runs in it); a recovery line adds the
// time from the fault's end until /readyz answered 200 (polled every 200 ms) and until the first enrolment sent
// afterwards was answered 201. Then verifies against the database that nothing acknowledged was lost: every
// enrolment answered 201 and not deleted is stored, every delete answered 200 is gone, the in-memory index holds
// as many faces as the database (and recognises the churned photo exactly when the database holds it), and the
// recognition events written equal the faces found by the recognitions answered 200 (after a flush, within
// what the writer still holds). A summary line gives pass/fail per check, then a Markdown table of the phases;
// the exit code is 1 if any check failed.
// The cluster is stopped and its folder removed at the end (Ctrl-C included).
//
// Not covered: SIGKILL of faceserver itself (test/crash.test.ts, which needs the server in a process of its
// own), disk full (test/disk-full.test.ts, test/pg-disk-full.test.ts), the embedded store (no server to lose).
//
//   npm run bench:faults -- [--rate 8] [--outage 30] [--warmup 30] [--settle 30] [--after 30] [--hang-ms 10000]
//                           [--faults restart,stop,terminate] [--cycles 1 (the fault sequence repeated)]
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { FACEDATA, LoadGenerator, percentile, round, RssSampler, people, startBenchServer, type Answer, type BenchServer, type Interval } from './lib/traffic';

const run = promisify(execFile);
const CLUSTER = path.resolve(import.meta.dirname, '../scripts/pg-test-cluster.sh');
const FAULTS = ['restart', 'stop', 'terminate'] as const;
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
  const a: Args = { rate: 8, outage: 30, warmup: 30, settle: 30, after: 30, 'hang-ms': 10_000, cycles: 1, faults: [...FAULTS] };
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

/** Faces in the server's in-memory index (its /metrics gauge, summed over collections). */
async function indexFaces(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('faceserver_index_faces{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** The subject CompreFace's recognize names first for a photo. */
async function topSubject(bench: BenchServer, photo: string): Promise<string | undefined> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(fs.readFileSync(path.join(FACEDATA, photo)))]), 'probe.jpg');
  const res = await fetch(`${bench.server.url}/api/v1/recognition/recognize`, { method: 'POST', headers: { 'x-api-key': bench.key }, body: form });
  const body = (await res.json()) as { result?: { subjects?: { subject: string }[] }[] };
  return body.result?.[0]?.subjects?.[0]?.subject;
}

async function until<T>(ms: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() - t0 > ms) return { value, ms: Date.now() - t0 };
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const hangMs = args['hang-ms'];
  const url = await cluster('start');
  let halted = false;
  let bench: BenchServer | undefined;
  let load: LoadGenerator | undefined;
  let polling = false;
  let poller: Promise<void> = Promise.resolve();
  try {
    // The server's warnings (a line per refused request during an outage) on stderr; stdout is the drill's.
    bench = await startBenchServer(20, { DATABASE_URL: url }, pino({ level: 'warn' }, pino.destination(2)));
    const server = bench.server;
    const cohort = people(20);
    load = new LoadGenerator();
    await server.events.flush();
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

    const traffic: Promise<Interval> = load.run({
      url: server.url,
      key: bench.key,
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
      const rss = new RssSampler();
      const start = Date.now();
      console.error(`bench:faults: ${new Date(start).toISOString()} ${name}`);
      const detail = await Promise.race([body(), interrupted, traffic.then(() => Promise.reject(new Error('the load generator stopped early')))]);
      phases.push({ name, fault, kind, start, end: Date.now(), peakRss: rss.stop(), endRss: process.memoryUsage.rss(), ...(detail ? { detail } : {}) });
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
    await poller;
    const answers = total.answers ?? [];

    // Per phase: what the clients got.
    const checks: Record<string, Check> = {};
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
      const badRefusals = notOk.filter((a) => !goodRefusal(a));
      const slow = mine.filter((a) => a.ms > hangMs || a.status === 'timeout');
      const line: Record<string, unknown> = {
        phase: p.name,
        seconds: round((p.end - p.start) / 1000, 1),
        answered: mine.length,
        statuses,
        okMs: latency(okMs),
        byKind,
        refused503: notOk.length - badRefusals.length,
        // Recognition goes on from memory during an outage: its refusals should stay at 0.
        non2xxByKind: Object.fromEntries(['recognize', 'enrol', 'delete'].map((kind) => [kind, notOk.filter((a) => a.kind === kind).length])),
        otherNon2xx: badRefusals.length,
        overHangMs: slow.length,
        maxMs: round(percentile(mine.map((a) => a.ms), 100)),
        rssMb: { peak: mb(p.peakRss), end: mb(p.endRss) },
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
    const unanswered = answers.filter((a) => a.status.startsWith('error') || a.status === 'timeout' || (/^5\d\d$/.test(a.status) && a.status !== '503'));
    checks['no 500s, resets or timeouts'] = { pass: unanswered.length === 0, count: unanswered.length, statuses: [...new Set(unanswered.map((a) => a.status))] };

    // Recognition events: one per face found by each recognition answered 200, written even across the faults.
    const expectedEvents = answers.filter((a) => a.kind === 'recognize' && ok(a)).reduce((n, a) => n + (a.faces ?? 0), 0);
    const events = await until(
      20_000,
      async () => {
        await server.events.flush();
        return (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM recognition_events'))[0].n - eventsBefore;
      },
      (n) => n === expectedEvents,
    );
    const pending = server.events.pending;
    checks['recognition events written'] = {
      pass: events.value <= expectedEvents && expectedEvents - events.value <= pending,
      expected: expectedEvents,
      written: events.value,
      pendingAfterFlush: pending,
    };

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
    // Faces stored by a write answered 503 (its commit done as the connection broke): allowed, reported.
    const unacknowledged = churn - kept.length;

    // The index equals the database: as many faces (a face committed as its request met the fault is re-read
    // by the index's next version check, within 10 s), and the churned photo recognised as itself exactly when
    // the database holds it.
    const dbFaces = async () => (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM face_collections'))[0].n;
    const agree = await until(
      20_000,
      async () => [await indexFaces(server.url), await dbFaces()],
      ([index, db]) => index === db,
    );
    const churnPhoto = await topSubject(bench, cohort[0].probe);
    const other = await topSubject(bench, cohort[5].probe);
    const churnExpected = churn > 0 ? 'soak-churn' : cohort[0].name;
    checks['index equals database'] = {
      pass: agree.value[0] === agree.value[1] && churnPhoto === churnExpected && other === cohort[5].name,
      indexFaces: agree.value[0],
      databaseFaces: agree.value[1],
      agreedAfterMs: agree.ms,
      churnFacesStored: churn,
      churnPhotoRecognisedAs: churnPhoto ?? null,
      expected: churnExpected,
      [`${cohort[5].name} recognised`]: other === cohort[5].name,
    };

    const failed = Object.entries(checks).filter(([, c]) => !c.pass).map(([name]) => name);
    console.log(
      JSON.stringify({
        summary: true,
        store: bench.store,
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
      await bench?.close();
    } finally {
      await cluster('stop', url);
    }
  }
}

await main();
