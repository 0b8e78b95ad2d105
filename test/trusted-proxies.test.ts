// The client behind trusted reverse proxies (TRUSTED_PROXIES, src/http/client-address.ts: proxy-addr over
// X-Forwarded-For), black-box on loopback. 127.0.0.1 plays the proxy and the X-Forwarded-For header the clients
// behind it; 127.0.0.2 is a peer that is not trusted. The setting's validation and the address as the HTTP layer
// computes it need no database; the throttles (failed keys, console sign-in) run on both stores: behind a trusted
// proxy each forwarded client is blocked on its own, a chain a client forged counts its real (rightmost
// untrusted) address, and a peer that is not trusted, or any client when TRUSTED_PROXIES is empty (the default),
// neither dodges nor shifts a block with the header.
import assert from 'node:assert/strict';
import http from 'node:http';
import Router from '@koa/router';
import pino from 'pino';
import { ConfigError, loadConfig } from '../src/config';
import { createHttpApp } from '../src/http/app';
import { clientAddress } from '../src/http/auth';
import { defaultRenderError } from '../src/http/errors';
import type { RunningServer } from '../src/server';
import { startTestServer } from './support/server';
import { sendFrom as send } from './support/loopback-client';
import { forEachStore } from './support/stores';


describe('TRUSTED_PROXIES', function () {
  this.timeout(120_000);

  it('is empty by default and takes addresses, CIDR ranges and proxy-addr\'s range names', () => {
    assert.deepEqual(loadConfig({}).trustedProxies, []);
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: '' }).trustedProxies, []);
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: ' 127.0.0.1, 10.0.0.0/8,::1 , fd00::/8,,loopback,linklocal,uniquelocal,::ffff:192.0.2.1' }).trustedProxies, [
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
      'loopback',
      'linklocal',
      'uniquelocal',
      '::ffff:192.0.2.1',
    ]);
  });

  it('refuses at start anything else, naming the entry: "*", /0, bad prefixes, host names, netmasks', () => {
    const bad = ['*', '0.0.0.0/0', '::/0', '10.0.0.0/33', '::1/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/255.0.0.0', '10.0.0.256', '127.1', 'proxy.example.com', 'Loopback', 'private'];
    for (const entry of bad) {
      assert.throws(
        () => loadConfig({ TRUSTED_PROXIES: `127.0.0.1,${entry}` }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'TRUSTED_PROXIES' && e.message.includes(`"${entry}"`),
        entry,
      );
    }
    assert.throws(() => loadConfig({ TRUSTED_PROXIES: '*' }), /TRUSTED_PROXIES: "\*" would let every client name its own address/);
    assert.throws(() => loadConfig({ TRUSTED_PROXIES: 'proxy' }), /TRUSTED_PROXIES: "proxy" is not an IP address, a CIDR range \(prefix 1 to 32\), loopback, linklocal or uniquelocal/);
  });

  describe('the client address the HTTP layer computes', () => {
    /** An app whose one route answers clientAddress(ctx), listening on loopback. */
    async function start(trustedProxies?: string[]) {
      const router = new Router({ prefix: '/whoami' });
      router.get('/', (ctx) => {
        ctx.body = { client: clientAddress(ctx), ip: ctx.ip };
      });
      const app = createHttpApp({
        log: pino({ level: 'silent' }),
        maxBodyBytes: 1024,
        maxFileBytes: 1024,
        readiness: async () => ({ ready: true, checks: {} }),
        dialects: [{ name: 'whoami', prefixes: ['/whoami'], renderError: defaultRenderError, router }],
        trustedProxies,
      });
      const server = http.createServer(app.callback());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/whoami`;
      const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
      return { url, close };
    }
    const who = async (url: string, from: string, forwarded?: string) => (await send(url, { from, forwarded })).body.client;

    it('behind 127.0.0.1 and 10.0.0.0/8: the rightmost forwarded address that is not a trusted proxy', async () => {
      const app = await start(['127.0.0.1', '10.0.0.0/8']);
      try {
        assert.equal(await who(app.url, '127.0.0.1'), '127.0.0.1', 'the proxy itself, with no header');
        assert.equal(await who(app.url, '127.0.0.1', '198.51.100.7'), '198.51.100.7');
        assert.equal(await who(app.url, '127.0.0.1', '203.0.113.9, 198.51.100.7'), '198.51.100.7', 'what the client wrote before its proxy');
        assert.equal(await who(app.url, '127.0.0.1', 'not-an-address,198.51.100.7'), '198.51.100.7');
        assert.equal(await who(app.url, '127.0.0.1', '203.0.113.9, 198.51.100.7, 10.1.2.3'), '198.51.100.7', 'two trusted hops');
        assert.equal(await who(app.url, '127.0.0.1', '10.9.9.9, 10.1.2.3'), '10.9.9.9', 'every hop trusted: the leftmost');
        assert.equal(await who(app.url, '127.0.0.1', '2001:db8::5'), '2001:db8::5');
        assert.equal(await who(app.url, '127.0.0.2', '198.51.100.7'), '127.0.0.2', 'a peer not trusted: its header is not read');
        const direct = await send(app.url, { forwarded: '198.51.100.7' });
        assert.equal(direct.body.ip, '127.0.0.1', "Koa's ctx.ip stays the peer (proxy: false)");
      } finally {
        await app.close();
      }
    });

    it('with none trusted (the default), the socket\'s peer whatever the header says', async () => {
      const app = await start();
      try {
        assert.equal(await who(app.url, '127.0.0.1', '198.51.100.7'), '127.0.0.1');
        assert.equal(await who(app.url, '127.0.0.2', '127.0.0.1'), '127.0.0.2');
      } finally {
        await app.close();
      }
    });
  });

  const LIMIT = 3;
  const ADMIN_SECRET = 'trusted proxies test admin secret';
  const BAD = 'x'.repeat(32);

  forEachStore((name, store) => {
    let server: RunningServer;
    let key: string;
    // FindFace: a bad token is 401, a good one 200, a blocked address 429.
    const findface = (token: string, opts: { from?: string; forwarded?: string } = {}) => send(`${server.url}/v1/galleries`, { headers: { authorization: `Token ${token}` }, ...opts });
    const failLimit = async (opts: { from?: string; forwarded?: string }) => {
      for (let n = 0; n < LIMIT; n++) assert.equal((await findface(BAD, opts)).status, 401, `failure ${n + 1} from ${JSON.stringify(opts)}`);
    };
    const startServer = async (env: Record<string, string>) => {
      const { dataDir, databaseUrl } = store.location;
      server = await startTestServer({
        DATA_DIR: dataDir,
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        AUTH_FAILURES_PER_ADDRESS: String(LIMIT),
        AUTH_FAILURES_WINDOW_SECONDS: '60',
        AUTH_BLOCK_SECONDS: '60',
        ADMIN_SECRET,
        ...env,
      });
      key = (await server.services.keys.create('findface')).key;
      // Over PostgreSQL the failures are counted in the database, which outlives a server: each of this suite's
      // servers starts with none counted, as if alone.
      await server.db.query('DELETE FROM auth_failures');
    };

    describe('behind trusted proxies (TRUSTED_PROXIES=127.0.0.1,10.0.0.0/8)', () => {
      before(async function () {
        this.timeout(120_000);
        await startServer({ TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8' });
      });
      after(async () => server?.close());

      it('blocks each forwarded client on its own: the blocked client\'s neighbour with a valid key is served', async () => {
        await failLimit({ forwarded: '198.51.100.1' });
        const blocked = await findface(key, { forwarded: '198.51.100.1' });
        assert.equal(blocked.status, 429);
        assert.equal(blocked.body.code, 'TOO_MANY_REQUESTS');
        assert.ok(Number(blocked.headers['retry-after']) >= 1);
        const neighbour = await findface(key, { forwarded: '198.51.100.2' });
        assert.equal(neighbour.status, 200, JSON.stringify(neighbour.body));
        assert.equal((await findface(key)).status, 200, 'the proxy itself (no header) is a client of its own');
        assert.equal((await findface(key, { forwarded: '198.51.100.1, 10.1.2.3' })).status, 429, 'the same client through one more trusted proxy');
      });

      it('counts a forged chain ("evil, real") under its rightmost untrusted address: no dodging, no shifting', async () => {
        await failLimit({ forwarded: '198.51.100.4' });
        // The blocked client writes another address in front: its proxy appended its real one, which counts.
        assert.equal((await findface(key, { forwarded: '203.0.113.50, 198.51.100.4' })).status, 429);
        assert.equal((await findface(key, { forwarded: '203.0.113.50, 198.51.100.4, 10.1.2.3' })).status, 429);
        // A client naming the blocked one in front of its own address is counted as itself, and served.
        const other = await findface(key, { forwarded: '198.51.100.4, 198.51.100.5' });
        assert.equal(other.status, 200, JSON.stringify(other.body));
        // Failures with a forged chain block the real address, not the named one.
        await failLimit({ forwarded: '198.51.100.6, 198.51.100.7' });
        assert.equal((await findface(key, { forwarded: '198.51.100.7' })).status, 429);
        assert.equal((await findface(key, { forwarded: '198.51.100.6' })).status, 200);
      });

      it('reads no header from a peer it does not trust (127.0.0.2): its failures block the peer, not the address it names', async () => {
        await failLimit({ from: '127.0.0.2', forwarded: '198.51.100.8' });
        assert.equal((await findface(key, { from: '127.0.0.2', forwarded: '198.51.100.9' })).status, 429);
        assert.equal((await findface(key, { from: '127.0.0.2' })).status, 429);
        assert.equal((await findface(key, { forwarded: '198.51.100.8' })).status, 200, 'the named address was not blocked');
      });

      it('counts forwarded IPv6 clients by their /64', async () => {
        await failLimit({ forwarded: '2001:db8:1:2::1' });
        assert.equal((await findface(key, { forwarded: '2001:db8:1:2:ffff::99' })).status, 429);
        assert.equal((await findface(key, { forwarded: '2001:db8:1:3::1' })).status, 200);
      });

      it('throttles console sign-ins per forwarded client too', async () => {
        const signIn = (secret: string, forwarded: string) =>
          send(`${server.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }), forwarded });
        for (let n = 0; n < 5; n++) assert.equal((await signIn('not the admin secret', '198.51.100.20')).status, 401);
        const blocked = await signIn(ADMIN_SECRET, '198.51.100.20');
        assert.equal(blocked.status, 429);
        assert.equal((blocked.body.error as { code: string }).code, 'TOO_MANY_ATTEMPTS');
        const neighbour = await signIn(ADMIN_SECRET, '198.51.100.21');
        assert.equal(neighbour.status, 200, JSON.stringify(neighbour.body));
      });
    });

    describe('without TRUSTED_PROXIES (the default)', () => {
      before(async function () {
        this.timeout(120_000);
        await startServer({});
      });
      after(async () => server?.close());

      it('counts the socket\'s peer: X-Forwarded-For neither dodges a block nor shifts it onto another address', async () => {
        // 127.0.0.2 fails naming 127.0.0.3: 127.0.0.2 is blocked, whatever it names; 127.0.0.3 is served.
        await failLimit({ from: '127.0.0.2', forwarded: '127.0.0.3' });
        assert.equal((await findface(key, { from: '127.0.0.2', forwarded: '198.51.100.30' })).status, 429);
        assert.equal((await findface(key, { from: '127.0.0.2', forwarded: '198.51.100.30, 127.0.0.1' })).status, 429);
        assert.equal((await findface(key, { from: '127.0.0.2' })).status, 429);
        const victim = await findface(key, { from: '127.0.0.3' });
        assert.equal(victim.status, 200, JSON.stringify(victim.body));
        assert.equal((await findface(key, { from: '127.0.0.1', forwarded: '127.0.0.2' })).status, 200);
      });
    });
  });
});
