// Disk full (issue 18, part 3) on a PostgreSQL server: the server's data folder on a small tmpfs, filled up with a
// ballast file. The suite starts a cluster of its own (PG_TEST_DISK_MB=192 scripts/pg-test-cluster.sh start: the
// data folder on a tmpfs of its own, mounted as root or by `sudo -n`; the server runs as user postgres under root,
// else as the test's own user), because it fills that cluster's disk and crashes it: the shared test server
// (TEST_DATABASE_URL) is never touched.
//
// What PostgreSQL 15 does on a full disk (measured here; times on an idle 2-core machine):
// 1. While it runs, a statement that must grow a table or an index fails with ERROR 53100 "could not extend file
//    ...: No space left on device", and the server goes on. faceserver answers the first enrolment after the fill
//    (in an enrolment's time, 50-85 ms) with the domain's UNAVAILABLE "out of disk space: nothing was stored"
//    (CompreFace 503, code 41, Retry-After: 1), as on the embedded store (test/disk-full.test.ts); recognition
//    goes on, its events queued. Space freed: queued events written and enrolling again 0.35-0.45 s later, with
//    no restart of anything.
// 2. Its next checkpoint (checkpoint_timeout, 5 min by default; forced here with CHECKPOINT) cannot write its
//    files: the checkpointer PANICs ("could not write to file pg_logical/replorigin_checkpoint.tmp"), the
//    postmaster ends every session and runs crash recovery. Crash recovery deletes the relation-cache files
//    (pg_internal.init, ~350 KB here), which was enough for its own checkpoint: the server was back 0.12-0.27 s
//    later, on a disk still full (1. again, until the next checkpoint crashes it again). faceserver reconnects by
//    itself.
// 3. WAL that needs a new segment file (every segment made in advance used up) cannot get one: the WAL writer
//    PANICs ("could not write to file pg_wal/xlogtemp.N"), crash recovery cannot make the segment either
//    (FATAL), and the server stops, 0.2-0.5 s after. A recovery with more to write than crash recovery frees
//    stops the same way. That is an outage (test/db-outage.test.ts): faceserver stays up, answers "cannot be
//    reached" (503), is not ready, recognises from memory with its events queued, and once the operator has
//    freed space and started PostgreSQL (0.2-0.6 s, crash recovery replaying the WAL) it is ready again by itself
//    0.4-2.2 s after the start (the LISTEN session's back-off) and writes the queued events.
// Each case ends by checking that nothing stored before is damaged: faces, templates and photos as they were,
// pg_amcheck clean, the first photo served byte for byte. Before each fill the WAL is moved to a segment file
// made while there was space (pg_switch_wal, CHECKPOINT), so nothing PANICs before the test means it to.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { DomainError } from '../src/domain/errors';
import type { RunningServer } from '../src/server';
import { openDb, type Queryable } from '../src/store/db';
import { createKeys, identificationSet, photo, requireFacedata, type Person } from './support/compreface';
import { fill } from './support/disk';
import { REPO_ROOT, startTestServer } from './support/server';

const run = promisify(execFile);
const CLUSTER = path.join(REPO_ROOT, 'scripts/pg-test-cluster.sh');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const DISK_FULL = { message: 'the database is out of disk space: nothing was stored; try again once space is freed', code: 41 };
const CANNOT_REACH = { message: 'the database cannot be reached; try again later', code: 41 };

async function cluster(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run('bash', [CLUSTER, ...args], { timeout: 90_000, env: { ...process.env, ...env } });
  return stdout.trim().split('\n').pop() ?? '';
}

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {}); // a server that PANICs ends the session: the query's own rejection reports it
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end().catch(() => undefined);
  }
}

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  ms: number;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, ms: performance.now() - t0 };
}

function upload(url: string, key: string, bytes: Buffer): Promise<Answer> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), 'face.jpg');
  return call(url, { method: 'POST', headers: { 'x-api-key': key }, body: form });
}

/** Polls until check() holds; fails after `ms` saying what was awaited. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The dialect's "try again later": CompreFace's 503 {message, code 41} with Retry-After. */
function assertUnavailable(a: Answer, expected: { message: string; code: number }): void {
  assert.equal(a.status, 503, JSON.stringify(a.body));
  assert.deepEqual(a.body, expected);
  assert.equal(a.headers.get('retry-after'), '1');
}

/** Every stored face with its person, template and photo, hashed: equal before and after means undamaged. */
const STORED = `SELECT f.uuid::text, p.name, encode(sha256(f.template), 'hex') AS template, encode(sha256(ph.bytes), 'hex') AS photo
                  FROM faces f JOIN persons p ON p.id = f.person_id LEFT JOIN photos ph ON ph.id = f.photo_id ORDER BY f.uuid`;

describe('disk full: a PostgreSQL server whose data folder is on a small filesystem that fills up', function () {
  this.timeout(120_000);
  let url = '';
  let disk = ''; // the tmpfs
  let dataDir = '';
  let server: RunningServer | undefined;
  let key = '';
  let people: Person[] = [];
  let stored: { imageId: string; bytes: Buffer } | undefined;
  const count = async (table: string) => Number((await sql(url, `SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
  const enrol = (p: Person) => upload(`${server!.url}/api/v1/recognition/faces?subject=${encodeURIComponent(p.name)}`, key, photo(p.gallery));
  const recognize = (bytes: Buffer) => upload(`${server!.url}/api/v1/recognition/recognize`, key, bytes);
  const topSubject = (a: Answer): string | undefined => a.body?.result?.[0]?.subjects?.[0]?.subject;
  const postgresRunning = () => fs.existsSync(path.join(dataDir, 'postmaster.pid'));

  /**
   * Moves the WAL to a fresh segment, made while there is space: 16 MB of WAL to go before PostgreSQL needs a
   * new segment file, which it cannot make on a full disk (the WAL writer PANICs). The checkpoint's record,
   * flushed at once, makes the file (a commit that wrote nothing else would be flushed later, asynchronously).
   */
  const walRoom = async () => {
    await sql(url, 'SELECT pg_switch_wal()');
    await sql(url, 'CHECKPOINT');
    const r = await sql(url, 'SELECT pg_walfile_name(pg_current_wal_insert_lsn()) IN (SELECT name FROM pg_ls_waldir()) AS made');
    assert.equal(r.rows[0].made, true, 'the current WAL segment file exists');
  };

  before(async function () {
    requireFacedata(this);
    try {
      url = await cluster(['start'], { PG_TEST_DISK_MB: '192' });
    } catch (err) {
      throw new Error(`cannot start a PostgreSQL cluster on a tmpfs (mounting one needs root, or sudo that does not ask: passwordless, or the ticket npm test asks for at its start): ${(err as { stderr?: string }).stderr ?? err}`, { cause: err });
    }
    const dir = await cluster(['dir', url]);
    disk = path.join(dir, 'disk');
    dataDir = path.join(disk, 'data');
    // Events are written every 100 ms, so a recognition's event meets the full disk within the test.
    server = await startTestServer({ DATABASE_URL: url, SAVE_IMAGES: 'true', EVENTS_FLUSH_MS: '100' });
    key = (await createKeys(server)).recognition;
    people = identificationSet(4).people;
    const bytes = photo(people[0].gallery);
    const r = await enrol(people[0]);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    stored = { imageId: r.body.image_id, bytes };
  });

  after(async function () {
    this.timeout(60_000);
    try {
      await server?.close();
    } finally {
      if (url) await cluster(['stop', url]); // stops PostgreSQL (if it runs), unmounts the tmpfs, removes the folder
    }
  });

  it('while PostgreSQL runs: enrolments refused clearly (53100), nothing stored, recognition from memory, all back once space is freed', async () => {
    const s = server!;
    await s.events.flush();
    const before = { faces: await sql(url, STORED), persons: await count('persons'), photos: await count('photos'), events: await count('recognition_events') };
    await walRoom();

    const ballast = fill(disk);
    const filledAt = performance.now();
    let freedAt: number;
    try {
      for (const p of people.slice(1, 3)) {
        const r = await enrol(p);
        assertUnavailable(r, DISK_FULL);
        console.log(`      enrolment on the full disk: ${r.status} in ${Math.round(r.ms)} ms (${Math.round(performance.now() - filledAt)} ms after the fill)`);
      }
      // A statement refused for want of space leaves its session usable: the pool keeps it (it is no lost
      // connection), rather than opening a new one on the full disk for every refused write.
      const one = await openDb({ databaseUrl: url, dataDir: '', poolSize: 1 });
      try {
        const pid = async () => (await one.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        const session = await pid();
        const bytes = crypto.randomBytes(256 * 1024); // incompressible: the photos' TOAST table must grow
        const insert = (tx: Queryable) => tx.query('INSERT INTO photos (sha256, mime_type, bytes) VALUES ($1, $2, $3)', [crypto.createHash('sha256').update(bytes).digest(), 'image/jpeg', bytes]);
        await assert.rejects(one.transaction(insert), (err: DomainError) => err.code === 'UNAVAILABLE' && err.details.reason === 'disk full');
        assert.equal(await pid(), session, 'the same session, kept by the pool');
      } finally {
        await one.close();
      }
      assert.deepEqual((await sql(url, STORED)).rows, before.faces.rows, 'the refused enrolments stored no face');
      assert.deepEqual({ persons: await count('persons'), photos: await count('photos') }, { persons: before.persons, photos: before.photos });
      // Recognition from memory; its events wait in the writer's queue while their INSERT cannot extend the table.
      const r = await recognize(photo(people[0].probes[0]));
      assert.equal(topSubject(r), people[0].name);
      const listed = await call(`${s.url}/api/v1/recognition/faces`, { headers: { 'x-api-key': key } });
      assert.equal(listed.body.faces[0].image_id, stored!.imageId);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the writer has tried (and failed) by now
      assert.ok(s.events.pending > 0, 'the events are kept');
      assert.ok(postgresRunning(), 'PostgreSQL itself goes on');
    } finally {
      fs.rmSync(ballast);
      freedAt = performance.now();
    }
    // Space is back: everything works again, without restarting faceserver or PostgreSQL.
    await s.events.flush();
    assert.ok((await count('recognition_events')) > before.events, 'the queued events are written');
    const again = await enrol(people[1]);
    assert.equal(again.status, 201, JSON.stringify(again.body));
    console.log(`      space freed: events written and the next enrolment stored ${Math.round(performance.now() - freedAt)} ms later`);
    assert.equal(topSubject(await recognize(photo(people[1].probes[0]))), people[1].name);
    assert.equal((await call(`${s.url}/readyz`)).status, 200);
  });

  /** Nothing stored before is damaged: every face, template and photo as it was, pages and indexes consistent. */
  async function assertIntact(before: pg.QueryResult['rows'], added: number): Promise<void> {
    const after = (await sql(url, STORED)).rows;
    for (const row of before) assert.deepEqual(after.find((a) => a.uuid === row.uuid), row);
    assert.equal(after.length, before.length + added);
    const { port, pathname } = new URL(url);
    await run(path.join(PG_BIN, 'pg_amcheck'), ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', pathname.slice(1), '--install-missing', '--heapallindexed'], { timeout: 60_000 });
    const img = await call(`${server!.url}/api/v1/recognition/faces/${stored!.imageId}/img`, { headers: { 'x-api-key': key } });
    assert.equal(img.status, 200);
    assert.ok(Buffer.compare(img.body, stored!.bytes) === 0, 'the first photo is served byte for byte');
  }

  /** Recognises people[0] from memory and waits until its events are in the writer's queue. */
  async function recognizeQueued(): Promise<void> {
    const s = server!;
    const pending = s.events.pending;
    const r = await recognize(photo(people[0].probes[0]));
    assert.equal(topSubject(r), people[0].name);
    await until('the event is queued', () => s.events.pending >= pending + r.body.result.length, 5_000);
  }

  it('through a checkpoint: PostgreSQL PANICs and recovers on the full disk; faceserver rides it out, works again once space is freed', async () => {
    const s = server!;
    await s.events.flush();
    const before = { faces: (await sql(url, STORED)).rows, events: await count('recognition_events') };
    await walRoom();

    const ballasts = [fill(disk)];
    let queued: number;
    try {
      assertUnavailable(await enrol(people[2]), DISK_FULL);
      // The next checkpoint, forced: the checkpointer cannot write its files on the full disk and PANICs.
      const checkpointAt = performance.now();
      const checkpoint = await sql(url, 'CHECKPOINT').then(
        () => undefined,
        (err: { code?: string; message: string }) => err,
      );
      assert.ok(checkpoint, 'CHECKPOINT fails on a full disk');
      // The postmaster ends every session and runs crash recovery, which ends with a checkpoint of its own:
      // measured, the space that crash recovery frees (it deletes the relation-cache files, ~350 KB) is enough
      // for that checkpoint here, and the server is back; were it not, the server would stop (next case).
      let outcome: 'back' | 'stopped' | undefined;
      await until('PostgreSQL back or stopped after its crash', async () => {
        if (!postgresRunning()) outcome = 'stopped';
        else outcome = (await sql(url, 'SELECT 1').then(() => true, () => false)) ? 'back' : undefined;
        return outcome !== undefined;
      });
      console.log(`      CHECKPOINT: ${checkpoint.code ?? ''} ${checkpoint.message}; PostgreSQL ${outcome} ${Math.round(performance.now() - checkpointAt)} ms later`);
      assert.equal((await call(`${s.url}/healthz`)).status, 200, 'the process itself is alive');
      await recognizeQueued();

      let freedAt: number;
      if (outcome === 'back') {
        // Back on a disk still full but for what the crash freed: taken again, as a growing disk would.
        ballasts.push(fill(disk, 'ballast-2'));
        await until('faceserver ready again by itself', async () => (await call(`${s.url}/readyz`)).status === 200);
        assertUnavailable(await enrol(people[2]), DISK_FULL);
        await new Promise((resolve) => setTimeout(resolve, 500)); // the writer has tried (and failed) by now
        queued = s.events.pending;
        for (const b of ballasts.splice(0)) fs.rmSync(b); // the operator frees space: nothing to restart
        freedAt = performance.now();
      } else {
        queued = s.events.pending;
        for (const b of ballasts.splice(0)) fs.rmSync(b);
        freedAt = performance.now();
        await cluster(['ctl', url, 'resume']); // the operator starts PostgreSQL
      }
      await until('faceserver ready', async () => (await call(`${s.url}/readyz`)).status === 200);
      await s.events.flush();
      assert.equal(await count('recognition_events'), before.events + queued, 'every queued event written, none dropped');
      const again = await enrol(people[2]);
      assert.equal(again.status, 201, JSON.stringify(again.body));
      console.log(`      space freed: queued events written and the next enrolment stored ${Math.round(performance.now() - freedAt)} ms later`);
      assert.equal(topSubject(await recognize(photo(people[2].probes[0]))), people[2].name);
    } finally {
      for (const b of ballasts) fs.rmSync(b);
    }
    await assertIntact(before.faces, 1);
  });

  it('WAL needing a new segment file on the full disk: PostgreSQL PANICs and stops; faceserver rides it out and reconnects once it is started', async () => {
    const s = server!;
    await s.events.flush();
    const before = { faces: (await sql(url, STORED)).rows, events: await count('recognition_events') };
    await walRoom();

    let ballast: string | undefined = fill(disk);
    try {
      // The WAL through every segment file made in advance (checkpoints recycle old ones as future segments) to
      // the end of the last one, as writes would take it, 16 MB a segment: the next record needs a new file.
      const mark = "SELECT pg_logical_emit_message(false, 'faceserver-test', 'wal'), pg_switch_wal()";
      for (let segments = 0; ; segments++) {
        assert.ok(segments < 64, 'the WAL reaches its last segment file');
        const r = await sql(url, `SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS current, (SELECT max(name) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$') AS last`);
        await sql(url, mark);
        if (r.rows[0].current >= r.rows[0].last) break;
      }
      const switchedAt = performance.now();
      await sql(url, "SELECT pg_logical_emit_message(false, 'faceserver-test', 'wal')").catch(() => undefined); // flushed by the WAL writer
      const first = await enrol(people[3]);
      assert.equal(first.status, 503, JSON.stringify(first.body));
      assert.equal(first.headers.get('retry-after'), '1');
      // The WAL writer PANICs; crash recovery cannot make the segment either (FATAL), and the server stops.
      await until('PostgreSQL stops', () => !postgresRunning());
      console.log(`      WAL on the full disk: enrolment ${first.status} "${first.body.message}"; PostgreSQL stopped ${Math.round(performance.now() - switchedAt)} ms later`);

      // faceserver is up: "cannot be reached" at once for what needs the database, not ready, recognition from
      // memory with its events queued.
      assert.equal((await call(`${s.url}/healthz`)).status, 200, 'the process itself is alive');
      const refused = await enrol(people[3]);
      assertUnavailable(refused, CANNOT_REACH);
      assert.ok(refused.ms < 6_000, `answered in ${Math.round(refused.ms)} ms`);
      const ready = await call(`${s.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.database.ok, false);
      await recognizeQueued();
      const queued = s.events.pending;

      // The operator frees space and starts PostgreSQL, whose crash recovery replays the WAL.
      fs.rmSync(ballast);
      ballast = undefined;
      const startAt = performance.now();
      await cluster(['ctl', url, 'resume']);
      const startedMs = performance.now() - startAt;
      await until('faceserver ready again by itself', async () => (await call(`${s.url}/readyz`)).status === 200);
      const readyMs = performance.now() - startAt;
      await s.events.flush();
      assert.equal(await count('recognition_events'), before.events + queued, 'every queued event written, none dropped');
      const again = await enrol(people[3]);
      assert.equal(again.status, 201, JSON.stringify(again.body));
      console.log(`      space freed, PostgreSQL started in ${Math.round(startedMs)} ms: faceserver ready ${Math.round(readyMs)} ms and enrolling ${Math.round(performance.now() - startAt)} ms after the start`);
      assert.equal(topSubject(await recognize(photo(people[3].probes[0]))), people[3].name);
    } finally {
      if (ballast) fs.rmSync(ballast);
    }
    await assertIntact(before.faces, 1);
  });
});
