// The admin API's guards on a real server (a caller from a non-loopback address, the allowed-addresses setting,
// a secret given as its hash, the API switched off), the CLI's strict parsing and exit codes, how the CLI
// finds (or ignores) a server, and migration 0007 keeping keys made before it working.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyService } from '../src/domain/keys';
import { KEY_KINDS } from '../src/dialects/key-kinds';
import { isDomainError } from '../src/domain/errors';
import type { RunningServer } from '../src/server';
import { openDb, type Db } from '../src/store/db';
import { migrate, readMigrations } from '../src/store/migrations';
import { cliEnv, runCli, spawnCli } from './support/cli';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { migratedDataDir, startTestServer, tempDir } from './support/server';

/** This machine's first non-loopback IPv4 address, if it has one. */
function externalIPv4(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

async function adminStatus(url: string, secret: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${url}/admin/v1/keys`, { headers: { authorization: `Bearer ${secret}` } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

describe('admin API guards', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  after(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string>) => {
    const dataDir = await migratedDataDir();
    dirs.push(dataDir);
    const server = await startTestServer({ DATA_DIR: dataDir, ...env });
    servers.push(server);
    return { server, dataDir };
  };

  it('answers loopback only by default: a caller from this machine\'s external address is refused', async function () {
    const ip = externalIPv4();
    if (!ip) return this.skip();
    const { server, dataDir } = await start({ HOST: '0.0.0.0' });
    const secret = fs.readFileSync(path.join(dataDir, 'admin-secret'), 'utf8').trim();
    assert.equal((fs.statSync(path.join(dataDir, 'admin-secret')).mode & 0o777).toString(8), '600');
    assert.deepEqual(await adminStatus(`http://127.0.0.1:${server.port}`, secret), { status: 200, code: undefined });
    assert.deepEqual(await adminStatus(`http://${ip}:${server.port}`, secret), { status: 403, code: 'FORBIDDEN' });
    const serverFile = JSON.parse(fs.readFileSync(path.join(dataDir, 'server.json'), 'utf8'));
    assert.equal(serverFile.url, `http://127.0.0.1:${server.port}`, 'the CLI is pointed at loopback');
    assert.equal(serverFile.pid, process.pid);
  });

  it('ADMIN_ALLOWED_ADDRESSES lets more callers in; ADMIN_SECRET may be given as its hash only', async function () {
    const ip = externalIPv4();
    if (!ip) return this.skip();
    const secret = 'correct horse battery staple';
    const hash = crypto.createHash('sha256').update(secret).digest('hex');
    const { server, dataDir } = await start({ HOST: '0.0.0.0', ADMIN_ALLOWED_ADDRESSES: `${ip}/32`, ADMIN_SECRET: `sha256:${hash}` });
    assert.ok(!fs.existsSync(path.join(dataDir, 'admin-secret')), 'no secret file when one is configured');
    assert.equal((await adminStatus(`http://${ip}:${server.port}`, secret)).status, 200);
    assert.equal((await adminStatus(`http://${ip}:${server.port}`, hash)).status, 401);

    // The CLI needs the secret itself: with only the hash at hand it says so; with the secret it goes through.
    const env = cliEnv({ dataDir }, { ADMIN_SECRET: `sha256:${hash}` });
    const refused = await runCli(env, 'keys', 'list');
    assert.equal(refused.code, 1);
    assert.match(refused.err.join('\n'), /no admin secret is at hand: set ADMIN_SECRET/);
    const created = await runCli({ ...env, ADMIN_SECRET: secret }, 'keys', 'create', '--kind', 'imageapi');
    assert.equal(created.code, 0, created.err.join('\n'));
    assert.match(created.err.join('\n'), /through the server at/);
    const wrong = await runCli({ ...env, ADMIN_SECRET: 'not the secret at all' }, 'keys', 'list');
    assert.equal(wrong.code, 1);
    assert.match(wrong.err.join('\n'), /refused the admin secret/);
  });

  it('ADMIN_API=false serves no admin API and publishes no server file', async () => {
    const { server, dataDir } = await start({ ADMIN_API: 'false' });
    const res = await fetch(`${server.url}/admin/v1/keys`);
    assert.equal(res.status, 404);
    assert.ok(!fs.existsSync(path.join(dataDir, 'server.json')));
    assert.ok(!fs.existsSync(path.join(dataDir, 'admin-secret')));
  });
});

describe('faceserver CLI: strict arguments, exit codes, finding the server', function () {
  this.timeout(120_000);
  let dataDir: string;
  let env: Record<string, string>;
  before(async () => {
    dataDir = await migratedDataDir();
    env = cliEnv({ dataDir });
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('a misspelt option is a usage error (exit 2) naming it, and nothing is created', async () => {
    const typo = await runCli(env, 'keys', 'create', '--colection', 'typo');
    assert.equal(typo.code, 2);
    assert.match(typo.err[0], /--colection/);
    assert.match(typo.err.join('\n'), /usage:/);
    const spawned = await spawnCli(env, 'keys', 'create', '--service', 'recognition', '--colection', 'typo');
    assert.equal(spawned.code, 2, 'the real command exits 2 as well');
    assert.match(spawned.err[0], /--colection/);
    assert.deepEqual(spawned.out, []);

    const usage: string[][] = [
      ['keys', 'create'],
      ['keys', 'create', '--service', 'findface'],
      ['keys', 'create', '--kind', 'nonsense'],
      ['keys', 'create', '--kind', 'recognition', '--service', 'recognition'],
      ['keys', 'create', '--kind', 'recognition', '--scope', 'admin'],
      ['keys', 'create', '--kind', 'recognition', '--collection'],
      ['keys', 'create', '--kind', 'detection', '--collection', 'x'],
      ['keys', 'create', '--kind', 'findface', '--user', 'alice'],
      ['keys', 'create', '--kind', 'findface', 'extra'],
      ['keys', 'list', '--al'],
      ['keys', 'list', 'extra'],
      ['keys', 'revoke'],
      ['keys', 'revoke', 'a', 'b'],
      ['keys', 'frobnicate'],
      ['keys'],
      ['collections', 'create'],
      ['collections', 'drop', 'x'],
      ['frobnicate'],
      [],
    ];
    for (const args of usage) assert.equal((await runCli(env, ...args)).code, 2, `faceserver ${args.join(' ')}`);
    assert.equal((await runCli(env, 'keys', 'create', '--help')).code, 0);
    assert.equal((await runCli(env, '--help')).code, 0);

    const listed = await runCli(env, 'keys', 'list', '--all');
    assert.equal(listed.code, 0);
    assert.deepEqual(listed.out, [], 'no key was created');
    assert.deepEqual((await runCli(env, 'collections', 'list')).out, [], 'no collection was created');
  });

  it('failures exit 1: nothing to revoke, an existing collection, a bad setting', async () => {
    assert.equal((await runCli(env, 'keys', 'revoke', 'abcdefgh')).code, 1);
    assert.equal((await runCli(env, 'collections', 'create', 'lobby')).code, 0);
    const again = await runCli(env, 'collections', 'create', 'lobby');
    assert.equal(again.code, 1);
    assert.match(again.err[0], /exists/);
    assert.equal((await runCli({ ...env, PORT: 'eighty' }, 'keys', 'list')).code, 1);
  });

  it('creates every kind with its options, the default collection first', async () => {
    const created = await runCli(env, 'keys', 'create', '--kind', 'faceintellect', '--user', 'guard', '--collection', 'b', '--collection', 'a', '--name', 'front desk');
    assert.equal(created.code, 0, created.err.join('\n'));
    assert.equal(created.out[0].length, 32);
    assert.match(created.err[0], /user "guard", sees collections "b", "a" \(default "b"\)/);
    const listed = await runCli(env, 'keys', 'list');
    assert.match(listed.out.join('\n'), /kind=faceintellect user=guard collections=b,a scopes=detect,verify,identify,read,write name="front desk"/);
    const dup = await runCli(env, 'keys', 'create', '--kind', 'faceintellect', '--user', 'guard');
    assert.equal(dup.code, 1, 'one active credential per user');
    assert.equal((await runCli(env, 'keys', 'create', '--kind', 'scans', '--user', 'bad:user')).code, 1);
  });

  it('ignores a stale server file (process gone, or not answering) and uses the database', async () => {
    const file = path.join(dataDir, 'server.json');
    const write = (pid: number) => fs.writeFileSync(file, JSON.stringify({ pid, url: 'http://127.0.0.1:1', database: 'embedded', startedAt: '' }));
    try {
      write(process.pid); // alive, but nothing listens on port 1
      const r = await runCli(env, 'keys', 'create', '--kind', 'imageapi');
      assert.equal(r.code, 0, r.err.join('\n'));
      assert.match(r.err.join('\n'), /through the data folder/);
      write(2 ** 22 + 1); // above Linux's pid_max: no such process
      assert.equal((await runCli(env, 'keys', 'list')).code, 0);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe('migration 0007: keys made before it keep working', function () {
  this.timeout(120_000);
  for (const store of ['embedded', 'postgres'] as const) {
    it(`on the ${store} store`, async function () {
      let temp: TempDatabase | undefined;
      const dir = tempDir();
      let db: Db | undefined;
      try {
        if (store === 'postgres') temp = await createTempDatabase(requirePostgres(this));
        db = await openDb({ databaseUrl: temp?.url, dataDir: dir });
        await migrate(
          db,
          readMigrations().filter((m) => m.version < 7),
        );
        const sha = (k: string) => crypto.createHash('sha256').update(k).digest();
        const [recognition, detection, revoked] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
        const c = await db.query<{ id: number }>(`INSERT INTO collections (name) VALUES ('legacy') RETURNING id`);
        await db.query(`INSERT INTO api_keys (key_hash, prefix, service, collection_id) VALUES ($1, $2, 'recognition', $3)`, [sha(recognition), recognition.slice(0, 8), c.rows[0].id]);
        await db.query(`INSERT INTO api_keys (key_hash, prefix, service) VALUES ($1, $2, 'detection')`, [sha(detection), detection.slice(0, 8)]);
        await db.query(`INSERT INTO api_keys (key_hash, prefix, service, revoked_at) VALUES ($1, $2, 'recognition', now())`, [sha(revoked), revoked.slice(0, 8)]);

        await migrate(db);
        const keys = new KeyService(db, KEY_KINDS);
        assert.deepEqual(await keys.authenticate(recognition, ['recognition']), {
          keyId: 1,
          kind: 'recognition',
          scopes: ['detect', 'verify', 'identify', 'read', 'write'],
          collectionIds: [c.rows[0].id],
        });
        const det = await keys.authenticate(detection, ['detection'], { scope: 'detect' });
        assert.deepEqual([det.scopes, det.collectionIds], [['detect'], []]);
        await assert.rejects(keys.authenticate(detection, ['recognition']), (e) => isDomainError(e, 'KEY_INVALID'));
        await assert.rejects(keys.authenticate(revoked, ['recognition']), (e) => isDomainError(e, 'KEY_INVALID'));
        const listed = await keys.list();
        assert.deepEqual(
          listed.map((k) => [k.kind, k.collections]),
          [
            ['recognition', ['legacy']],
            ['detection', []],
          ],
        );
      } finally {
        await db?.close();
        await temp?.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
