// The pieces under the CompreFace dialect that need no photos: the similarity mapping and its fit, the image
// URL guard and base64 decoding, and the `faceserver keys` CLI against the same data folder the server uses.
import assert from 'node:assert/strict';
import { main as cli } from '../src/cli/main';
import { DomainError } from '../src/domain/errors';
import { cosineFromSimilarity, similarityFromCosine, similarityFromDistance } from '../src/dialects/compreface/similarity';
import { decodeBase64Image, isNonPublicAddress } from '../src/http/image-input';
import { equalErrorDistance, fitSlope } from '../tools/calibration-pairs';
import { removeTempDir, startTestServer, tempDir } from './support/server';

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
    removeTempDir(dataDir);
  });
});
