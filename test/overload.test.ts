// Overload (issue 18, part 4), black-box over HTTP on real photos: requests beyond what the server handles at
// once (MAX_REQUESTS_IN_FLIGHT) are answered "busy" at once, before their body is read, and requests beyond the
// inference queue (QUEUE_SIZE) too, in each dialect's own shape with Retry-After; the requests admitted are
// answered; and once the burst is over requests go through again. Deterministic: the slots are held by uploads
// this test keeps half-sent, not by timing. The throughput figures are benchmarks/overload.ts's
// (benchmarks/RESULTS.md). The store plays no part here: the embedded one is used.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { RunningServer } from '../src/server';
import { identificationSet, photo, requireFacedata } from './support/compreface';
import { startTestServer } from './support/server';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

function multipart(fields: Record<string, Buffer | string>): { body: Buffer; type: string } {
  const boundary = `----overload${crypto.randomBytes(8).toString('hex')}`;
  const parts = Object.entries(fields).map(([name, value]) =>
    typeof value === 'string'
      ? Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      : Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
          value,
          Buffer.from('\r\n'),
        ]),
  );
  return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

/** A POST whose body is sent in two halves: the second when finish() is called. */
function halfSent(url: string, headers: Record<string, string>, body: Buffer): { answer: Promise<Answer>; finish(): void } {
  const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
  });
  const half = Math.floor(body.length / 2);
  req.write(body.subarray(0, half));
  return {
    answer,
    finish: () => {
      if (!req.writableEnded) req.end(body.subarray(half));
    },
  };
}

async function send(url: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  const r = halfSent(url, headers, body);
  r.finish();
  return r.answer;
}

/** Gives the server time to read the headers of the requests just opened. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function assertCompreFaceBusy(a: Answer): void {
  assert.equal(a.status, 503, JSON.stringify(a.body));
  assert.deepEqual(Object.keys(a.body).sort(), ['code', 'message']);
  assert.equal(a.body.code, 41);
  assert.equal(a.headers['retry-after'], '1');
}

function assertSpringBusy(a: Answer): void {
  assert.equal(a.status, 503, JSON.stringify(a.body));
  assert.deepEqual(Object.keys(a.body).sort(), ['error', 'message', 'status', 'timestamp']);
  assert.equal(a.body.error, 'Service Unavailable');
  assert.equal(a.headers['retry-after'], '1');
}

describe('overload: busy answers in each dialect, the admitted requests answered, normal service afterwards', function () {
  this.timeout(120_000);
  const IN_FLIGHT = 6;
  let server: RunningServer;
  let recognize: { url: string; headers: Record<string, string>; body: Buffer };
  let compare: { url: string; headers: Record<string, string>; body: Buffer };

  before(async function () {
    requireFacedata(this);
    // One inference at a time with two waiting: a burst of six reaching the engine together overflows it.
    server = await startTestServer({ WORKERS: '1', QUEUE_SIZE: '2', MAX_REQUESTS_IN_FLIGHT: String(IN_FLIGHT) });
    const [p] = identificationSet(1).people;
    const key = (await server.services.keys.create('recognition')).key;
    const enrolled = multipart({ file: photo(p.gallery) });
    const e = await send(`${server.url}/api/v1/recognition/faces?subject=${encodeURIComponent(p.name)}`, { 'x-api-key': key, 'content-type': enrolled.type }, enrolled.body);
    assert.equal(e.status, 201, JSON.stringify(e.body));
    const probe = multipart({ file: photo(p.probes[0]) });
    recognize = { url: `${server.url}/api/v1/recognition/recognize`, headers: { 'x-api-key': key, 'content-type': probe.type }, body: probe.body };
    // The scan API: a client of faceserver's own tokens.
    const clientId = 'overload-client';
    const secret = (await server.services.keys.create('scans', { user: clientId, collections: ['overload-company'] })).key;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString();
    const t = await send(`${server.url}/oauth2/token`, { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(form));
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const pair = multipart({ channel: 'WEB', reference: 'overload', file1: photo(p.gallery), file2: photo(p.probes[0]) });
    compare = { url: `${server.url}/face-recognition-sdk/v1/compare_face`, headers: { authorization: `Bearer ${t.body.access_token}`, 'content-type': pair.type }, body: pair.body };
  });

  after(async () => {
    await server?.close();
  });

  it('refuses requests beyond MAX_REQUESTS_IN_FLIGHT at once, before reading their bodies; the queue refuses its overflow', async () => {
    const held = Array.from({ length: IN_FLIGHT }, (_, i) => (i % 2 ? halfSent(compare.url, compare.headers, compare.body) : halfSent(recognize.url, recognize.headers, recognize.body)));
    try {
      await settle();
      // Every slot is held by an upload half-sent: one more is refused at once, in each dialect's shape.
      for (let i = 0; i < 3; i++) assertCompreFaceBusy(await send(recognize.url, recognize.headers, recognize.body));
      for (let i = 0; i < 3; i++) assertSpringBusy(await send(compare.url, compare.headers, compare.body));
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'health checks are not counted');
    } finally {
      for (const h of held) h.finish();
    }
    // The six reach the engine together: one runs, two wait, the rest are refused by the queue, each as its
    // dialect says "busy"; none fails otherwise.
    const answers = await Promise.all(held.map((h) => h.answer));
    const ok = answers.filter((a) => a.status === 200);
    assert.ok(ok.length >= 3, `answered: ${answers.map((a) => a.status).join(' ')}`);
    assert.ok(ok.length < IN_FLIGHT, `the queue refused some: ${answers.map((a) => a.status).join(' ')}`);
    answers.forEach((a, i) => {
      if (a.status === 200) return;
      if (i % 2) assertSpringBusy(a);
      else assertCompreFaceBusy(a);
    });
    // The burst is over: normal service.
    assert.equal((await send(recognize.url, recognize.headers, recognize.body)).status, 200);
    assert.equal((await send(compare.url, compare.headers, compare.body)).status, 200);
  });
});
