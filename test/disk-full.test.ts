// Disk full (issue 18, part 3), on the embedded store whose data folder is faceserver's own: the data folder on a
// 128 MB tmpfs mounted by this test, filled up with a ballast file. Enrolments then fail with a clear "out of
// disk space" in the dialect's shape (503, Retry-After) and store nothing; what was stored is intact;
// recognition keeps working, its events kept in the writer's queue; once the ballast is removed, enrolments and
// the queued events go through without a restart. Mounting needs root (CAP_SYS_ADMIN): as root (CI), or by `sudo -n`.
// A PostgreSQL server whose data folder fills up is test/pg-disk-full.test.ts: the same 503 while the server
// runs, then its PANIC at the next checkpoint or WAL segment (a crash and recovery, or a stop until the operator
// frees space and starts it), which faceserver rides through as an outage.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { identificationSet, photo, requireFacedata, type Person } from './support/compreface';
import { asRoot, fill } from './support/disk';
import { migratedDataDir, removeTempDir, startTestServer, tempDir } from './support/server';

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

async function post(url: string, key: string, bytes: Buffer): Promise<Answer> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), 'face.jpg');
  const res = await fetch(url, { method: 'POST', headers: { 'x-api-key': key }, body: form });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('disk full: the embedded store on a small filesystem that fills up', function () {
  this.timeout(120_000);
  let mount = '';
  let mounted = false;
  let server: RunningServer | undefined;
  let key = '';
  let people: Person[] = [];

  before(async function () {
    requireFacedata(this);
    mount = tempDir('faceserver-diskfull-');
    try {
      // mode=1777: the mount point stays writable for the test's own user when sudo mounted it.
      asRoot('mount', '-t', 'tmpfs', '-o', 'size=128m,mode=1777', 'tmpfs', mount);
    } catch (err) {
      throw new Error(`this test mounts a tmpfs and needs root, or sudo that does not ask (passwordless, or the ticket npm test asks for at its start): ${(err as { stderr?: Buffer }).stderr ?? err}`, { cause: err });
    }
    mounted = true;
    const template = await migratedDataDir();
    fs.cpSync(template, path.join(mount, 'data'), { recursive: true });
    removeTempDir(template);
    server = await startTestServer({ DATA_DIR: path.join(mount, 'data'), SAVE_IMAGES: 'true', EMBEDDED_FSYNC: 'true', EVENTS_FLUSH_MS: '100' });
    key = (await server.services.keys.create('recognition')).key;
    people = identificationSet(3).people;
  });

  after(async function () {
    this.timeout(60_000);
    try {
      await server?.close();
    } finally {
      if (mounted) asRoot('umount', mount);
      if (mount) removeTempDir(mount);
    }
  });

  it('refuses enrolments clearly, keeps what is stored, recognises, and recovers once space is freed', async () => {
    const s = server!;
    const faces = `${s.url}/api/v1/recognition/faces`;
    const enrolled = await post(`${faces}?subject=${encodeURIComponent(people[0].name)}`, key, photo(people[0].gallery));
    assert.equal(enrolled.status, 201);
    await s.events.flush();
    const count = async (table: string) => Number((await s.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
    const before = { faces: await count('faces'), persons: await count('persons'), photos: await count('photos'), events: await count('recognition_events') };

    const ballast = fill(mount);
    try {
      for (const p of people.slice(1)) {
        const r = await post(`${faces}?subject=${encodeURIComponent(p.name)}`, key, photo(p.gallery));
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.deepEqual(r.body, { message: 'the database is out of disk space: nothing was stored; try again once space is freed', code: 41 });
        assert.equal(r.headers.get('retry-after'), '1');
      }
      assert.deepEqual({ faces: await count('faces'), persons: await count('persons'), photos: await count('photos') }, { faces: before.faces, persons: before.persons, photos: before.photos });
      // Recognition from memory; its events wait in the queue (the writer retries them).
      const r = await post(`${s.url}/api/v1/recognition/recognize`, key, photo(people[0].probes[0]));
      assert.equal(r.status, 200);
      assert.equal(r.body.result[0].subjects[0].subject, people[0].name);
      const listed = await fetch(`${faces}`, { headers: { 'x-api-key': key } });
      assert.equal(((await listed.json()) as { faces: { image_id: string }[] }).faces[0].image_id, enrolled.body.image_id);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the writer has tried (and failed) by now
      assert.ok(s.events.pending > 0, 'the events are kept');
    } finally {
      fs.rmSync(ballast);
    }
    // Space is back: everything works again, without a restart.
    await s.events.flush();
    assert.ok((await count('recognition_events')) > before.events, 'the queued events are written');
    for (const p of people.slice(1)) {
      assert.equal((await post(`${faces}?subject=${encodeURIComponent(p.name)}`, key, photo(p.gallery))).status, 201);
      const r = await post(`${s.url}/api/v1/recognition/recognize`, key, photo(p.probes[0]));
      assert.equal(r.body.result[0].subjects[0].subject, p.name);
    }
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
  });
});
