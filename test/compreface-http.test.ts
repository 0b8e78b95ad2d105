// CompreFace over the shared HTTP seams, black-box on real photos, as its own clients send requests: parameters
// as multipart form fields (CompreFace's k6 load tests), the query-string quirks of the Python SDK and Double
// Take, raw image bodies, trailing slashes (its tutorial demo posts to /faces/?subject=), CORS as its HTML demos
// need it, 405 for a wrong method, and an oversized upload stopped while it is still being sent.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { RunningServer } from '../src/server';
import { Api, createKeys, identificationSet, photo, requireFacedata, type Keys, type Person } from './support/compreface';
import { startTestServer } from './support/server';

const GROUP_OF_TWO = 'groups/face_recognition_kit_with_rose.jpg';

function assertError(r: { status: number; body: unknown }, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body as object).sort(), ['code', 'message']);
  assert.equal((r.body as { code: number }).code, code, JSON.stringify(r.body));
}

describe('CompreFace over the shared HTTP seams', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let keys: Keys;
  let api: Api;
  let people: Person[];

  before(async function () {
    requireFacedata(this);
    server = await startTestServer();
    keys = await createKeys(server);
    api = new Api(server.url, keys.recognition);
    ({ people } = identificationSet(3));
    for (const p of people) await api.enrol(p.name, photo(p.gallery));
  });
  after(async () => server?.close());

  /** A multipart POST with text fields and a "file" part, as k6's FormData and browsers build it. */
  async function postForm(path: string, fields: Record<string, string>, file?: Buffer, key = keys.recognition) {
    const form = new FormData();
    if (file) form.append('file', new Blob([new Uint8Array(file)], { type: 'image/jpeg' }), 'file.jpg');
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const res = await fetch(`${server.url}/api/v1${path}`, { method: 'POST', headers: { 'x-api-key': key }, body: form, redirect: 'manual' });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  describe('parameters as multipart form fields', () => {
    it('enrols with subject as a form field, as CompreFace accepts it', async () => {
      const r = await postForm('/recognition/faces', { subject: 'Form Field Subject' }, photo(people[0].probes[0]));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.subject, 'Form Field Subject');
      const listed = await api.get(`/recognition/faces?subject=${encodeURIComponent('Form Field Subject')}`);
      assert.deepEqual(
        listed.body.faces.map((f: { image_id: string }) => f.image_id),
        [r.body.image_id],
      );
    });

    it('recognizes with limit and prediction_count as form fields (the k6 load test request)', async () => {
      const p = people[1];
      const k6 = await postForm('/recognition/recognize', { limit: '0', prediction_count: '1' }, photo(p.probes[0]));
      assert.equal(k6.status, 200, JSON.stringify(k6.body));
      assert.equal(k6.body.result[0].subjects.length, 1);
      assert.equal(k6.body.result[0].subjects[0].subject, p.name);
      const two = await postForm('/recognition/recognize', { prediction_count: '2' }, photo(p.probes[0]));
      assert.equal(two.body.result[0].subjects.length, 2);
      const group = await postForm('/recognition/recognize', { limit: '1' }, photo(GROUP_OF_TWO));
      assert.equal(group.body.result.length, 1, 'limit=1 as a form field keeps the biggest face only');
      const all = await postForm('/recognition/recognize', { limit: '0' }, photo(GROUP_OF_TWO));
      assert.equal(all.body.result.length, 2);
      // Other services take their form fields too.
      const detect = await postForm('/detection/detect', { limit: '1', face_plugins: 'landmarks', status: 'true' }, photo(GROUP_OF_TWO), keys.detection);
      assert.equal(detect.status, 200, JSON.stringify(detect.body));
      assert.equal(detect.body.result.length, 1);
      assert.equal(detect.body.result[0].landmarks.length, 5);
      assert.ok(detect.body.plugins_versions);
      const threshold = await postForm('/detection/detect', { det_prob_threshold: '0.9999999' }, photo(GROUP_OF_TWO), keys.detection);
      assert.equal(threshold.status, 400);
    });

    it("answers bad or missing form fields with CompreFace's codes", async () => {
      const file = photo(people[0].probes[0]);
      assertError(await postForm('/recognition/recognize', { limit: '-1' }, file), 400, 26);
      assertError(await postForm('/recognition/recognize', { prediction_count: '0' }, file), 400, 12);
      assertError(await postForm('/recognition/recognize', { det_prob_threshold: 'high' }, file), 400, 26);
      assertError(await postForm('/recognition/faces', {}, file), 400, 33);
      assertError(await postForm('/recognition/faces', { subject: '   ' }, file), 400, 26);
    });

    it('reads a urlencoded form (base64 file and parameters); a JSON body is not where CompreFace reads parameters', async () => {
      const p = people[2];
      const form = new URLSearchParams({ file: photo(p.probes[0]).toString('base64'), prediction_count: '3' });
      const res = await fetch(`${server.url}/api/v1/recognition/recognize`, { method: 'POST', headers: { 'x-api-key': keys.recognition }, body: form });
      const body = (await res.json()) as { result: { subjects: { subject: string }[] }[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.result[0].subjects.length, 3);
      assert.equal(body.result[0].subjects[0].subject, p.name);
      // Spring's @RequestParam reads the query string and form data, never a JSON body.
      const json = await api.post('/recognition/recognize', { json: { file: photo(p.probes[0]).toString('base64'), prediction_count: 3 } });
      assert.equal(json.body.result[0].subjects.length, 1);
    });
  });

  it('keeps the query-string quirks of real clients working', async () => {
    const file = { file: photo(people[0].probes[0]) };
    const sdk = await api.post('/recognition/recognize?&limit=0&det_prob_threshold=0.8&prediction_count=1&status=False', { files: file });
    assert.equal(sdk.status, 200, JSON.stringify(sdk.body));
    assert.equal(sdk.body.plugins_versions, undefined, 'status=False');
    assert.deepEqual(Object.keys(sdk.body.result[0]).sort(), ['box', 'subjects']);
    const doubleTake = await api.post('/recognition/recognize?face_plugins=undefined', { files: file });
    assert.equal(doubleTake.status, 200);
    assert.deepEqual(Object.keys(doubleTake.body.result[0]).sort(), ['box', 'subjects']);
    const spaced = await api.post('/recognition/recognize?face_plugins=landmarks,%20gender,%20age', { files: file });
    for (const k of ['landmarks', 'gender', 'age']) assert.ok(spaced.body.result[0][k], k);
  });

  it('takes a raw image/* body as the file', async () => {
    const p = people[1];
    const raw = (path: string, bytes: Buffer, key = keys.recognition) =>
      fetch(`${server.url}/api/v1${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'image/jpeg' }, body: new Uint8Array(bytes) });
    const rec = await raw('/recognition/recognize', photo(p.probes[0]));
    const body = (await rec.json()) as { result: { subjects: { subject: string }[] }[] };
    assert.equal(rec.status, 200, JSON.stringify(body));
    assert.equal(body.result[0].subjects[0].subject, p.name);
    const enrol = await raw('/recognition/faces?subject=Raw%20Body', photo(people[0].gallery));
    assert.equal(enrol.status, 201);
    assert.equal(((await enrol.json()) as { subject: string }).subject, 'Raw Body');
    // Two images cannot come in one raw body: the verification service still asks for its parts.
    const verify = await raw('/verification/verify', photo(p.gallery), keys.verification);
    assertError({ status: verify.status, body: await verify.json() }, 400, 34);
    const big = await raw('/recognition/recognize', Buffer.alloc(5 * 1024 * 1024 + 1, 1));
    assertError({ status: big.status, body: await big.json() }, 400, 0);
  });

  it('answers with and without a trailing slash and never redirects, as the tutorial demo posts', async () => {
    const p = people[2];
    const enrol = await postForm(`/recognition/faces/?subject=${encodeURIComponent('Slash Demo')}`, {}, photo(p.probes[0]));
    assert.equal(enrol.status, 201, JSON.stringify(enrol.body));
    const recognize = await postForm('/recognition/recognize/', {}, photo(p.probes[0]));
    assert.equal(recognize.status, 200);
    const listed = await api.get('/recognition/subjects/');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.subjects.includes('Slash Demo'));
    assert.equal((await api.delete('/recognition/subjects/Slash%20Demo/')).status, 200);
  });

  it('answers a wrong method with 405 in its format', async () => {
    const r = await api.request('PATCH', '/recognition/subjects');
    assertError(r, 405, 0);
    assertError(await api.get('/recognition/no-such-endpoint/'), 404, 0);
  });

  it('answers the CORS preflight of its HTML demos and adds the header to answers and errors', async () => {
    for (const origin of ['null', 'http://localhost:63342']) {
      const pre = await fetch(`${server.url}/api/v1/recognition/faces/?subject=Anne`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), '*');
      assert.ok((pre.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').includes('x-api-key'));
      assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    }
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(photo(people[0].probes[0]))]), 'face.jpg');
    const ok = await fetch(`${server.url}/api/v1/recognition/recognize`, { method: 'POST', headers: { origin: 'null', 'x-api-key': keys.recognition }, body: form });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    const noKey = await fetch(`${server.url}/api/v1/recognition/subjects`, { headers: { origin: 'null' } });
    assert.equal(noKey.status, 400);
    assert.equal(noKey.headers.get('access-control-allow-origin'), '*', 'the page can read the error');
    const health = await fetch(`${server.url}/healthz`, { headers: { origin: 'null' } });
    assert.equal(health.headers.get('access-control-allow-origin'), null, 'only the product API gets CORS');
    const admin = await fetch(`${server.url}/admin/v1/keys`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:63342', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(admin.headers.get('access-control-allow-origin'), null, 'never the admin API');
  });

  it('stops an oversized upload while the client is still sending it', async () => {
    const boundary = 'oversized-upload-boundary';
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    const { hostname, port } = new URL(server.url);
    const outcome = await new Promise<{ status: number; body: unknown; sentBeforeAnswer: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = http.request(
        { hostname, port, method: 'POST', path: '/api/v1/recognition/recognize', headers: { 'x-api-key': keys.recognition, 'content-type': `multipart/form-data; boundary=${boundary}` } },
        (res) => {
          answered = true;
          const sentBeforeAnswer = sent;
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), sentBeforeAnswer });
          });
        },
      );
      req.on('error', (err) => (answered ? undefined : reject(err)));
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
      const pump = () => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
        if (!answered) req.end(`\r\n--${boundary}--\r\n`);
      };
      pump();
    });
    assertError(outcome, 400, 0);
    assert.match((outcome.body as { message: string }).message, /larger than 5242880 bytes/);
    // 5 MB of file, plus what the loopback socket buffers hold (a few MB), not the whole upload.
    assert.ok(outcome.sentBeforeAnswer < total / 2, `answered after ${outcome.sentBeforeAnswer} of ${total} bytes`);
  });
});
