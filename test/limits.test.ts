// Resource limits under attack (issue 18, part 6), black-box over raw sockets on loopback: a client that sends
// its headers too slowly (slowloris) or its body too slowly is cut off at HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS;
// idle connections beyond MAX_CONNECTIONS are refused and the silent ones closed, after which service resumes;
// and a flood of rejected requests (bad keys, malformed bodies) writes a bounded number of log lines
// (LOG_REJECTED_PER_SECOND) plus one line a second counting the rest. Short deadlines here keep it fast; the
// defaults are in the README. The store plays no part: the embedded one is used.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { RunningServer } from '../src/server';
import { startServer } from '../src/server';
import { migratedDataDir, removeTempDir, startTestServer, testConfig } from './support/server';

/** A raw connection to the server; resolves `closed` with what the server sent before closing it. */
function connect(port: number): { socket: net.Socket; closed: Promise<{ data: string; ms: number }>; opened: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  const t0 = performance.now();
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => {});
  const closed = new Promise<{ data: string; ms: number }>((resolve) => socket.on('close', () => resolve({ data, ms: performance.now() - t0 })));
  const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, opened };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('resource limits: slow clients, idle connections, floods of rejected requests', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000', KEEP_ALIVE_TIMEOUT_MS: '500', MAX_CONNECTIONS: '20' });
  });
  after(async () => {
    await server?.close();
  });

  it('slowloris: headers trickled one line at a time are cut off at HEADERS_TIMEOUT_MS', async () => {
    const c = connect(server.port);
    await c.opened;
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => !c.socket.destroyed && c.socket.write(`X-Slow-${Math.random().toString(36).slice(2)}: 1\r\n`), 200);
    try {
      const { data, ms } = await c.closed;
      assert.match(data, /^HTTP\/1\.1 408/, 'Request Timeout');
      assert.ok(ms >= 900 && ms < 4000, `closed after ${Math.round(ms)} ms`);
    } finally {
      clearInterval(trickle);
    }
  });

  it('a body sent too slowly is cut off at REQUEST_TIMEOUT_MS', async () => {
    const c = connect(server.port);
    await c.opened;
    c.socket.write('POST /api/v1/recognition/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n');
    const trickle = setInterval(() => !c.socket.destroyed && c.socket.write(Buffer.alloc(10)), 200);
    try {
      const { ms } = await c.closed;
      assert.ok(ms >= 1900 && ms < 5000, `closed after ${Math.round(ms)} ms`);
    } finally {
      clearInterval(trickle);
    }
  });

  it('idle connections beyond MAX_CONNECTIONS are refused, silent ones closed; then service resumes', async () => {
    const idle = Array.from({ length: 20 }, () => connect(server.port));
    await Promise.all(idle.map((c) => c.opened));
    await sleep(100);
    // One more is closed as it arrives, without an answer.
    const extra = connect(server.port);
    const refused = await extra.closed;
    assert.equal(refused.data, '');
    assert.ok(refused.ms < 1000, `refused after ${Math.round(refused.ms)} ms`);
    // The silent ones are closed by the headers deadline; then requests go through again.
    const closed = await Promise.all(idle.map((c) => c.closed));
    for (const c of closed) assert.ok(c.ms < 4000, `an idle connection closed after ${Math.round(c.ms)} ms`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

describe('a flood of rejected requests writes a bounded log', function () {
  this.timeout(60_000);

  it(`logs at most LOG_REJECTED_PER_SECOND of them a second, and counts the rest`, async () => {
    const lines: { msg: string; status?: number; notLogged?: number; byStatus?: Record<string, number> }[] = [];
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    const dataDir = await migratedDataDir();
    const server = await startServer(testConfig({ DATA_DIR: dataDir, LOG_REJECTED_PER_SECOND: '5' }), pino({ level: 'info' }, sink));
    try {
      lines.length = 0;
      bytes = 0;
      const N = 600;
      const t0 = performance.now();
      // Bad keys and malformed bodies, 20 at a time.
      for (let i = 0; i < N; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            (i + j) % 2
              ? fetch(`${server.url}/api/v1/recognition/recognize`, { method: 'POST', headers: { 'x-api-key': '00000000-0000-0000-0000-000000000000' } })
              : fetch(`${server.url}/api/v1/recognition/faces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"broken' }),
          ).map((p) => p.then((r) => r.arrayBuffer())),
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      await sleep(1200); // the last window's count
      const logged = lines.filter((l) => l.msg === 'request').length;
      const counted = lines.filter((l) => l.msg === 'rejected requests not logged (log flood limit)').reduce((n, l) => n + l.notLogged!, 0);
      assert.equal(logged + counted, N, `${logged} logged + ${counted} counted`);
      assert.ok(logged <= 5 * (Math.ceil(seconds) + 1), `${logged} request lines in ${seconds.toFixed(1)} s`);
      assert.ok(counted > 0);
      // Two lines at most per logged request (the request and why it was refused), one per second besides.
      assert.ok(lines.length <= 2 * logged + Math.ceil(seconds) + 2, `${lines.length} lines`);
      console.log(`      (${N} rejected requests in ${seconds.toFixed(1)} s: ${lines.length} log lines, ${bytes} bytes)`);
    } finally {
      await server.close();
      removeTempDir(dataDir);
    }
  });
});
