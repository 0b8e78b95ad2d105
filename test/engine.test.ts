// The native engine through its TypeScript wrapper, on real photos from ../shared/facedata and the real
// models: faces + embeddings, same vs different person, the event loop keeps ticking under load, BUSY when
// the queue is full, error codes for bad images and bad model files, templates, the MIME type sniffer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Engine, EngineError } from '../src/engine/engine';
import { imageMimeType } from '../src/engine/image-type';

const REPO = path.resolve(import.meta.dirname, '..');
const MODELS = path.join(REPO, 'models');
const FACEDATA = process.env.FS_FACEDATA ?? path.resolve(REPO, '../shared/facedata');
const haveFacedata = fs.existsSync(path.join(FACEDATA, 'MANIFEST.md'));

const photo = (rel: string) => fs.readFileSync(path.join(FACEDATA, rel));
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

async function rejectsWith(promise: Promise<unknown>, code: string, messagePart?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof EngineError, `expected an EngineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (messagePart) assert.ok(err.message.includes(messagePart), err.message);
    return true;
  });
}

// A PNG that claims 50000x50000 in its header and holds nothing else.
function hugeClaimedPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50000, 0);
  ihdr.writeUInt32BE(50000, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const chunk = Buffer.concat([Buffer.from([0, 0, 0, 13]), Buffer.from('IHDR'), ihdr, Buffer.alloc(4)]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk, zlib.deflateSync(Buffer.alloc(10))]);
}

describe('engine', function () {
  this.timeout(120000);
  let engine: Engine;

  before(async () => {
    engine = await Engine.open({ modelsDir: MODELS, workers: 2, queueSize: 256 });
  });
  after(async () => {
    await engine?.close();
  });

  it('reports models, backend and workers', () => {
    const info = engine.info();
    assert.equal(info.workers, 2);
    assert.equal(info.backend.used, 'cpu');
    assert.equal(info.models.length, 9);
    for (const m of info.models) assert.ok(m.bytes > 100000, `${m.file} looks empty`);
    assert.equal(info.limits.maxPixels, 10_000_000);
    assert.ok(typeof (info.addon as { opencv?: { version?: string } }).opencv?.version === 'string');
  });

  it('cuda falls back to the CPU and says why when OpenCV has no CUDA device', async () => {
    const warnings: string[] = [];
    const gpu = await Engine.open({ modelsDir: MODELS, workers: 1, backend: 'cuda', warn: (m) => warnings.push(m) });
    try {
      const info = gpu.info();
      const opencv = (info.addon as { opencv: { cudaBackend: boolean; cudaDevices: number } }).opencv;
      if (opencv.cudaBackend && opencv.cudaDevices > 0) {
        assert.equal(info.backend.used, 'cuda');
      } else {
        assert.equal(info.backend.used, 'cpu');
        assert.ok(info.backend.fallbackReason && info.backend.fallbackReason.length > 0);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /cuda.*using 'cpu'/);
      }
    } finally {
      await gpu.close();
    }
  });

  describe('on real photos', function () {
    before(function () {
      if (!haveFacedata) {
        console.log(`    skip: ${FACEDATA} not found (real photos needed)`);
        this.skip();
      }
    });

    it('finds one face with landmarks, keypoints, a unit embedding and a template', async () => {
      const r = await engine.analyze(photo('lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg'), { template: true });
      assert.equal(r.width, 250);
      assert.equal(r.faces.length, 1);
      const f = r.faces[0];
      assert.ok(f.score > 0.6 && f.box.width > 70 && f.box.width < 170);
      assert.equal(f.landmarks68.length, 68);
      assert.equal(f.landmarks5.length, 5);
      assert.ok(f.landmarks5[0][0] < f.landmarks5[1][0] && f.landmarks5[2][1] < f.landmarks5[3][1]);
      assert.equal(Object.keys(f.keypoints).length, 21);
      assert.ok(f.keypoints.left_eye[0] < f.keypoints.right_eye[0]);
      assert.ok(f.keypoints.left_eye[1] < f.keypoints.mouth[1]);
      assert.ok(f.embedding instanceof Float32Array && f.embedding.length === 512);
      assert.ok(Math.abs(cosine(f.embedding, f.embedding) - 1) < 1e-4);
      assert.ok(Buffer.isBuffer(f.template));
      for (const stage of ['decode', 'detect', 'landmarks', 'template']) assert.ok(r.timings[stage] >= 0, stage);
    });

    it('gives the same person a high cosine and different people a low one', async () => {
      const embed = async (rel: string) => (await engine.analyze(photo(rel), { template: true })).faces[0].embedding!;
      const a1 = await embed('lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg');
      const a4 = await embed('lfw/Abel_Pacheco/Abel_Pacheco_0004.jpg');
      const rows = fs.readFileSync(path.join(FACEDATA, 'pairs.tsv'), 'utf8').trim().split('\n').slice(1);
      const different = rows.map((r) => r.split('\t')).find((r) => r[2] === '0' && r[3] === 'lfw_view2_fold01')!;
      const d1 = await embed(different[0]);
      const d2 = await embed(different[1]);
      assert.ok(cosine(a1, a4) > 0.4, `same person cosine ${cosine(a1, a4)}`);
      assert.ok(cosine(d1, d2) < 0.2, `different people cosine ${cosine(d1, d2)}`);
    });

    it('computes only the requested attributes, each with its timing', async () => {
      const r = await engine.analyze(photo('lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg'), { attributes: ['age', 'gender'] });
      const attributes = r.faces[0].attributes as { age?: { years: number }; gender?: { value: string }; emotion?: unknown };
      assert.ok(attributes.age && attributes.age.years > 10 && attributes.age.years < 90);
      assert.ok(attributes.gender && ['male', 'female'].includes(attributes.gender.value));
      assert.equal(attributes.emotion, undefined);
      assert.ok(r.timings.age > 0 && r.timings.gender > 0);
      assert.equal(r.timings.emotion, undefined);
      assert.equal(r.faces[0].embedding, undefined);
    });

    it('treats the whole image as one face when detectFaces is false', async () => {
      const r = await engine.analyze(photo('lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg'), { detectFaces: false, template: true });
      assert.equal(r.faces.length, 1);
      assert.deepEqual(r.faces[0].box, { x: 0, y: 0, width: 250, height: 250 });
      assert.equal(r.timings.detect, undefined);
    });

    it('keeps the biggest faces first and honours maxFaces', async () => {
      const image = photo('groups/dlib_2007_007763.jpg');
      const all = await engine.analyze(image);
      assert.ok(all.faces.length >= 5);
      const areas = all.faces.map((f) => f.box.width * f.box.height);
      assert.deepEqual(areas, [...areas].sort((a, b) => b - a));
      const two = await engine.analyze(image, { maxFaces: 2 });
      assert.equal(two.faces.length, 2);
    });

    it('keeps the event loop ticking and libuv free during many concurrent calls', async () => {
      const image = photo('web/face_recognition/robustness/obama-480p.jpg');
      let last = performance.now();
      const gaps: number[] = [];
      const timer = setInterval(() => {
        const now = performance.now();
        gaps.push(now - last);
        last = now;
      }, 2);
      const started = performance.now();
      const calls = Array.from({ length: 40 }, () => engine.analyze(image, { template: true }));
      // libuv's pool is not used by the engine: a file read completes while inference runs.
      const readStarted = performance.now();
      await fs.promises.readFile(path.join(MODELS, 'fr_landmark.onnx'));
      const readMs = performance.now() - readStarted;
      const results = await Promise.all(calls);
      const elapsed = performance.now() - started;
      clearInterval(timer);
      for (const r of results) assert.equal(r.faces.length, 1);
      assert.ok(elapsed > 200, `the load lasted only ${elapsed} ms`);
      // A blocking engine would stall the loop for the whole run (seconds). The bounds leave room for the
      // scheduler of a busy 2-core machine, where a runnable thread can wait a few hundred ms now and then.
      gaps.sort((a, b) => a - b);
      const p95 = gaps[Math.floor(gaps.length * 0.95)];
      assert.ok(p95 < 50, `95% of event-loop ticks within ${p95.toFixed(1)} ms`);
      assert.ok(gaps[gaps.length - 1] < Math.min(1000, elapsed / 4), `event loop stalled for ${gaps[gaps.length - 1].toFixed(1)} ms`);
      assert.ok(gaps.length > elapsed / 25, `${gaps.length} ticks in ${elapsed.toFixed(0)} ms`);
      assert.ok(readMs < Math.min(1000, elapsed / 4), `fs.readFile took ${readMs.toFixed(0)} ms during inference`);
    });
  });

  it('fails fast with BUSY when the queue is full', async () => {
    const small = await Engine.open({ modelsDir: MODELS, workers: 1, queueSize: 2 });
    try {
      const image = haveFacedata ? photo('groups/dlib_2007_007763.jpg') : zlib.gzipSync(Buffer.alloc(1));
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => small.analyze(image)));
      const busy = outcomes.filter((o) => o.status === 'rejected' && (o.reason as EngineError).code === 'BUSY');
      assert.ok(busy.length >= 8, `${busy.length} BUSY of 12`);
      const other = outcomes.filter((o) => o.status === 'rejected' && (o.reason as EngineError).code !== 'BUSY');
      if (haveFacedata) assert.equal(other.length, 0);
    } finally {
      await small.close();
    }
  });

  it('gives each bad image its error code', async () => {
    await rejectsWith(engine.analyze(Buffer.alloc(0)), 'CORRUPT_IMAGE');
    await rejectsWith(engine.analyze(Buffer.from('definitely not an image')), 'UNSUPPORTED_FORMAT');
    await rejectsWith(engine.analyze(hugeClaimedPng()), 'IMAGE_TOO_LARGE');
    const jpeg = fs.readFileSync(path.join(MODELS, '..', 'models.sha256')); // any non-image text
    await rejectsWith(engine.analyze(jpeg), 'UNSUPPORTED_FORMAT');
    if (haveFacedata) {
      const real = photo('lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg');
      await rejectsWith(engine.analyze(real.subarray(0, real.length / 2)), 'CORRUPT_IMAGE');
    }
    await rejectsWith(engine.analyze('nope' as unknown as Buffer), 'INVALID_ARGUMENT');
    await rejectsWith(engine.analyze(hugeClaimedPng(), { minScore: 2 }), 'INVALID_ARGUMENT');
    await rejectsWith(engine.analyze(hugeClaimedPng(), { attributes: ['shoe-size' as 'age'] }), 'INVALID_ARGUMENT');
  });

  it('applies configured limits', async () => {
    const tight = await Engine.open({ modelsDir: MODELS, workers: 1, limits: { maxBytes: 1000, maxPixels: 100 * 100 } });
    try {
      await rejectsWith(tight.analyze(Buffer.alloc(2000, 1)), 'IMAGE_TOO_LARGE');
      if (haveFacedata) await rejectsWith(tight.analyze(photo('fer2013/angry/PublicTest_1355981.jpg').subarray(0, 999)), 'CORRUPT_IMAGE');
      if (haveFacedata) {
        const lfw = photo('lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg');
        const roomy = await Engine.open({ modelsDir: MODELS, workers: 1, limits: { maxPixels: 100 * 100 } });
        try {
          await rejectsWith(roomy.analyze(lfw), 'IMAGE_TOO_LARGE');
        } finally {
          await roomy.close();
        }
      }
    } finally {
      await tight.close();
    }
  });

  describe('model files', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-models-'));
      for (const f of fs.readdirSync(MODELS).filter((n) => n.endsWith('.onnx'))) fs.copyFileSync(path.join(MODELS, f), path.join(dir, f));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('a missing model file fails open with MODEL_LOAD naming it', async () => {
      fs.rmSync(path.join(dir, 'fr_feature.onnx'));
      await rejectsWith(Engine.open({ modelsDir: dir, workers: 1 }), 'MODEL_LOAD', 'fr_feature.onnx');
    });

    it('missing mask weights fail open with MODEL_LOAD naming the file', async () => {
      await rejectsWith(Engine.open({ modelsDir: dir, workers: 1, maskWeights: path.join(dir, 'no_mask.yml') }), 'MODEL_LOAD', 'no_mask.yml');
    });

    it('a corrupt model file fails open with MODEL_LOAD naming it', async () => {
      const file = path.join(dir, 'fr_pose.onnx');
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 5000));
      await rejectsWith(Engine.open({ modelsDir: dir, workers: 2 }), 'MODEL_LOAD', 'fr_pose.onnx');
    });
  });

  it('round-trips templates through base64 and refuses foreign ones', () => {
    const e = new Float32Array(512).map((_, i) => Math.sin(i));
    const norm = Math.hypot(...e);
    const unit = e.map((v) => v / norm);
    const base64 = Engine.templateFromEmbedding(unit).toString('base64');
    assert.deepEqual(Engine.embeddingFromTemplate(Buffer.from(base64, 'base64')), unit);
    const foreign = Buffer.from(base64, 'base64');
    foreign[8] ^= 0xff; // another model id
    assert.throws(() => Engine.embeddingFromTemplate(foreign), (err: EngineError) => err.code === 'TEMPLATE_MISMATCH');
    assert.throws(() => Engine.embeddingFromTemplate(Buffer.from('FSTM')), (err: EngineError) => err.code === 'TEMPLATE_MISMATCH');
    assert.throws(() => Engine.templateFromEmbedding(new Float32Array(3)), (err: EngineError) => err.code === 'INVALID_ARGUMENT');
    const int8 = Engine.int8Code(unit);
    assert.equal(int8.length, 512);
    assert.equal(int8[1], Math.round(unit[1] * 400));
    assert.equal(Engine.signCode(unit).length, 64);
  });

  it('refuses calls after close', async () => {
    const short = await Engine.open({ modelsDir: MODELS, workers: 1 });
    await short.close();
    await rejectsWith(short.analyze(Buffer.alloc(10)), 'INVALID_ARGUMENT', 'closed');
  });
});

describe('imageMimeType, the sniffer the decoder uses', () => {
  it('names each format the engine decodes from its first bytes, and nothing else', () => {
    const bytes = (...b: (number | string)[]) => Buffer.concat(b.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : Buffer.from([x]))));
    assert.equal(imageMimeType(hugeClaimedPng()), 'image/png');
    assert.equal(imageMimeType(bytes(0xff, 0xd8, 0xff, 0xe0)), 'image/jpeg');
    assert.equal(imageMimeType(bytes('GIF89a')), 'image/gif');
    assert.equal(imageMimeType(bytes('BM')), 'image/bmp');
    assert.equal(imageMimeType(bytes('RIFF', 0, 0, 0, 0, 'WEBP')), 'image/webp');
    assert.equal(imageMimeType(bytes('II*', 0)), 'image/tiff');
    assert.equal(imageMimeType(bytes('MM', 0, '*')), 'image/tiff');
    assert.equal(imageMimeType(bytes(0, 0, 1, 0)), 'image/x-icon');
    assert.equal(imageMimeType(bytes('RIFF', 0, 0, 0, 0, 'WAVE')), undefined);
    assert.equal(imageMimeType(bytes(0xff, 0xd8)), undefined);
    assert.equal(imageMimeType(Buffer.alloc(0)), undefined);
    if (haveFacedata) assert.equal(imageMimeType(photo('fer2013/angry/PublicTest_1355981.jpg')), 'image/jpeg');
  });
});
