// Failed-authentication throttle per client address (issue 18, part 6; src/domain/auth-throttle.ts), black-box
// on loopback on both stores: AUTH_FAILURES_PER_ADDRESS bad credentials from one address, through any mix of
// dialects, block it; while blocked, every dialect answers it 429 in its own error shape with Retry-After, valid
// keys included, and reads no key from the database (faceserver_key_lookups_total stands still); another address
// (127.0.0.2) is served meanwhile; the block ends after AUTH_BLOCK_SECONDS.
import assert from 'node:assert/strict';
import type { RunningServer } from '../src/server';
import { AuthThrottle, throttleKey } from '../src/domain/auth-throttle';
import { isDomainError } from '../src/domain/errors';
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
