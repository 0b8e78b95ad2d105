// `faceserver import` and `faceserver export` on both stores, with real photos from ../shared/facedata
// (skipped with a message when that folder is absent): a folder of person sub-folders goes in through a running
// server's admin API, with every refusal reported (no face, several faces, low quality, unreadable); a re-run
// skips what is enrolled; the collection is exported (photos too) and imported into a fresh store with the
// server stopped, where it recognizes the probes exactly as before; a CSV of path,name goes in the same way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readAdminSecret } from '../src/admin/local-files';
import { parseCsv } from '../src/cli/bulk';
import { EngineFaceAnalyzer } from '../src/domain/face-analyzer';
import type { RunningServer } from '../src/server';
import { cliEnv, runCli } from './support/cli';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { migratedDataDir, REPO_ROOT, removeTempDir, startTestServer, tempDir } from './support/server';
import { forEachStore } from './support/stores';

const FACEDATA = process.env.FS_FACEDATA ?? path.resolve(REPO_ROOT, '../shared/facedata');
const haveFacedata = fs.existsSync(path.join(FACEDATA, 'MANIFEST.md'));

/** Enrolled from their sub-folders; the last photo of each is kept back as a probe. */
const PEOPLE = ['Abel_Pacheco', 'Adel_Al-Jubeir', 'Akhmed_Zakayev', 'Angela_Bassett'];

function lfwPhotos(person: string): string[] {
  return fs
    .readdirSync(path.join(FACEDATA, 'lfw', person))
    .sort()
    .map((f) => path.join(FACEDATA, 'lfw', person, f));
}

/** The photo folder: people, plus one refusal of each kind, plus a file that is not a photo. */
async function photoFolder(): Promise<{ dir: string; linked: string; enrolled: number; probes: string[] }> {
  const dir = tempDir('faceserver-import-');
  // The last person's folder is a symbolic link to a folder elsewhere (followed like a folder).
  const linked = tempDir('faceserver-import-linked-');
  let enrolled = 0;
  const probes: string[] = [];
  for (const [i, person] of PEOPLE.entries()) {
    const photos = lfwPhotos(person);
    assert.ok(photos.length >= 2, person);
    const folder = i === PEOPLE.length - 1 ? linked : path.join(dir, person);
    fs.mkdirSync(folder, { recursive: true });
    if (folder === linked) fs.symlinkSync(linked, path.join(dir, person));
    for (const p of photos.slice(0, -1)) fs.copyFileSync(p, path.join(folder, path.basename(p)));
    enrolled += photos.length - 1;
    probes.push(photos[photos.length - 1]);
  }
  fs.mkdirSync(path.join(dir, 'Refused'));
  fs.copyFileSync(path.join(FACEDATA, 'groups/dlib_2007_007763.jpg'), path.join(dir, 'Refused/seven-people.jpg')); // several faces
  fs.copyFileSync(path.join(FACEDATA, 'fer2013/happy/PublicTest_1895428.jpg'), path.join(dir, 'Refused/tiny.jpg')); // a 48 px face: low quality
  const strip = await sharp(lfwPhotos(PEOPLE[0])[0]).extract({ left: 0, top: 0, width: 70, height: 250 }).jpeg().toBuffer();
  fs.writeFileSync(path.join(dir, 'Refused/background.jpg'), strip); // no face (the photo's left edge)
  fs.writeFileSync(path.join(dir, 'Refused/notes.jpg'), 'not a photo\n'); // unreadable
  fs.writeFileSync(path.join(dir, 'README.txt'), 'ignored\n');
  const first = lfwPhotos(PEOPLE[0])[0];
  fs.copyFileSync(first, path.join(dir, PEOPLE[0], 'again.jpg')); // the same photo twice: sent once
  return { dir, linked, enrolled, probes };
}

interface Report {
  counts: Record<string, number>;
  results: { file: string; person: string; outcome: string }[];
}

const readReport = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Report;

/** Each probe's three best persons with their cosines, searched in the collection of this name. */
async function recognize(server: RunningServer, collection: string, probes: Float32Array[]): Promise<{ name: string | null; cosine: number }[][]> {
  const c = await server.services.collections.byName(collection);
  const out = [];
  for (const probe of probes) {
    const matches = await server.services.identification.search(probe, { collectionIds: [c.id], limit: 3, by: 'person' });
    out.push(matches.map((m) => ({ name: m.personName, cosine: m.cosine })));
  }
  return out;
}

describe('faceserver import / export', function () {
  this.timeout(180_000);

  it('refuses bad arguments before touching anything (exit 2)', async function () {
    const env = { DATA_DIR: '/nonexistent/faceserver-never-made' };
    for (const args of [['import'], ['import', 'x'], ['import', 'x', '--collection', 'c', '--parallel', '0'], ['import', 'x', '--collection', 'c', '--bogus'], ['export', '--collection', 'c'], ['export', 'd']]) {
      const r = await runCli(env, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err.join('\n')}`);
      assert.match(r.err.join('\n'), /usage:/);
    }
    // Photos straight in the folder have no person: refused before anything is opened.
    const loose = tempDir('faceserver-loose-');
    try {
      fs.writeFileSync(path.join(loose, 'someone.jpg'), 'x');
      const r = await runCli(env, 'import', loose, '--collection', 'c');
      assert.equal(r.code, 1);
      assert.match(r.err.join('\n'), /no sub-folder per person/);
    } finally {
      removeTempDir(loose);
    }
    assert.ok(!fs.existsSync(env.DATA_DIR));
  });

  it('reads CSV as RFC 4180', function () {
    assert.deepEqual(parseCsv('\ufeffpath,name\r\na.jpg,Ada\n"b, c.jpg","Grace ""Amazing"" Hopper"\n\n'), [
      ['path', 'name'],
      ['a.jpg', 'Ada'],
      ['b, c.jpg', 'Grace "Amazing" Hopper'],
    ]);
  });

  forEachStore((name, store) => {
    let photos: { dir: string; linked: string; enrolled: number; probes: string[] };
    let work: string;
    let server: RunningServer | undefined;
    let target: { dataDir: string; databaseUrl?: string } | undefined;
    let targetDb: TempDatabase | undefined;

    before(async function () {
      if (!haveFacedata) {
        console.log(`    (skipped: ${FACEDATA} is absent)`);
        this.skip();
      }
      photos = await photoFolder();
      work = tempDir('faceserver-bulk-');
    });

    after(async function () {
      await server?.close();
      await targetDb?.drop();
      if (target) removeTempDir(target.dataDir);
      if (photos) removeTempDir(photos.dir);
      if (photos) removeTempDir(photos.linked);
      if (work) removeTempDir(work);
    });

    it('imports a folder through the running server, resumes, exports, and imports the export into a fresh store that recognizes identically', async function () {
      server = await startTestServer({ DATA_DIR: store.location.dataDir, ...(store.location.databaseUrl ? { DATABASE_URL: store.location.databaseUrl } : {}) });
      const env = cliEnv(store.location);

      // 1. The folder, through the server's admin API.
      const report1 = path.join(work, 'report1.json');
      const r1 = await runCli(env, 'import', photos.dir, '--collection', 'people', '--parallel', '2', '--report', report1);
      assert.equal(r1.code, 0, r1.err.join('\n'));
      assert.match(r1.err.join('\n'), /through the server at http:\/\/127\.0\.0\.1:\d+/);
      const rep1 = readReport(report1);
      const outcome = (file: string) => rep1.results.find((r) => r.file === file)?.outcome;
      assert.equal(rep1.counts.enrolled, photos.enrolled, JSON.stringify(rep1.counts));
      assert.equal(outcome('Refused/seven-people.jpg'), 'several_faces');
      assert.equal(outcome('Refused/tiny.jpg'), 'low_quality');
      assert.equal(outcome('Refused/background.jpg'), 'no_face');
      assert.equal(outcome('Refused/notes.jpg'), 'unreadable');
      assert.equal(outcome(`${PEOPLE[0]}/again.jpg`), 'duplicate');
      const summary = r1.out.join('\n');
      for (const section of ['no face (1):', 'several faces (1):', 'low quality (1):', 'not a readable image (1):']) assert.ok(summary.includes(section), summary);
      assert.match(summary, /photos\/s/);
      const people = await server.services.collections.byName('people');
      const persons = await server.services.persons.list([people.id]);
      assert.deepEqual(persons.map((p) => p.name).sort(), [...PEOPLE].sort());

      // The bulk routes answer bad input as the rest of the admin API does: {"error": {code, message}}.
      const secret = readAdminSecret({ dataDir: store.location.dataDir, adminSecret: undefined })!;
      const admin = async (method: 'GET' | 'POST', route: string, body?: unknown, auth = true) => {
        const res = await fetch(`${server!.url}/admin/v1/bulk${route}`, {
          method,
          headers: { ...(auth ? { authorization: `Bearer ${secret}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        return [res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
      };
      assert.deepEqual(await admin('GET', '/capacity', undefined, false), [401, 'KEY_MISSING']);
      assert.deepEqual(await admin('POST', '/collections', {}), [400, 'MISSING_ARGUMENT']);
      assert.deepEqual(await admin('POST', '/collections', { name: 'absent', create: false }), [404, 'COLLECTION_NOT_FOUND']);
      assert.deepEqual(await admin('POST', '/collections', { name: 'x', create: 'yes' }), [400, 'INVALID_ARGUMENT']);
      assert.deepEqual(await admin('GET', '/collections/999999/enrolled'), [404, 'COLLECTION_NOT_FOUND']);
      assert.deepEqual(await admin('GET', `/collections/${people.id}/enrolled?limit=0`), [400, 'INVALID_ARGUMENT']);
      assert.deepEqual(await admin('GET', `/collections/${people.id}/export?after=-1`), [400, 'INVALID_ARGUMENT']);
      assert.deepEqual(await admin('POST', `/collections/${people.id}/photos`, { name: 'x', image: '@@@' }), [400, 'INVALID_BASE64']);
      assert.deepEqual(await admin('POST', `/collections/${people.id}/photos`, { image: 'AAAA' }), [400, 'MISSING_ARGUMENT']);
      assert.deepEqual(await admin('POST', `/collections/${people.id}/faces`, { faces: 'x' }), [400, 'MISSING_ARGUMENT']);
      assert.deepEqual(await admin('POST', `/collections/${people.id}/faces`, { faces: [{ template: 'AAAA', person: null }] }), [400, 'TEMPLATE_MISMATCH']);
      assert.deepEqual(await admin('POST', `/collections/${people.id}/faces`, { faces: [{ template: 'AAAA', box: 'big' }] }), [400, 'INVALID_ARGUMENT']);
      assert.equal(await server.services.faces.count([people.id]), photos.enrolled, 'nothing written by the refused calls');

      // 2. A re-run skips every enrolled photo (the refused ones are tried again, and refused again).
      const report2 = path.join(work, 'report2.json');
      const r2 = await runCli(env, 'import', photos.dir, '--collection', 'people', '--report', report2);
      assert.equal(r2.code, 0, r2.err.join('\n'));
      const rep2 = readReport(report2);
      assert.equal(rep2.counts.skipped, photos.enrolled + 1); // the copy too, now that its photo is enrolled
      assert.equal(rep2.counts.enrolled, undefined);
      assert.equal(await server.services.faces.count([people.id]), photos.enrolled);

      // 3. Export, photos included.
      const exported = path.join(work, 'export');
      const e = await runCli(env, 'export', exported, '--collection', 'people', '--photos');
      assert.equal(e.code, 0, e.err.join('\n'));
      assert.equal(fs.readdirSync(path.join(exported, 'photos')).length, photos.enrolled);
      const manifest = JSON.parse(fs.readFileSync(path.join(exported, 'faceserver-export.json'), 'utf8')) as { faces: number; persons: number };
      assert.deepEqual([manifest.faces, manifest.persons], [photos.enrolled, PEOPLE.length]);
      assert.equal((await runCli(env, 'export', exported, '--collection', 'people')).code, 1, 'a folder that is not empty is refused');

      const analyzer = new EngineFaceAnalyzer(server.engine);
      const probes: Float32Array[] = [];
      for (const p of photos.probes) {
        const a = await analyzer.analyze(fs.readFileSync(p), { detectFaces: true, maxFaces: 1, template: true, attributes: [] });
        probes.push(a.faces[0].embedding);
      }
      assert.deepEqual(
        (await recognize(server, 'people', probes)).map((m) => m[0].name),
        PEOPLE,
        'every probe finds its person',
      );
      // The baseline from a server started on this store: a start loads the index in half precision (faces
      // enrolled while it runs are added as float32), as the fresh store's server below will.
      await server.close();
      server = await startTestServer({ DATA_DIR: store.location.dataDir, ...(store.location.databaseUrl ? { DATABASE_URL: store.location.databaseUrl } : {}) });
      const before = await recognize(server, 'people', probes);
      await server.close();
      server = undefined;

      // 4. Into a fresh store of the same kind, with no server running (the CLI opens the database itself).
      if (name === 'postgres') {
        targetDb = await createTempDatabase(requirePostgres(this));
        target = { dataDir: tempDir('faceserver-store-'), databaseUrl: targetDb.url };
      } else target = { dataDir: await migratedDataDir() };
      const tenv = cliEnv(target);
      const i1 = await runCli(tenv, 'import', exported, '--collection', 'people');
      assert.equal(i1.code, 0, i1.err.join('\n'));
      assert.match(i1.out.join('\n'), new RegExp(`imported ${photos.enrolled}, already enrolled \\(skipped\\) 0`));
      const i2 = await runCli(tenv, 'import', exported, '--collection', 'people');
      assert.match(i2.out.join('\n'), new RegExp(`imported 0, already enrolled \\(skipped\\) ${photos.enrolled}`));

      // A CSV of path,name, also with the server stopped: the CLI loads the engine itself.
      const csv = path.join(photos.dir, 'list.csv');
      fs.writeFileSync(csv, `path,name\n${PEOPLE[0]}/${path.basename(lfwPhotos(PEOPLE[0])[0])},"Pacheco, Abel"\nRefused/tiny.jpg,Tiny\n`);
      const c = await runCli(tenv, 'import', csv, '--collection', 'from-csv');
      assert.equal(c.code, 0, c.err.join('\n'));
      assert.match(c.out.join('\n'), /enrolled 1,.* low quality 1,/);

      server = await startTestServer({ DATA_DIR: target.dataDir, ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}) });
      const after = await recognize(server, 'people', probes);
      assert.deepEqual(after, before, 'the same persons with the same cosines');
      const copy = await server.services.collections.byName('people');
      const faces = await server.services.faces.list([copy.id]);
      assert.equal(faces.length, photos.enrolled);
      assert.ok(await server.services.faces.photo(faces[0].id, [copy.id]), 'the photos came back');
      const csvPersons = await server.services.persons.list([(await server.services.collections.byName('from-csv')).id]);
      assert.deepEqual(
        csvPersons.map((p) => p.name),
        ['Pacheco, Abel'],
      );
    });
  });
});
