// The pieces under the CompreFace dialect that need no photos: the similarity mapping and its fit, the image
// URL guard and base64 decoding, and the `faceserver keys` CLI against the same data folder the server uses.
import assert from 'node:assert/strict';
import { main as cli } from '../src/cli/main';
import { DomainError } from '../src/domain/errors';
import { cosineFromSimilarity, similarityFromCosine, similarityFromDistance } from '../src/dialects/compreface/similarity';
import { HttpError } from '../src/http/errors';
import { decodeBase64Image, isNonPublicAddress } from '../src/http/image-input';
import { MultipartParser, type MultipartBody, type MultipartLimits } from '../src/http/multipart';
import { equalErrorDistance, fitSlope } from '../tools/calibration-pairs';
import { startTestServer, tempDir } from './support/server';

describe('CompreFace similarity mapping', () => {
  const K = { c0: 1.2268, c1: 12.0932 };

  it('is 0.5 at the fitted equal-error distance and falls with distance', () => {
    assert.ok(Math.abs(similarityFromDistance(K.c0, K) - 0.5) < 1e-12);
    let previous = Infinity;
    for (let d = 0; d <= 2; d += 0.05) {
      const s = similarityFromDistance(d, K);
      assert.ok(s >= 0 && s <= 1 && s <= previous);
      previous = s;
    }
    // cosine 1 = distance 0; unit vectors at cosine c are sqrt(2 - 2c) apart.
    assert.equal(similarityFromCosine(1, K), similarityFromDistance(0, K));
    assert.ok(Math.abs(similarityFromCosine(0.25, K) - similarityFromDistance(Math.sqrt(1.5), K)) < 1e-12);
  });

  it('a similarity threshold maps back to the cosine it came from', () => {
    for (const c of [-0.2, 0, 0.15, 0.25, 0.3, 0.5]) assert.ok(Math.abs(cosineFromSimilarity(similarityFromCosine(c, K), K) - c) < 1e-6, `cosine ${c}`);
    assert.ok(Math.abs(cosineFromSimilarity(0.5, K) - (1 - (K.c0 * K.c0) / 2)) < 1e-12);
  });

  it("CompreFace's published FaceNet constants reproduce its formula", () => {
    const k = { c0: 1.1818, c1: 5.292 };
    assert.ok(Math.abs(similarityFromDistance(1.1818, k) - 0.5) < 1e-12);
    assert.ok(Math.abs(similarityFromDistance(0.8, k) - (Math.tanh((1.1818 - 0.8) * 5.292) + 1) / 2) < 1e-12);
  });

  it('the fit finds the equal-error point and recovers a known slope', () => {
    // Distances drawn from a known logistic: p(same | d) = (tanh((1.2 - d) * 8) + 1) / 2.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const same: number[] = [];
    const diff: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const d = 0.4 + 1.6 * rand();
      (rand() < (Math.tanh((1.2 - d) * 8) + 1) / 2 ? same : diff).push(d);
    }
    const { threshold } = equalErrorDistance(same, diff);
    assert.ok(Math.abs(threshold - 1.2) < 0.03, `threshold ${threshold}`);
    const c1 = fitSlope(same, diff, 1.2);
    assert.ok(Math.abs(c1 - 8) < 0.5, `slope ${c1}`);
  });
});

describe('image input', () => {
  it('tells public from loopback, private, link-local and mapped addresses', () => {
    for (const a of ['127.0.0.1', '10.0.0.5', '172.16.3.4', '192.168.1.1', '169.254.169.254', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '100.64.0.1']) {
      assert.equal(isNonPublicAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isNonPublicAddress(a), false, a);
  });

  it('decodes base64 (plain, data: URL, url-safe) and refuses bad or oversized values', () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 250, 251]);
    assert.ok(decodeBase64Image(bytes.toString('base64'), 100).equals(bytes));
    assert.ok(decodeBase64Image(`data:image/jpeg;base64,${bytes.toString('base64')}`, 100).equals(bytes));
    assert.ok(decodeBase64Image(bytes.toString('base64url'), 100).equals(bytes));
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as DomainError).code;
      }
      return 'none';
    };
    assert.equal(code(() => decodeBase64Image('not base64!', 100)), 'INVALID_BASE64');
    assert.equal(code(() => decodeBase64Image('', 100)), 'INVALID_BASE64');
    assert.equal(code(() => decodeBase64Image(Buffer.alloc(200).toString('base64'), 100)), 'IMAGE_TOO_LARGE');
  });
});

describe('multipart bodies (in memory)', () => {
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

  /** Feeds the body in chunks of `size` bytes (0: whole); returns the parsed body or the error thrown. */
  function parse(bytes: Buffer, size = 0, limits = LIMITS, declared = true): MultipartBody | HttpError {
    try {
      const parser = new MultipartParser(BOUNDARY, limits, declared ? bytes.length : undefined);
      const step = size || bytes.length;
      for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step));
      return parser.end();
    } catch (err) {
      if (err instanceof HttpError) return err;
      throw err;
    }
  }

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

  it('reads fields and files whatever the chunking, with or without Content-Length', () => {
    for (const size of [0, 1, 2, 3, 7, 13, 64, 333]) {
      for (const declared of [true, false]) {
        const r = parse(sample, size, LIMITS, declared);
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

  it('stops an oversized file or body as soon as it crosses the limit, before the body ends', () => {
    const big = body([{ name: 'file', filename: 'big.jpg', bytes: Buffer.alloc(2500, 7) }]);
    const parser = new MultipartParser(BOUNDARY, LIMITS, undefined);
    let thrownAt = -1;
    for (let i = 0; i < big.length && thrownAt < 0; i += 100) {
      try {
        parser.push(big.subarray(i, i + 100));
      } catch (err) {
        assert.ok(err instanceof HttpError && err.code === 'BODY_TOO_LARGE', String(err));
        thrownAt = i;
      }
    }
    assert.ok(thrownAt > 1000 && thrownAt < 1300, `file limit hit at byte ${thrownAt}`);
    const huge = body([{ name: 'x', bytes: Buffer.alloc(5000, 65) }]);
    assert.equal((parse(huge, 0, LIMITS, true) as HttpError).code, 'BODY_TOO_LARGE', 'declared length over the limit');
    assert.equal((parse(huge, 500, LIMITS, false) as HttpError).code, 'BODY_TOO_LARGE', 'chunked');
    const exact = body([{ name: 'file', filename: 'a.jpg', bytes: Buffer.alloc(1000, 1) }]);
    assert.equal((parse(exact, 10) as MultipartBody).files.file[0].bytes.length, 1000, 'a file of exactly the limit passes');
  });

  it('refuses malformed bodies, too many parts and a missing closing boundary', () => {
    const code = (r: MultipartBody | HttpError) => (r instanceof HttpError ? r.code : 'parsed');
    assert.equal(code(parse(body([{ name: 'file', filename: 'a.jpg', bytes: jpegLike }], { close: false }))), 'MALFORMED_BODY');
    assert.equal(code(parse(Buffer.from('no boundary anywhere'))), 'MALFORMED_BODY');
    assert.equal(code(parse(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`))), 'MALFORMED_BODY');
    assert.equal(code(parse(Buffer.from(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--`))), 'MALFORMED_BODY');
    assert.equal(code(parse(Buffer.from(`--${BOUNDARY}garbage\r\n\r\nx\r\n--${BOUNDARY}--`))), 'MALFORMED_BODY');
    const files = (n: number) => body(Array.from({ length: n }, (_, i) => ({ name: `f${i}`, filename: `${i}.jpg`, bytes: Buffer.from('x') })));
    assert.equal(code(parse(files(2))), 'parsed');
    assert.equal(code(parse(files(3))), 'MALFORMED_BODY');
    const fields = (n: number) => body(Array.from({ length: n }, (_, i) => ({ name: `v${i}`, bytes: Buffer.from('1') })));
    assert.equal(code(parse(fields(3))), 'parsed');
    assert.equal(code(parse(fields(4))), 'MALFORMED_BODY');
  });

  it('reads quoted names with escapes and an empty body part', () => {
    const raw = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a \\"b\\""; filename="c;d.jpg"\r\n\r\n\r\n--${BOUNDARY}--`,
    );
    const r = parse(raw, 5) as MultipartBody;
    assert.equal(r.files['a "b"'][0].filename, 'c;d.jpg');
    assert.equal(r.files['a "b"'][0].bytes.length, 0);
  });
});

describe('faceserver keys (CLI)', function () {
  this.timeout(120_000);

  it('creates, lists and revokes keys in the data folder the server then uses', async () => {
    const dataDir = tempDir();
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await cli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
      return { code, out, err };
    };
    const created = await run('keys', 'create', '--service', 'recognition', '--collection', 'front-door');
    assert.equal(created.code, 0, created.err.join('\n'));
    const key = created.out[0];
    assert.match(key, /^[0-9a-f-]{36}$/);
    assert.match(created.err.join('\n'), /owns collection "front-door"/);
    const detection = await run('keys', 'create', '--service', 'detection');
    assert.equal(detection.code, 0);
    const listed = await run('keys', 'list');
    assert.equal(listed.out.length, 2);
    assert.match(listed.out[0], new RegExp(`^${key.slice(0, 8)}.*kind=recognition collections=front-door`));
    assert.ok(!listed.out.join('\n').includes(key), 'list never shows whole keys');
    assert.equal((await run('keys', 'create', '--service', 'nonsense')).code, 2);
    assert.equal((await run('keys', 'create', '--service', 'detection', '--collection', 'x')).code, 2);
    assert.equal((await run('keys', 'frobnicate')).code, 2);

    // The server on the same folder accepts the CLI's key.
    const server = await startTestServer({ DATA_DIR: dataDir });
    try {
      const res = await fetch(`${server.url}/api/v1/recognition/subjects`, { headers: { 'x-api-key': key } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { subjects: [] });
    } finally {
      await server.close();
    }

    const revoked = await run('keys', 'revoke', key.slice(0, 8));
    assert.equal(revoked.code, 0);
    assert.match(revoked.out[0], /^revoked /);
    assert.equal((await run('keys', 'revoke', key)).code, 1, 'already revoked');
    assert.equal((await run('keys', 'list')).out.length, 1);
    assert.equal((await run('keys', 'list', '--all')).out.length, 2);
  });
});
