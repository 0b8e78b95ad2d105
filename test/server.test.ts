// The foundation, black-box: the real server starts on each store and reports ready; bad start-up
// conditions fail with a message that names the culprit; SIGTERM stops it gracefully.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';
import { openDb } from '../src/store/db';
import { migrate, readMigrations, SchemaError } from '../src/store/migrations';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { REPO_ROOT, removeTempDir, startTestServer, tempDir } from './support/server';

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('server start-up', () => {
  it('serves /healthz and /readyz on the embedded database', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await getJson(`${server.url}/healthz`)).status, 200);
      const ready = await getJson(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      assert.equal((ready.body.checks as Record<string, { detail: string }>).database.detail, 'embedded');
    } finally {
      await server.close();
    }
  });

  describe('on a real PostgreSQL server', () => {
    let db: TempDatabase;
    before(async function () {
      db = await createTempDatabase(requirePostgres(this));
    });
    after(async () => db?.drop());

    it('serves /readyz', async () => {
      const server = await startTestServer({ DATABASE_URL: db.url });
      try {
        const ready = await getJson(`${server.url}/readyz`);
        assert.equal(ready.status, 200);
        assert.equal((ready.body.checks as Record<string, { detail: string }>).database.detail, 'postgres');
      } finally {
        await server.close();
      }
    });
  });

  it('gives a request id to every response and answers unknown paths with JSON', async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/no/such/path`, { headers: { 'x-request-id': 'abc-123' } });
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('x-request-id'), 'abc-123');
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    } finally {
      await server.close();
    }
  });

  it('refuses to start when a model file is missing, naming the file', async () => {
    const models = tempDir('faceserver-models-');
    for (const f of fs.readdirSync(path.join(REPO_ROOT, 'models'))) fs.copyFileSync(path.join(REPO_ROOT, 'models', f), path.join(models, f));
    fs.rmSync(path.join(models, 'fr_landmark.onnx'));
    await assert.rejects(startTestServer({ MODELS_DIR: models }), /fr_landmark\.onnx is missing/);
    removeTempDir(models);
  });

  it('refuses to start when a model file is corrupt, naming the file', async () => {
    const models = tempDir('faceserver-models-');
    for (const f of fs.readdirSync(path.join(REPO_ROOT, 'models'))) fs.copyFileSync(path.join(REPO_ROOT, 'models', f), path.join(models, f));
    const file = path.join(models, 'fr_feature.onnx');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    await assert.rejects(startTestServer({ MODELS_DIR: models }), /fr_feature\.onnx is corrupt/);
    removeTempDir(models);
  });

  it('refuses to open an embedded data folder that another process holds', async () => {
    const dataDir = tempDir();
    const first = await openDb({ dataDir });
    try {
      fs.writeFileSync(path.join(dataDir, 'faceserver.lock'), String(process.ppid)); // a live process that is not us
      await assert.rejects(openDb({ dataDir }), /in use by process/);
    } finally {
      await first.close();
      removeTempDir(dataDir);
    }
  });

  it('names the variable of a bad configuration value', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: unknown) => e instanceof ConfigError && e.variable === 'PORT');
    assert.throws(() => loadConfig({ WORKERS: '0' }), /WORKERS: must be between 1 and 256/);
    assert.throws(() => loadConfig({ BACKEND: 'tpu' }), /BACKEND: must be one of cpu, cuda/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ SAVE_IMAGES: 'maybe' }), /SAVE_IMAGES/);
  });

  it('exits with a message naming the variable when started with a bad value', async () => {
    const { code, stderr } = await runMain({ PORT: 'eighty' });
    assert.equal(code, 2);
    assert.match(stderr, /bad configuration: PORT/);
  });

  it('stops gracefully on SIGTERM: in-flight requests finish, exit code 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: '0', DATA_DIR: tempDir(), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /"url":"(http:[^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (c) => reject(new Error(`server exited early with ${c}: ${out}`)));
    });
    assert.equal((await getJson(`${url}/readyz`)).status, 200);
    // An in-flight request: its body is still arriving when SIGTERM comes, and it must still be answered.
    const { hostname, port } = new URL(url);
    const answered = new Promise<number>((resolve, reject) => {
      const req = http.request({ hostname, port, method: 'POST', path: '/slow-upload', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write('{"part": ');
      setTimeout(() => req.end('1}'), 1500);
    });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await answered, 404); // answered in full (no such endpoint), not cut off
    assert.equal(await exited, 0);
  });
});

describe('migrations', () => {
  for (const store of ['embedded', 'postgres'] as const) {
    describe(`on the ${store} database`, () => {
      let temp: TempDatabase | undefined;
      let options: { databaseUrl?: string; dataDir: string };
      before(async function () {
        if (store === 'postgres') temp = await createTempDatabase(requirePostgres(this));
        options = { databaseUrl: temp?.url, dataDir: tempDir() };
      });
      after(async () => {
        if (options) removeTempDir(options.dataDir);
        await temp?.drop();
      });

      it('applies every migration once; a second run is a no-op', async () => {
        const db = await openDb(options);
        try {
          const first = await migrate(db);
          assert.deepEqual(first.applied, readMigrations().map((m) => m.version));
          const second = await migrate(db);
          assert.deepEqual(second.applied, []);
          const rows = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows;
          assert.equal(rows[0].n, readMigrations().length);
        } finally {
          await db.close();
        }
      });

      it('refuses a database whose schema is newer than the code', async () => {
        const db = await openDb(options);
        try {
          await migrate(db);
          await db.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (99999, 'future', 'x')");
          await assert.rejects(migrate(db), (e: unknown) => e instanceof SchemaError && /newer than this faceserver/.test(e.message));
          await db.query('DELETE FROM schema_migrations WHERE version = 99999');
        } finally {
          await db.close();
        }
      });
    });
  }

  it('is safe when two instances migrate the same PostgreSQL at once', async function () {
    const temp = await createTempDatabase(requirePostgres(this));
    try {
      const a = await openDb({ databaseUrl: temp.url, dataDir: tempDir() });
      const b = await openDb({ databaseUrl: temp.url, dataDir: tempDir() });
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const all = readMigrations().map((m) => m.version);
      assert.deepEqual([...ra.applied, ...rb.applied].sort((x, y) => x - y), all);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await temp.drop();
    }
  });
});

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATA_DIR: tempDir(), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}
