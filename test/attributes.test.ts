// Face attributes and body detection through the engine, on real photos from ../shared/facedata (skipped
// with a message without it): every attribute's shape and range, only what was asked is computed, attributes
// that must differ between labelled photos do, the mask classifier on real photos it never trained on, and
// detectBodies off the event loop.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EMOTIONS, type Attributes } from '../src/engine/attributes';
import { detectBodies } from '../src/engine/bodies';
import { Engine, EngineError, type AttributeName } from '../src/engine/engine';

const REPO = path.resolve(import.meta.dirname, '..');
const FACEDATA = process.env.FS_FACEDATA ?? path.resolve(REPO, '../shared/facedata');
const haveFacedata = fs.existsSync(path.join(FACEDATA, 'MANIFEST.md'));
const photo = (rel: string) => fs.readFileSync(path.join(FACEDATA, rel));
const inUnit = (v: number) => Number.isFinite(v) && v >= 0 && v <= 1;

describe('attributes and bodies', function () {
  this.timeout(180000);
  let engine: Engine;

  before(async function () {
    if (!haveFacedata) {
      console.log(`    skip: ${FACEDATA} not found (real photos needed)`);
      this.skip();
    }
    engine = await Engine.open({ modelsDir: path.join(REPO, 'models'), workers: 1 });
  });
  after(async () => {
    await engine?.close();
  });

  async function attributesOf(rel: string, attributes: AttributeName[]) {
    const r = await engine.analyze(photo(rel), { maxFaces: 1, attributes });
    assert.equal(r.faces.length, 1, `one face in ${rel}`);
    return { attrs: r.faces[0].attributes as Attributes, timings: r.timings };
  }

  it('returns every attribute with its documented shape and range', async () => {
    const all = ['age', 'gender', 'emotion', 'liveness', 'eyes', 'mouth', 'pose', 'quality', 'mask'] as const;
    const { attrs: a, timings } = await attributesOf('misc/eyes_open_eyes.png', [...all]);
    for (const name of all) assert.ok(timings[name] >= 0, `timing for ${name}`);
    assert.ok(a.age!.low <= a.age!.years && a.age!.years <= a.age!.high && a.age!.years > 5 && a.age!.years < 90);
    assert.ok(inUnit(a.age!.probability));
    assert.ok(['male', 'female'].includes(a.gender!.value) && a.gender!.probability >= 0.5 && a.gender!.probability <= 1);
    assert.deepEqual(Object.keys(a.emotion!.probabilities).sort(), [...EMOTIONS].sort());
    const sum = Object.values(a.emotion!.probabilities).reduce((s, p) => s + p, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4);
    assert.ok(EMOTIONS.includes(a.emotion!.top));
    assert.ok(inUnit(a.liveness!.score));
    assert.ok(a.eyes!.left.open && a.eyes!.right.open);
    assert.ok(a.mouth!.opening >= 0);
    for (const angle of [a.pose!.yaw, a.pose!.pitch, a.pose!.roll]) assert.ok(Math.abs(angle) <= 99);
    assert.equal(a.mask!.masked, false);
    const q = a.quality!;
    const measures = ['total', 'sharpness', 'illumination', 'flare', 'leftEyeOpenness', 'rightEyeOpenness', 'rotation',
      'notMasked', 'neutralEmotion', 'eyesDistance', 'margins', 'noise', 'watermark', 'backgroundUniformity',
      'dynamicRange'] as const; // prettier-ignore
    for (const m of measures) {
      assert.equal(typeof q[m].ok, 'boolean', m);
      assert.ok(Number.isFinite(q[m].score), m);
    }
    assert.ok(q.interEyeDistance > 20 && q.faceLuminance > 0 && q.faceLuminance < 255);
    assert.ok(q.marginInnerDeviation >= 0 && q.marginOuterDeviation >= 0);
  });

  it('computes only the attributes that were asked for', async () => {
    const { attrs, timings } = await attributesOf('misc/eyes_open_eyes.png', ['quality']);
    assert.deepEqual(Object.keys(attrs), ['quality']);
    assert.equal(timings.age, undefined);
    const none = await engine.analyze(photo('misc/eyes_open_eyes.png'), { maxFaces: 1 });
    assert.equal(none.faces[0].attributes, undefined);
  });

  it('tells closed eyes from open ones and left from right head turns', async () => {
    const open = (await attributesOf('misc/eyes_open_eyes.png', ['eyes'])).attrs.eyes!;
    const closed = (await attributesOf('misc/eyes_close_eyes.jpeg', ['eyes'])).attrs.eyes!;
    assert.ok(closed.left.closed > open.left.closed && closed.right.closed > open.right.closed);
    assert.ok(!closed.left.open && !closed.right.open);
    const left = (await attributesOf('misc/pose_left_face.jpeg', ['pose'])).attrs.pose!;
    const right = (await attributesOf('misc/pose_right_face.png', ['pose'])).attrs.pose!;
    assert.ok(left.yaw * right.yaw < 0, `yaw ${left.yaw} vs ${right.yaw}`);
  });

  it('finds masks on real photos the classifier never trained on', async () => {
    // tools/mask trains on the even-numbered files of each folder; the odd-numbered ones are held out.
    let n = 0;
    let right = 0;
    for (const [folder, masked] of [['mask/with_mask', true], ['mask/without_mask', false]] as const) {
      const files = fs.readdirSync(path.join(FACEDATA, folder)).sort();
      for (let i = 1; i < files.length; i += 2) {
        const r = await engine.analyze(photo(`${folder}/${files[i]}`), { maxFaces: 1, attributes: ['mask'] });
        if (r.faces.length === 0) continue;
        n++;
        if ((r.faces[0].attributes as Attributes).mask!.masked === masked) right++;
      }
    }
    assert.ok(n >= 40, `faces found in ${n} held-out photos`);
    assert.ok(right / n >= 0.85, `held-out mask accuracy ${right}/${n}`);
  });

  it('detects bodies off the event loop, with codes for bad input', async () => {
    // A blocked event loop would show one gap as long as the whole call.
    let last = performance.now();
    let worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    const bodies = await detectBodies(photo('groups/insightface_ssh_t2.jpg'), { maxPixels: 20e6 });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assert.ok(bodies.length >= 3, `${bodies.length} bodies in a crowd photo`);
    for (const b of bodies) {
      assert.ok(b.score >= 0.5 && b.score <= 1);
      assert.ok(b.box.x >= 0 && b.box.y >= 0 && b.box.x + b.box.width <= 5334.01 && b.box.y + b.box.height <= 2767.01);
    }
    assert.ok(elapsed > 100 && worstGap < elapsed / 2, `worst event-loop gap ${worstGap.toFixed(0)} ms in ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(await detectBodies(photo('fer2013/happy/' + fs.readdirSync(path.join(FACEDATA, 'fer2013/happy'))[0])), []); // under one 64x128 window
    await assert.rejects(detectBodies(Buffer.from('not an image')), (e: unknown) => e instanceof EngineError && e.code === 'UNSUPPORTED_FORMAT');
    await assert.rejects(detectBodies(photo('groups/insightface_ssh_t2.jpg')), (e: unknown) => e instanceof EngineError && e.code === 'IMAGE_TOO_LARGE');
    await assert.rejects(detectBodies(Buffer.alloc(10), { minScore: 3 }), (e: unknown) => e instanceof EngineError && e.code === 'INVALID_ARGUMENT');
  });
});
