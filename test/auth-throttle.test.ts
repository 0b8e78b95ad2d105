// Failed-authentication throttle per client address (issue 18, part 6; src/domain/auth-throttle.ts), black-box
// on loopback on both stores: AUTH_FAILURES_PER_ADDRESS bad credentials from one address, through any mix of
// dialects, block it; while blocked, every dialect answers it 429 in its own error shape with Retry-After, valid
// keys included, and reads no key from the database (faceserver_key_lookups_total stands still); another address
// (127.0.0.2) is served meanwhile; the block ends after AUTH_BLOCK_SECONDS. Over PostgreSQL the count is shared
// (migrations/0014_auth_failures.sql): two instances on one database reach the limit together, the one not told
// yet learns the block from its next failed attempt's write and refuses the address until the shared block's end;
// a write that fails (the table gone, the database dropped) is counted in memory, with ordinary answers.
import assert from 'node:assert/strict';
import pg from 'pg';
import type { RunningServer } from '../src/server';
import { AuthThrottle, throttleKey } from '../src/domain/auth-throttle';
import { isDomainError } from '../src/domain/errors';
import { deleteExpiredAuthFailures, recordAuthFailure } from '../src/store/auth-failures';
import { openDb, type Db } from '../src/store/db';
import { migrate } from '../src/store/migrations';
import { RetentionJob } from '../src/store/retention';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { startTestServer } from './support/server';
import { sendFrom as send, type Answer } from './support/loopback-client';
import { forEachStore } from './support/stores';


const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const BAD_UUID = '00000000-0000-4000-8000-000000000000';

async function metric(server: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

function retryAfter(a: Answer, max: number): number {
  const s = Number(a.headers['retry-after']);
  assert.ok(Number.isInteger(s) && s >= 1 && s <= max, `Retry-After ${a.headers['retry-after']}`);
  return s;
}

const LIMIT = 4;
const BLOCK_SECONDS = 5;

describe('failed-authentication throttle per client address', function () {
  this.timeout(120_000);

  forEachStore((name, store) => {
    let server: RunningServer;
    let cf: string;
    let ff: string;
    let ia: string;
    let fi: { user: string; key: string };
    let sc: { user: string; key: string };

    before(async function () {
      this.timeout(120_000);
      const { dataDir, databaseUrl } = store.location;
      server = await startTestServer({
        DATA_DIR: dataDir,
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        AUTH_FAILURES_PER_ADDRESS: String(LIMIT),
        AUTH_FAILURES_WINDOW_SECONDS: '60',
        AUTH_BLOCK_SECONDS: String(BLOCK_SECONDS),
      });
      const keys = server.services.keys;
      cf = (await keys.create('recognition', { collections: [`throttle-${name}`] })).key;
      ff = (await keys.create('findface')).key;
      ia = (await keys.create('imageapi')).key;
      const f = await keys.create('faceintellect', { user: `door-${name}` });
      fi = { user: f.info.user!, key: f.key };
      const s = await keys.create('scans');
      sc = { user: s.info.user!, key: s.key };
    });
    after(async () => server?.close());

    // One request of each dialect (its credential scheme and an endpoint that needs a key).
    const compreface = (key: string, from?: string) => send(`${server.url}/api/v1/recognition/subjects`, { headers: { 'x-api-key': key }, from });
    const findface = (key: string, from?: string) => send(`${server.url}/v1/galleries`, { headers: { authorization: `Token ${key}` }, from });
    const imageapi = (key: string, from?: string) =>
      send(`${server.url}/face-detector/process/image`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/jpeg' }, body: '', from });
    const faceintellect = (user: string, key: string, from?: string) =>
      send(`${server.url}/firserver/ReadPersons`, { method: 'POST', headers: { authorization: basic(user, key), 'content-type': 'application/json' }, body: '{}', from });
    const scansToken = (user: string, key: string, from?: string) =>
      send(`${server.url}/oauth2/token`, {
        method: 'POST',
        headers: { authorization: basic(user, key), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
        from,
      });

    it('blocks an address after its failures in any dialects; every dialect then answers 429 in its own shape, reading no key', async () => {
      // LIMIT failures, one per dialect, each with the dialect's ordinary answer.
      const failures = [
        await compreface(BAD_UUID),
        await findface('x'.repeat(32)),
        await imageapi('wrong-key'),
        await faceintellect(fi.user, 'wrong-secret'),
      ];
      assert.equal(failures.length, LIMIT);
      assert.deepEqual(
        failures.map((a) => a.status),
        [404, 401, 401, 401],
      );
      const blockedAt = performance.now();
      const lookups = await metric(server, 'faceserver_key_lookups_total');
      const throttled = await metric(server, 'faceserver_auth_throttled_total');

      // Blocked: each dialect's 429, bad and good credentials alike.
      const c = await compreface(BAD_UUID);
      assert.equal(c.status, 429);
      assert.equal(c.body.code, 0);
      assert.match(String(c.body.message), /too many failed authentication attempts/);
      retryAfter(c, BLOCK_SECONDS);
      const cGood = await compreface(cf);
      assert.equal(cGood.status, 429, 'a valid key from a blocked address is refused too');
      const f = await findface(ff);
      assert.equal(f.status, 429);
      assert.equal(f.body.code, 'TOO_MANY_REQUESTS');
      assert.equal(typeof f.body.reason, 'string');
      retryAfter(f, BLOCK_SECONDS);
      const i = await imageapi(ia);
      assert.equal(i.status, 429);
      assert.equal(typeof i.body.detail, 'string');
      retryAfter(i, BLOCK_SECONDS);
      const x = await faceintellect(fi.user, fi.key);
      assert.equal(x.status, 429);
      assert.equal(x.body.Status, 'TOO_MANY_ATTEMPTS');
      assert.equal((x.body.Response as { Status: string }).Status, 'TOO_MANY_ATTEMPTS');
      retryAfter(x, BLOCK_SECONDS);
      const t = await scansToken(sc.user, sc.key);
      assert.equal(t.status, 429);
      assert.equal(t.body.error, 'temporarily_unavailable');
      assert.equal(t.headers['cache-control'], 'no-store');
      retryAfter(t, BLOCK_SECONDS);
      assert.ok(performance.now() - blockedAt < BLOCK_SECONDS * 1000, 'the blocked requests were all made within the block');

      // Not one key was read from the database for them; each was counted as throttled.
      assert.equal(await metric(server, 'faceserver_key_lookups_total'), lookups, 'no key lookups while blocked');
      assert.equal(await metric(server, 'faceserver_auth_throttled_total'), throttled + 6);
      assert.equal(await metric(server, 'faceserver_auth_blocks_total'), 1);

      // Another address is served meanwhile, with its own (ordinary) answers.
      const other = await compreface(cf, '127.0.0.2');
      assert.equal(other.status, 200, JSON.stringify(other.body));
      assert.deepEqual(other.body, { subjects: [] });
      assert.equal((await findface('y'.repeat(32), '127.0.0.2')).status, 401);
      const token = await scansToken(sc.user, sc.key, '127.0.0.2');
      assert.equal(token.status, 200, JSON.stringify(token.body));
      assert.equal(typeof token.body.access_token, 'string');

      // The block ends after AUTH_BLOCK_SECONDS: the address is served again, and a failure is an ordinary one.
      await sleep(Math.max(0, BLOCK_SECONDS * 1000 - (performance.now() - blockedAt)) + 300);
      const after = await compreface(cf);
      assert.equal(after.status, 200, JSON.stringify(after.body));
      const fresh = await findface('z'.repeat(32));
      assert.equal(fresh.status, 401);
      assert.equal(fresh.body.code, 'AUTH_FAILED');
    });

    it('successes and valid keys without the scope (FORBIDDEN) do not count; the LIMIT-th failure blocks', async () => {
      const from = '127.0.0.3';
      const readOnly = (await server.services.keys.create('recognition', { collections: [`throttle-${name}`], scopes: ['read'] })).key;
      const addSubject = (key: string) =>
        send(`${server.url}/api/v1/recognition/subjects`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: '{"subject":"x"}', from });
      for (let n = 0; n < LIMIT + 2; n++) {
        assert.equal((await compreface(cf, from)).status, 200);
        assert.equal((await addSubject(readOnly)).status, 403);
      }
      for (let n = 0; n < LIMIT - 1; n++) assert.equal((await compreface(BAD_UUID, from)).status, 404);
      assert.equal((await compreface(cf, from)).status, 200, `${LIMIT - 1} failures: still served`);
      assert.equal((await compreface(BAD_UUID, from)).status, 404, 'the LIMIT-th failure is answered as usual...');
      assert.equal((await compreface(cf, from)).status, 429, '...and blocks the address');
    });
  });
});

describe('AuthThrottle', () => {
  it('counts IPv4 and IPv4-mapped addresses as one, IPv6 addresses by their /64', () => {
    assert.equal(throttleKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(throttleKey('192.0.2.7'), '192.0.2.7');
    assert.equal(throttleKey('2001:db8:1:2:aaaa::1'), throttleKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    assert.equal(throttleKey('2001:db8:1:2::'), '2001:db8:1:2::/64');
    assert.notEqual(throttleKey('2001:db8:1:3::1'), throttleKey('2001:db8:1:2::1'));
    assert.equal(throttleKey('::1'), '0:0:0:0::/64');
  });

  it('blocks at the limit, reports the block once, and does nothing with 0', async () => {
    const blocked: string[] = [];
    let refused = 0;
    const t = new AuthThrottle({ failures: 3, windowSeconds: 60, blockSeconds: 60, onBlocked: (c) => blocked.push(c), onThrottled: () => refused++ });
    for (let n = 0; n < 3; n++) {
      await t.check('192.0.2.1');
      await t.failed('192.0.2.1');
    }
    await assert.rejects(t.check('::ffff:192.0.2.1'), (err: unknown) => isDomainError(err, 'AUTH_THROTTLED') && err.details.retryAfterSeconds === 60);
    await t.failed('192.0.2.1'); // one in flight when the block began: no second block
    assert.deepEqual(blocked, ['192.0.2.1']);
    assert.equal(refused, 1);
    await t.check('192.0.2.2');

    const off = new AuthThrottle({ failures: 0, windowSeconds: 60, blockSeconds: 60 });
    assert.equal(off.enabled, false);
    for (let n = 0; n < 100; n++) await off.failed('192.0.2.1');
    await off.check('192.0.2.1');
  });
});

/** One statement on a database as its own session (the test's hand on the shared database). */
async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

describe('failed-authentication throttle shared by two instances over one PostgreSQL', function () {
  this.timeout(180_000);
  let temp: TempDatabase | undefined;
  let a: RunningServer | undefined;
  let b: RunningServer | undefined;
  let ff: string;
  let cf: string;

  before(async function () {
    this.timeout(180_000);
    temp = await createTempDatabase(requirePostgres(this));
    const env = { DATABASE_URL: temp.url, AUTH_FAILURES_PER_ADDRESS: String(LIMIT), AUTH_FAILURES_WINDOW_SECONDS: '60', AUTH_BLOCK_SECONDS: String(BLOCK_SECONDS) };
    a = await startTestServer(env);
    b = await startTestServer(env);
    ff = (await a.services.keys.create('findface')).key;
    cf = (await a.services.keys.create('recognition', { collections: ['shared-throttle'] })).key;
  });
  after(async function () {
    this.timeout(60_000);
    await a?.close();
    await b?.close();
    await temp?.drop();
  });

  const findface = (server: RunningServer, key: string, from: string) => send(`${server.url}/v1/galleries`, { headers: { authorization: `Token ${key}` }, from });
  const compreface = (server: RunningServer, key: string, from: string) => send(`${server.url}/api/v1/recognition/subjects`, { headers: { 'x-api-key': key }, from });
  const row = async (address: string) =>
    (await sql(temp!.url, 'SELECT failures, blocked FROM auth_failures WHERE address = $1', [address])).rows[0] as { failures: number; blocked: boolean } | undefined;

  it('failures on both instances reach the limit together; the other instance refuses the address after one more attempt, until the shared block ends', async () => {
    const from = '127.0.0.7';
    const bad = 'x'.repeat(32);
    // LIMIT failures split over the two instances (A, B, A, B): none of them alone reaches the limit.
    const split = [a!, b!, a!, b!];
    assert.equal(split.length, LIMIT);
    for (const [n, server] of split.entries()) assert.equal((await findface(server, bad, from)).status, 401, `failure ${n + 1}: an ordinary answer`);
    const blockedAt = performance.now();
    assert.deepEqual(await row(from), { failures: LIMIT, blocked: true });

    // B made the failure that reached the limit: it refuses the address at once, valid keys included.
    const onB = await findface(b!, ff, from);
    assert.equal(onB.status, 429);
    assert.equal(onB.body.code, 'TOO_MANY_REQUESTS');
    const retryB = retryAfter(onB, BLOCK_SECONDS);
    // A has not been told: its next failed attempt (the one extra) is answered as usual, and its write answers
    // that the address is blocked. From then on A refuses it too, with the rest of the shared block.
    assert.equal((await findface(a!, bad, from)).status, 401, 'the one extra attempt on the instance not yet told');
    assert.deepEqual(await row(from), { failures: LIMIT + 1, blocked: true });
    const lookupsA = await metric(a!, 'faceserver_key_lookups_total');
    const onA = await findface(a!, ff, from);
    assert.equal(onA.status, 429, 'a valid key from the blocked address on the other instance');
    const retryA = retryAfter(onA, BLOCK_SECONDS);
    assert.ok(Math.abs(retryA - retryB) <= 1, `Retry-After on A (${retryA}) is the shared block's rest, as on B (${retryB})`);
    const cOnA = await compreface(a!, cf, from);
    assert.equal(cOnA.status, 429);
    assert.equal(cOnA.body.code, 0);
    assert.equal(await metric(a!, 'faceserver_key_lookups_total'), lookupsA, 'no key read on A while it knows the block');
    assert.deepEqual(await row(from), { failures: LIMIT + 1, blocked: true }, 'refused attempts are not written');
    // One block, reported by the instance that caused it.
    assert.equal(await metric(b!, 'faceserver_auth_blocks_total'), 1);
    assert.equal(await metric(a!, 'faceserver_auth_blocks_total'), 0);

    // Another address is served by both meanwhile.
    assert.equal((await findface(a!, ff, '127.0.0.8')).status, 200);
    assert.equal((await findface(b!, ff, '127.0.0.8')).status, 200);
    assert.ok(performance.now() - blockedAt < BLOCK_SECONDS * 1000, 'all of the above within the block');

    // The block ends on both; a failure then starts a new count.
    await sleep(Math.max(0, BLOCK_SECONDS * 1000 - (performance.now() - blockedAt)) + 300);
    assert.equal((await findface(a!, ff, from)).status, 200);
    assert.equal((await findface(b!, ff, from)).status, 200);
    assert.equal((await findface(a!, bad, from)).status, 401);
    assert.deepEqual(await row(from), { failures: 1, blocked: false });
    assert.equal((await compreface(b!, cf, from)).status, 200, 'one failure: still served');
  });

  it('a write that fails is counted in memory: bad keys get their ordinary 401, and the limit still blocks', async () => {
    const from = '127.0.0.9';
    const bad = 'y'.repeat(32);
    // The table out of reach (renamed away): every shared write fails, key reads still work.
    await sql(temp!.url, 'ALTER TABLE auth_failures RENAME TO auth_failures_away');
    try {
      for (let n = 0; n < LIMIT; n++) {
        const r = await findface(a!, bad, from);
        assert.equal(r.status, 401, `failure ${n + 1}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, 'AUTH_FAILED');
      }
      const blocked = await findface(a!, ff, from);
      assert.equal(blocked.status, 429, 'blocked by the count in memory');
      retryAfter(blocked, BLOCK_SECONDS);
      assert.equal((await findface(a!, ff, '127.0.0.10')).status, 200, 'another address is served');
      // B counted none of them (each instance counts alone while the writes fail).
      assert.equal((await findface(b!, ff, from)).status, 200);
    } finally {
      await sql(temp!.url, 'ALTER TABLE auth_failures_away RENAME TO auth_failures');
    }
    // The table back: B's failures are shared again.
    assert.equal((await findface(b!, bad, '127.0.0.11')).status, 401);
    assert.deepEqual(await row('127.0.0.11'), { failures: 1, blocked: false });
  });
});

describe('AuthThrottle over a database that becomes unreachable', function () {
  this.timeout(60_000);
  let temp: TempDatabase | undefined;
  let db: Db | undefined;
  after(async () => {
    await db?.close().catch(() => {});
    await temp?.drop();
  });

  it('counts in the database while it answers, then in memory: failed() never throws, the limit still blocks, the error is reported once', async function () {
    temp = await createTempDatabase(requirePostgres(this));
    db = await openDb({ databaseUrl: temp.url, dataDir: '' });
    await migrate(db);
    const errors: unknown[] = [];
    const blocked: string[] = [];
    const t = new AuthThrottle({ failures: 3, windowSeconds: 60, blockSeconds: 60, shared: db, onSharedError: (err) => errors.push(err), onBlocked: (c) => blocked.push(c) });
    await t.failed('192.0.2.1');
    assert.equal((await db.query<{ failures: number }>('SELECT failures FROM auth_failures')).rows[0].failures, 1, 'counted in the database');
    // The database goes away under the pool: its sessions are terminated, new ones refused.
    await temp.drop();
    temp = undefined;
    for (let n = 0; n < 3; n++) {
      await t.check('192.0.2.1');
      await t.failed('192.0.2.1');
    }
    await assert.rejects(t.check('192.0.2.1'), (err: unknown) => isDomainError(err, 'AUTH_THROTTLED') && err.details.retryAfterSeconds === 60);
    assert.deepEqual(blocked, ['192.0.2.1']);
    assert.equal(errors.length, 1, 'reported once for the outage');
    await t.check('192.0.2.2');
  });
});

// The shared count's one statement (src/store/auth-failures.ts) on both stores (the same SQL; the embedded store
// does not use it, but the migration makes its table there too).
describe('auth_failures: counting, blocking and cleaning', function () {
  this.timeout(60_000);
  forEachStore((_name, store) => {
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    it('counts within the window, blocks at the limit without extending it, starts afresh after the window or the block; expired rows are deleted', async () => {
      const limits = { failures: 3, windowSeconds: 0.6, blockSeconds: 0.6 };
      const count = (address: string) => recordAuthFailure(db, address, limits);
      assert.deepEqual(pick(await count('198.51.100.1')), { failures: 1, blocked: false });
      assert.deepEqual(pick(await count('198.51.100.1')), { failures: 2, blocked: false });
      const third = await count('198.51.100.1');
      assert.deepEqual(pick(third), { failures: 3, blocked: true });
      assert.ok(third.msLeft > 300 && third.msLeft <= 600, `the block's rest: ${third.msLeft} ms`);
      const fourth = await count('198.51.100.1');
      assert.deepEqual(pick(fourth), { failures: 4, blocked: true });
      assert.ok(fourth.msLeft <= third.msLeft, 'a failure during the block does not extend it');
      // Another address has a count of its own; a window that ends unblocked starts afresh.
      assert.deepEqual(pick(await count('198.51.100.2')), { failures: 1, blocked: false });
      assert.equal(await deleteExpiredAuthFailures(db), 0, 'nothing has expired yet');
      await sleep(700);
      assert.deepEqual(pick(await count('198.51.100.1')), { failures: 1, blocked: false }, 'the block ended: a new count');
      // Retention deletes the rows that ended (198.51.100.2's window), keeps the live one.
      const job = new RetentionJob(db, 0);
      await job.runOnce();
      await job.stop();
      const rows = (await db.query<{ address: string }>('SELECT address FROM auth_failures ORDER BY address')).rows;
      assert.deepEqual(rows.map((r) => r.address), ['198.51.100.1']);
      // A limit of 1 blocks at the first failure.
      assert.deepEqual(pick(await recordAuthFailure(db, '198.51.100.3', { failures: 1, windowSeconds: 60, blockSeconds: 60 })), { failures: 1, blocked: true });
      await db.query('DELETE FROM auth_failures');
    });
  });
});

function pick(c: { failures: number; blocked: boolean }): { failures: number; blocked: boolean } {
  return { failures: c.failures, blocked: c.blocked };
}
