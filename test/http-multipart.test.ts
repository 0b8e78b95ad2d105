// multipart/form-data in memory (busboy under src/http/multipart.ts): the acceptance tests the hand-written
// parser had, unchanged in meaning: any chunking, with or without Content-Length; the body and per-file limits
// stop an upload as soon as it crosses them; malformed bodies and too many parts are refused; quoted names.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { HttpError } from '../src/http/errors';
import { readMultipart, type MultipartBody, type MultipartLimits } from '../src/http/multipart';

const BOUNDARY = 'XyZ-boundary-42';
const LIMITS: MultipartLimits = { maxBodyBytes: 4096, maxFileBytes: 1000, maxFiles: 2, maxFields: 3 };
const jpegLike = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37) % 256));

function body(parts: { name: string; filename?: string; type?: string; bytes: Buffer }[], opts: { preamble?: string; close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [Buffer.from(opts.preamble ?? '')];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`));
    chunks.push(p.bytes, Buffer.from('\r\n'));
  }
  if (opts.close !== false) chunks.push(Buffer.from(`--${BOUNDARY}--\r\nepilogue`));
  return Buffer.concat(chunks);
}

interface Outcome {
  result: MultipartBody | HttpError;
  /** Bytes sent when the outcome was known (the whole body when it was read to the end). */
  sentAtOutcome: number;
}

/**
 * Sends the body in chunks of `size` bytes (0: whole), one chunk per event-loop turn as a network would, and
 * stops sending once the parser has answered.
 */
async function parse(bytes: Buffer, size = 0, limits = LIMITS, declared = true): Promise<Outcome> {
  const stream = new PassThrough();
  let outcome: MultipartBody | HttpError | undefined;
  const done = readMultipart(stream, { contentType: `multipart/form-data; boundary=${BOUNDARY}`, contentLength: declared ? bytes.length : undefined }, limits).then(
    (r) => (outcome = r),
    (err: unknown) => {
      if (err instanceof HttpError) return (outcome = err);
      throw err;
    },
  );
  const step = size || bytes.length;
  let sent = 0;
  let sentAtOutcome = -1;
  for (let i = 0; i < bytes.length && outcome === undefined; i += step) {
    stream.write(bytes.subarray(i, i + step));
    sent = Math.min(bytes.length, i + step);
    await new Promise((r) => setImmediate(r));
    if (outcome !== undefined) sentAtOutcome = sent;
  }
  stream.end();
  const result = await done;
  return { result, sentAtOutcome: sentAtOutcome < 0 ? sent : sentAtOutcome };
}

const code = (r: MultipartBody | HttpError) => (r instanceof HttpError ? r.code : 'parsed');

describe('multipart bodies (in memory)', () => {
  // Bytes that hold the delimiter's start ("\r\n--") without the boundary, to tempt a false match.
  const tricky = Buffer.concat([jpegLike.subarray(0, 100), Buffer.from(`\r\n--XyZ-bound\r\n--`), jpegLike.subarray(100, 300)]);
  const sample = body(
    [
      { name: 'subject', bytes: Buffer.from('Anne Ärzt') },
      { name: 'file', filename: 'face.jpg', type: 'image/jpeg', bytes: jpegLike },
      { name: 'second', filename: 'b.jpg', bytes: tricky },
    ],
    { preamble: 'ignored preamble\r\n' },
  );

  it('reads fields and files whatever the chunking, with or without Content-Length', async () => {
    for (const size of [0, 1, 2, 3, 7, 13, 64, 333]) {
      for (const declared of [true, false]) {
        const { result: r } = await parse(sample, size, LIMITS, declared);
        assert.ok(!(r instanceof HttpError), `chunks of ${size}: ${(r as Error).message}`);
        assert.deepEqual(r.fields, { subject: 'Anne Ärzt' });
        assert.deepEqual(Object.keys(r.files), ['file', 'second']);
        assert.equal(r.files.file[0].filename, 'face.jpg');
        assert.equal(r.files.file[0].mimeType, 'image/jpeg');
        assert.ok(r.files.file[0].bytes.equals(jpegLike), `chunks of ${size}`);
        assert.ok(r.files.second[0].bytes.equals(tricky), `chunks of ${size}`);
      }
    }
  });

  it('stops an oversized file or body as soon as it crosses the limit, before the body ends', async () => {
    const big = body([{ name: 'file', filename: 'big.jpg', bytes: Buffer.alloc(2500, 7) }]);
    const stopped = await parse(big, 100, LIMITS, false);
    assert.equal(code(stopped.result), 'BODY_TOO_LARGE');
    assert.ok(stopped.sentAtOutcome > 1000 && stopped.sentAtOutcome <= 1300, `file limit hit at byte ${stopped.sentAtOutcome}`);
    const huge = body([{ name: 'x', bytes: Buffer.alloc(5000, 65) }]);
    const declared = await parse(huge, 0, LIMITS, true);
    assert.equal(code(declared.result), 'BODY_TOO_LARGE', 'declared length over the limit');
    const chunked = await parse(huge, 500, LIMITS, false);
    assert.equal(code(chunked.result), 'BODY_TOO_LARGE', 'chunked');
    assert.ok(chunked.sentAtOutcome <= 4500, `body limit hit at byte ${chunked.sentAtOutcome}`);
    const exact = body([{ name: 'file', filename: 'a.jpg', bytes: Buffer.alloc(1000, 1) }]);
    assert.equal(((await parse(exact, 10)).result as MultipartBody).files.file[0].bytes.length, 1000, 'a file of exactly the limit passes');
  });

  it('refuses malformed bodies, too many parts and a missing closing boundary', async () => {
    const outcome = async (bytes: Buffer) => code((await parse(bytes)).result);
    assert.equal(await outcome(body([{ name: 'file', filename: 'a.jpg', bytes: jpegLike }], { close: false })), 'MALFORMED_BODY');
    assert.equal(await outcome(Buffer.from('no boundary anywhere')), 'MALFORMED_BODY');
    assert.equal(await outcome(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`)), 'MALFORMED_BODY');
    assert.equal(await outcome(Buffer.from(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--`)), 'MALFORMED_BODY');
    assert.equal(await outcome(Buffer.from(`--${BOUNDARY}garbage\r\n\r\nx\r\n--${BOUNDARY}--`)), 'MALFORMED_BODY');
    assert.equal(await outcome(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${BOUNDARY}--`)), 'MALFORMED_BODY', 'no name');
    const files = (n: number) => body(Array.from({ length: n }, (_, i) => ({ name: `f${i}`, filename: `${i}.jpg`, bytes: Buffer.from('x') })));
    assert.equal(await outcome(files(2)), 'parsed');
    assert.equal(await outcome(files(3)), 'MALFORMED_BODY');
    const fields = (n: number) => body(Array.from({ length: n }, (_, i) => ({ name: `v${i}`, bytes: Buffer.from('1') })));
    assert.equal(await outcome(fields(3)), 'parsed');
    assert.equal(await outcome(fields(4)), 'MALFORMED_BODY');
    const longHeader = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${'p'.repeat(20000)}\r\n\r\nx\r\n--${BOUNDARY}--`);
    assert.equal(code((await parse(longHeader, 0, { ...LIMITS, maxBodyBytes: 65536 })).result), 'MALFORMED_BODY', 'part headers too long');
  });

  it('reads a part named __proto__ as an ordinary name', async () => {
    const raw = body([
      { name: '__proto__', bytes: Buffer.from('text') },
      { name: '__proto__', filename: 'a.jpg', bytes: jpegLike },
      { name: 'constructor', filename: 'b.jpg', bytes: jpegLike },
    ]);
    const r = (await parse(raw, 50)).result as MultipartBody;
    assert.equal(Object.getPrototypeOf(r.fields), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(r.fields, '__proto__')?.value, 'text');
    assert.ok(Object.getOwnPropertyDescriptor(r.files, '__proto__')?.value[0].bytes.equals(jpegLike));
    assert.equal(Object.getOwnPropertyDescriptor(r.files, 'constructor')?.value.length, 1);
  });

  it('reads quoted names with escapes and an empty body part', async () => {
    const raw = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a \\"b\\""; filename="c;d.jpg"\r\n\r\n\r\n--${BOUNDARY}--`);
    const r = (await parse(raw, 5)).result as MultipartBody;
    assert.equal(r.files['a "b"'][0].filename, 'c;d.jpg');
    assert.equal(r.files['a "b"'][0].bytes.length, 0);
  });
});
