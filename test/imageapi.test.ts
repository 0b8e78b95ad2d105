// The 3DiVi Image API (issue 13), black-box over HTTP on real photos from ../shared/facedata, on the embedded
// store and on real PostgreSQL: every service in both JSON versions and both transports; the chained flows
// (fitter -> quality, fitter -> template-extractor -> verify-matcher); templates that verify across photos of
// one person and are refused from another extractor; each quality field moved the right way by an edit of a
// real photo; liveness on live and spoof photos, mask on mask photos; search-matcher finding faces enrolled
// through CompreFace within the key's collections; keys by Bearer and TOKEN; every bad input in the product's
// error shape with nothing changed; the liveness modules and anonymous access by configuration; the OpenAPI
// document equal to the routes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { documentedRoutes, servedRoutes } from '../src/http/openapi';
import type { RunningServer } from '../src/server';
import { IMAGE_API_OPENAPI } from '../src/dialects/imageapi/openapi';
import { SERVICES } from '../src/dialects/imageapi/services';
import { KEYPOINT_ORDER, QAA_SCORES } from '../src/dialects/imageapi/face-json';
import { Api, countRows, identificationSet, photo, requireFacedata } from './support/compreface';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { startTestServer, tempDir } from './support/server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Reply {
  status: number;
  body: Json;
}

const QAA_KEYS = [
  'backgroundUniformityScore', 'dynamicRangeScore', 'eyesDistance', 'hasWatermark', 'illuminationScore', 'isBackgroundUniform',
  'isDynamicRangeAcceptable', 'isEvenlyIlluminated', 'isEyesDistanceAcceptable', 'isLeftEyeOpened', 'isMarginsAcceptable',
  'isNeutralEmotion', 'isNotNoisy', 'isRightEyeOpened', 'isRotationAcceptable', 'isSharp', 'leftEyeOpennessScore',
  'marginInnerDeviation', 'marginOuterDeviation', 'maxRotationDeviation', 'neutralEmotionScore', 'noFlare', 'noiseScore', 'notMasked',
  'notMaskedScore', 'rightEyeOpennessScore', 'sharpnessScore', 'totalScore', 'watermarkScore',
]; // prettier-ignore
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const EMOTIONS = ['angry', 'disgusted', 'scared', 'happy', 'neutral', 'sad', 'surprised'];

const PORTRAIT = 'misc/eyes_open_eyes.png';
const LIVE = 'liveness/live/silentface_image_T1.jpg';
const SPOOFS = ['liveness/spoof/inspireface_rgb_fake.jpg', 'liveness/spoof/silentface_image_F1.jpg', 'liveness/spoof/silentface_image_F2.jpg'];
const GROUP = 'groups/dlib_2008_001009.jpg';

/** A small Image API client: JSON samples, multipart images, Bearer or TOKEN keys. */
class ImageApi {
  constructor(
    readonly base: string,
    readonly key?: string,
    readonly scheme: 'bearer' | 'token' = 'bearer',
  ) {}

  as(key: string | undefined, scheme: 'bearer' | 'token' = 'bearer'): ImageApi {
    return new ImageApi(this.base, key, scheme);
  }

  private headers(): Record<string, string> {
    if (!this.key) return {};
    return this.scheme === 'bearer' ? { authorization: `Bearer ${this.key}` } : { token: this.key };
  }

  async raw(path: string, init: { body?: BodyInit; headers?: Record<string, string> }): Promise<Reply> {
    const res = await fetch(`${this.base}${path}`, { method: 'POST', body: init.body, headers: { ...this.headers(), ...init.headers } });
    const text = await res.text();
    let body: Json = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the assertion to show
    }
    return { status: res.status, body };
  }

  sample(service: string, version: '' | 'v1' | 'v2', sample: unknown, query = ''): Promise<Reply> {
    const v = version ? `/${version}` : '';
    return this.raw(`/${service}${v}/process/sample${query}`, { body: JSON.stringify(sample), headers: { 'content-type': 'application/json' } });
  }

  image(service: string, version: '' | 'v1' | 'v2', bytes: Buffer | Buffer[], field = 'image'): Promise<Reply> {
    const form = new FormData();
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) form.append(field, new Blob([new Uint8Array(b)]), 'photo.jpg');
    const v = version ? `/${version}` : '';
    return this.raw(`/${service}${v}/process/image`, { body: form });
  }
}

const b64 = (bytes: Buffer) => bytes.toString('base64');
const v1 = (bytes: Buffer, objects?: Json[]) => ({ $image: b64(bytes), ...(objects ? { objects } : {}) });
const v2 = (bytes: Buffer, objects?: Json[]) => ({ _image: { blob: b64(bytes), format: 'IMAGE' }, ...(objects ? { objects } : {}) });

function ok(r: Reply, what: string): Json {
  assert.equal(r.status, 200, `${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
  return r.body;
}

function assertDetail(r: Reply, status: number, detail: RegExp | string, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  assert.equal(typeof r.body.detail, 'string', `${what}: ${JSON.stringify(r.body)}`);
  if (typeof detail === 'string') assert.equal(r.body.detail, detail, what);
  else assert.match(r.body.detail, detail, what);
}

function assertValidation(r: Reply, loc: (string | number)[] | undefined, what: string): void {
  assert.equal(r.status, 422, `${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  assert.ok(Array.isArray(r.body.detail) && r.body.detail.length >= 1, `${what}: ${JSON.stringify(r.body)}`);
  const [item] = r.body.detail;
  assert.deepEqual(Object.keys(item).sort(), ['loc', 'msg', 'type'], what);
  assert.equal(typeof item.msg, 'string');
  if (loc) assert.deepEqual(item.loc, loc, `${what}: ${JSON.stringify(item)}`);
}

function assertBbox(bbox: Json, what: string): void {
  assert.ok(Array.isArray(bbox) && bbox.length === 4, what);
  const [x1, y1, x2, y2] = bbox;
  assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 1 && y2 <= 1 && x2 > x1 && y2 > y1, `${what}: ${JSON.stringify(bbox)}`);
}

/** The same photo blurred, darkened on one side, rotated, and with the mouth covered. */
async function edits(bytes: Buffer, face: { bbox: number[] }) {
  const meta = await sharp(bytes).metadata();
  const [w, h] = [meta.width!, meta.height!];
  const [x1, y1, x2, y2] = [face.bbox[0] * w, face.bbox[1] * h, face.bbox[2] * w, face.bbox[3] * h];
  const blurred = await sharp(bytes).blur(6).jpeg({ quality: 95 }).toBuffer();
  // The image's left half in shadow (light from one side).
  const shadow = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${Math.round((x1 + x2) / 2)}" height="${h}" fill-opacity="0.7"/></svg>`);
  const darkened = await sharp(bytes).composite([{ input: shadow }]).jpeg({ quality: 95 }).toBuffer();
  const rotated = await sharp(bytes).rotate(35, { background: '#808080' }).jpeg({ quality: 95 }).toBuffer();
  // A pale blue surgical-mask-like patch over the nose tip down to the chin.
  const top = Math.round(y1 + (y2 - y1) * 0.55);
  const patch = { left: Math.round(x1 + (x2 - x1) * 0.12), top, width: Math.round((x2 - x1) * 0.76), height: Math.round(y2 - top) };
  const mask = await sharp({ create: { width: patch.width, height: patch.height, channels: 3, background: { r: 170, g: 200, b: 225 } } }).png().toBuffer();
  const covered = await sharp(bytes).composite([{ input: mask, left: patch.left, top: patch.top }]).jpeg({ quality: 95 }).toBuffer();
  return { blurred, darkened, rotated, covered };
}

const STORES = ['embedded', 'postgres'] as const;

for (const store of STORES) {
  describe(`Image API on the ${store} store`, function () {
    this.timeout(300_000);
    let server: RunningServer;
    let temp: TempDatabase | undefined;
    let dataDir = '';
    let api: ImageApi;
    let people: ReturnType<typeof identificationSet>['people'];

    before(async function () {
      requireFacedata(this);
      if (store === 'postgres') {
        temp = await createTempDatabase(requirePostgres(this));
        dataDir = tempDir();
        server = await startTestServer({ DATABASE_URL: temp.url, DATA_DIR: dataDir });
      } else {
        server = await startTestServer();
      }
      const { key } = await server.services.keys.create('imageapi');
      api = new ImageApi(server.url, key);
      people = identificationSet(3).people;
    });
    after(async () => {
      await server?.close();
      await temp?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('needs an imageapi key by Bearer or TOKEN header; anything else is 401 in its shape', async () => {
      const bytes = photo(PORTRAIT);
      assertDetail(await api.as(undefined).image('face-detector', '', bytes), 401, 'Not authenticated', 'no key');
      assertDetail(await api.as('not-a-key').image('face-detector', '', bytes), 401, /Invalid authentication credentials/, 'unknown key');
      const { key: recognition } = await server.services.keys.create('recognition');
      assertDetail(await api.as(recognition).image('face-detector', '', bytes), 401, /Invalid/, 'a CompreFace key');
      const byToken = ok(await api.as(api.key, 'token').image('face-detector', '', bytes), 'TOKEN header');
      assert.equal(byToken.objects.length, 1);
      const { key: verifyOnly } = await server.services.keys.create('imageapi', { scopes: ['verify'] });
      assert.equal((await api.as(verifyOnly).image('face-detector', '', bytes)).status, 403);
    });

    it('every service answers on all six paths (unversioned, v1, v2; multipart and JSON) in its version\'s shape', async () => {
      const bytes = photo(PORTRAIT);
      const probe = ok(await api.image('face-detector-template-extractor', 'v1', bytes), 'template').objects[0];
      const key = Object.keys(ok(await api.image('face-detector-template-extractor', 'v2', bytes), 'template').objects[0].template)[0];
      const templates = (v: string) =>
        v === 'v2'
          ? [0, 1].map(() => ({ class: 'face', template: { [key]: { blob: probe.$template, format: 'NDARRAY', dtype: 'uint8', shape: [probe.template_size] } } }))
          : [0, 1].map(() => ({ class: 'face', $template: probe.$template, template_size: 0 }));
      // The field each service adds to a face, by version.
      const added: Record<string, [string, string]> = {
        'face-detector': ['bbox', 'bbox'],
        'face-detector-face-fitter': ['fitter', 'keypoints'],
        'age-estimator': ['age', 'age'],
        'gender-estimator': ['gender', 'gender'],
        'emotion-estimator': ['emotions', 'emotions'],
        'mask-estimator': ['mask', 'has_medical_mask'],
        'face-detector-liveness-estimator': ['liveness', 'liveness'],
        'liveness-estimator': ['liveness', 'liveness'],
        'quality-assessment-estimator': ['quality', 'quality'],
        'face-detector-template-extractor': ['$template', 'template'],
        'template-extractor': ['$template', 'template'],
        'search-matcher': ['search_result', 'search_result'],
      };
      for (const service of SERVICES) {
        for (const version of ['', 'v1', 'v2'] as const) {
          const v2style = version === 'v2';
          const what = `${service.name} ${version || '(unversioned)'}`;
          if (service.name === 'verify-matcher') {
            const byImage = ok(await api.image(service.name, version, [bytes, bytes]), `${what} image`);
            assert.ok(byImage.verification.fa_r <= 1e-5, what);
            assert.ok(v2style ? byImage.objects[0].template : byImage.objects[0].$template, what);
            const bySample = ok(await api.sample(service.name, version, { objects: templates(version) }), `${what} sample`);
            assert.ok(bySample.verification.distance < 1e-3, `${what}: ${JSON.stringify(bySample.verification)}`);
            continue;
          }
          const byImage = ok(await api.image(service.name, version, bytes), `${what} image`);
          const bySample = ok(await api.sample(service.name, version, v2style ? v2(bytes) : v1(bytes)), `${what} sample`);
          for (const [transport, r] of [['image', byImage], ['sample', bySample]] as const) {
            if (v2style) assert.deepEqual(r._image, { blob: b64(bytes), format: 'IMAGE' }, `${what} ${transport}`);
            else assert.equal(r.$image, b64(bytes), `${what} ${transport}`);
            assert.ok(Array.isArray(r.objects), `${what} ${transport}`);
            if (service.name === 'body-detector') continue; // a head-and-shoulders portrait shows no upright body
            const field = added[service.name][v2style ? 1 : 0];
            assert.ok(r.objects.length === 1 && r.objects[0][field] !== undefined, `${what} ${transport}: ${field} in ${JSON.stringify(r.objects).slice(0, 200)}`);
          }
        }
      }
    });

    it('face-detector-face-fitter: v1 fitter + angles echoing $image (multipart, unversioned); v2 named keypoints + pose', async () => {
      const bytes = photo(PORTRAIT);
      const one = ok(await api.image('face-detector-face-fitter', '', bytes), 'v1 image');
      assert.equal(one.$image, b64(bytes), 'the multipart answer echoes the image');
      assert.equal(one.objects.length, 1);
      const f = one.objects[0];
      assert.equal(f.id, 0);
      assert.equal(f.class, 'face');
      assert.ok(f.confidence > 0.6 && f.confidence <= 1);
      assertBbox(f.bbox, 'v1 bbox');
      assert.equal(f.fitter.fitter_type, 'fda');
      assert.equal(f.fitter.keypoints.length, 63);
      assert.deepEqual(f.fitter.left_eye, f.fitter.keypoints.slice(21, 23));
      assert.deepEqual(f.fitter.right_eye, f.fitter.keypoints.slice(30, 32));
      assert.ok(f.fitter.left_eye[0] < f.fitter.right_eye[0], 'left eye = image left');
      for (const a of ['yaw', 'pitch', 'roll']) assert.ok(Math.abs(f.angles[a]) < 45, `${a} ${f.angles[a]}`);
      const same = ok(await api.sample('face-detector-face-fitter', 'v1', v1(bytes)), 'v1 sample');
      assert.deepEqual(same.objects, one.objects, 'both transports and paths agree');

      const two = ok(await api.sample('face-detector-face-fitter', 'v2', v2(bytes)), 'v2 sample');
      assert.deepEqual(two._image, { blob: b64(bytes), format: 'IMAGE' });
      assert.equal(two.$image, undefined);
      const g = two.objects[0];
      assert.deepEqual(Object.keys(g.keypoints).sort(), [...KEYPOINT_ORDER, 'fitter_type'].sort());
      assert.equal(g.keypoints.fitter_type, 'fda');
      for (const name of KEYPOINT_ORDER) {
        const [x, y] = g.keypoints[name].proj;
        assert.ok(x >= 0 && x <= 1 && y >= 0 && y <= 1, name);
      }
      assert.ok(g.keypoints.left_eye.proj[0] < g.keypoints.nose.proj[0] && g.keypoints.nose.proj[0] < g.keypoints.right_eye.proj[0]);
      assert.ok(g.keypoints.nose.proj[1] < g.keypoints.mouth.proj[1] && g.keypoints.mouth.proj[1] < g.keypoints.chin.proj[1]);
      assert.deepEqual(g.pose, f.angles);
      // A phone photo stored sideways with an EXIF orientation: boxes and keypoints are of the upright image.
      const sideways = await sharp(bytes).rotate(270).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
      const upright = ok(await api.image('face-detector-face-fitter', 'v2', sideways), 'EXIF orientation').objects[0];
      upright.bbox.forEach((v: number, i: number) => assert.ok(Math.abs(v - g.bbox[i]) < 0.05, `bbox ${JSON.stringify(upright.bbox)} vs ${JSON.stringify(g.bbox)}`));
      assert.ok(upright.keypoints.left_eye.proj[1] < upright.keypoints.mouth.proj[1]);
      const image2 = ok(await api.image('face-detector-face-fitter', 'v2', bytes), 'v2 image');
      assert.deepEqual(image2._image, { blob: b64(bytes), format: 'IMAGE' });
      assert.deepEqual(image2.objects, two.objects);
    });

    it('face-detector and body-detector find every face and every person of a group photo', async () => {
      const bytes = photo(GROUP);
      const faces = ok(await api.image('face-detector', 'v2', bytes), 'faces');
      assert.ok(faces.objects.length >= 2, `faces: ${faces.objects.length}`);
      faces.objects.forEach((o: Json, i: number) => {
        assert.deepEqual(Object.keys(o).sort(), ['bbox', 'class', 'confidence', 'id']);
        assert.equal(o.id, i);
        assertBbox(o.bbox, 'face bbox');
      });
      const bodies = ok(await api.sample('body-detector', 'v1', v1(photo('groups/insightface_ssh_t2.jpg'))), 'bodies');
      assert.ok(bodies.objects.length >= 1, `bodies: ${bodies.objects.length}`);
      for (const o of bodies.objects) {
        assert.equal(o.class, 'body');
        assert.ok(o.confidence > 0 && o.confidence <= 1);
        assertBbox(o.bbox, 'body bbox');
      }
    });

    it('estimators add age, gender, emotions and mask to the objects sent in, keeping their fields, in each version', async () => {
      const bytes = photo(PORTRAIT);
      const fitted = ok(await api.sample('face-detector-face-fitter', 'v1', v1(bytes)), 'fitter').objects;
      const sent = [{ ...fitted[0], my_label: 'kept', id: 7 }, { id: 8, class: 'body', bbox: [0, 0, 1, 1], note: 'not a face' }];
      for (const version of ['v1', 'v2'] as const) {
        const body = version === 'v1' ? v1(bytes, sent) : v2(bytes, sent);
        const age = ok(await api.sample('age-estimator', version, { ...body, request_id: 'abc' }), `${version} age`);
        assert.equal(age.request_id, 'abc', 'unknown top-level fields are kept');
        assert.equal(age.objects.length, 2);
        assert.equal(age.objects[0].my_label, 'kept');
        assert.equal(age.objects[0].id, 7);
        assert.deepEqual(age.objects[0].fitter, fitted[0].fitter);
        assert.deepEqual(age.objects[1], sent[1], 'a body object is returned as sent');
        assert.match(age.objects[0].age, /^\d+$/);
        assert.ok(Number(age.objects[0].age) > 5 && Number(age.objects[0].age) < 90);
        const gender = ok(await api.sample('gender-estimator', version, body), `${version} gender`);
        assert.ok((version === 'v1' ? ['MALE', 'FEMALE'] : ['male', 'female']).includes(gender.objects[0].gender));
        const emotions = ok(await api.sample('emotion-estimator', version, body), `${version} emotion`).objects[0].emotions;
        assert.deepEqual(
          emotions.map((e: Json) => e.emotion),
          EMOTIONS.map((e) => (version === 'v1' ? e.toUpperCase() : e)),
        );
        const sum = emotions.reduce((s: number, e: Json) => s + e.confidence, 0);
        assert.ok(Math.abs(sum - 1) < 1e-3);
      }
      // A box the detector does not confirm (twice the face's size: overlap about 0.25) is measured as a crop.
      const lfw = photo(people[0].gallery);
      const [x1, y1, x2, y2] = ok(await api.image('face-detector', '', lfw), 'lfw face').objects[0].bbox;
      const [cx, cy, half] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1];
      const loose = { id: 3, class: 'face', bbox: [Math.max(0, cx - half), Math.max(0, cy - half), Math.min(1, cx + half), Math.min(1, cy + half)] };
      const overlap = (x2 - x1) * (y2 - y1) / ((loose.bbox[2] - loose.bbox[0]) * (loose.bbox[3] - loose.bbox[1]));
      assert.ok(overlap < 0.3, `overlap ${overlap}`);
      const cropped = ok(await api.sample('gender-estimator', 'v2', v2(lfw, [loose])), 'a loose box').objects;
      assert.equal(cropped.length, 1);
      assert.deepEqual(cropped[0].bbox, loose.bbox);
      assert.ok(['male', 'female'].includes(cropped[0].gender));
      // A detector on the fitter's output adds to the face it found, not a second object for it.
      const live = ok(await api.sample('face-detector-liveness-estimator', 'v1', v1(bytes, fitted)), 'detector on fitter output').objects;
      assert.equal(live.length, 1);
      assert.deepEqual(live[0].fitter, fitted[0].fitter);
      assert.ok(['REAL', 'FAKE'].includes(live[0].liveness.value));
      // With no objects sent, the estimators find the faces themselves (so /process/image works for them too).
      const byImage = ok(await api.image('gender-estimator', '', bytes), 'gender by image');
      assert.equal(byImage.objects.length, 1);
      assertBbox(byImage.objects[0].bbox, 'gender bbox');
      assert.ok(['MALE', 'FEMALE'].includes(byImage.objects[0].gender));
    });

    it('mask-estimator: mask (v1) / has_medical_mask (v2) on the mask photos', async () => {
      const masked = photo('mask/with_mask/0932.jpg');
      const bare = photo(PORTRAIT);
      const m1 = ok(await api.image('mask-estimator', 'v1', masked), 'v1 masked').objects[0];
      assert.equal(m1.mask.value, true);
      assert.ok(m1.mask.confidence > 0.5);
      assert.equal(m1.has_medical_mask, undefined);
      const m2 = ok(await api.sample('mask-estimator', 'v2', v2(bare)), 'v2 bare').objects[0];
      assert.equal(m2.has_medical_mask.value, false);
      assert.ok(m2.has_medical_mask.confidence < 0.5);
      assert.equal(m2.mask, undefined);
    });

    it('liveness: face-detector-liveness-estimator (boxes) and liveness-estimator on fitter output, live and spoof photos', async () => {
      const live = ok(await api.image('face-detector-liveness-estimator', 'v1', photo(LIVE)), 'live').objects[0];
      assertBbox(live.bbox, 'liveness bbox');
      assert.equal(live.liveness.value, 'REAL');
      assert.ok(live.liveness.confidence >= 0.5 && live.liveness.confidence <= 1);
      let fakes = 0;
      for (const p of SPOOFS) {
        const bytes = photo(p);
        const fitted = ok(await api.sample('face-detector-face-fitter', 'v2', v2(bytes)), `fitter ${p}`).objects;
        const r = ok(await api.sample('liveness-estimator', 'v2', v2(bytes, fitted)), `liveness ${p}`).objects;
        assert.ok(['real', 'fake'].includes(r[0].liveness.value));
        assert.deepEqual(r[0].keypoints, fitted[0].keypoints);
        if (r[0].liveness.value === 'fake') fakes++;
      }
      assert.ok(fakes >= 2, `spoofs seen as fake: ${fakes} of ${SPOOFS.length}`);
    });

    it('fitter -> quality-assessment-estimator: every qaa field (v1 camelCase, v2 snake_case), each moved the right way by an edit', async () => {
      const bytes = photo(people[0].gallery);
      const fitted = ok(await api.sample('face-detector-face-fitter', 'v1', v1(bytes)), 'fitter').objects;
      const q1 = ok(await api.sample('quality-assessment-estimator', 'v1', v1(bytes, fitted)), 'v1 quality').objects[0];
      assert.deepEqual(Object.keys(q1.quality).sort(), ['qaa']);
      assert.deepEqual(Object.keys(q1.quality.qaa).sort(), QAA_KEYS);
      for (const k of QAA_KEYS) assert.ok(typeof q1.quality.qaa[k] === 'boolean' || Number.isFinite(q1.quality.qaa[k]), k);
      assert.deepEqual(q1.fitter, fitted[0].fitter);
      const fitted2 = ok(await api.sample('face-detector-face-fitter', 'v2', v2(bytes)), 'fitter v2').objects;
      const q2 = ok(await api.sample('quality-assessment-estimator', 'v2', v2(bytes, fitted2)), 'v2 quality').objects[0].quality;
      assert.deepEqual(Object.keys(q2).sort(), QAA_KEYS.map(snake).sort());
      // The same measures: v1 scores on 0..100 (as 3DiVi's demo shows them), v2 on 0..1.
      for (const k of QAA_KEYS) {
        const score = (QAA_SCORES as readonly string[]).includes(k);
        assert.equal(q1.quality.qaa[k], score ? Math.round(q2[snake(k)] * 100) : q2[snake(k)], k);
        if (score) assert.ok(Number.isInteger(q1.quality.qaa[k]) && q1.quality.qaa[k] >= 0 && q1.quality.qaa[k] <= 100, k);
      }
      for (const k of ['max_rotation_deviation', 'eyes_distance', 'margin_inner_deviation', 'margin_outer_deviation']) assert.ok(Number.isInteger(q2[k]), k);

      const qaaOf = async (image: Buffer) => ok(await api.image('quality-assessment-estimator', '', image), 'edited').objects[0].quality.qaa;
      const base = q1.quality.qaa;
      const e = await edits(bytes, fitted[0]);
      const blurred = await qaaOf(e.blurred);
      assert.ok(blurred.sharpnessScore < base.sharpnessScore, `sharpness ${base.sharpnessScore} -> ${blurred.sharpnessScore}`);
      const darkened = await qaaOf(e.darkened);
      assert.ok(darkened.illuminationScore < base.illuminationScore, `illumination ${base.illuminationScore} -> ${darkened.illuminationScore}`);
      const rotated = await qaaOf(e.rotated);
      assert.ok(Math.abs(rotated.maxRotationDeviation) > Math.abs(base.maxRotationDeviation), `rotation ${base.maxRotationDeviation} -> ${rotated.maxRotationDeviation}`);
      const covered = await qaaOf(e.covered);
      assert.ok(covered.notMaskedScore < base.notMaskedScore, `notMasked ${base.notMaskedScore} -> ${covered.notMaskedScore}`);
    });

    it('the other quality fields move the right way too: edits of a real portrait, and real photos with closed eyes and a smile', async () => {
      const bytes = photo(PORTRAIT);
      const qualityOf = async (image: Buffer) => ok(await api.image('quality-assessment-estimator', 'v2', image), 'quality').objects[0].quality;
      const base = await qualityOf(bytes);
      const meta = await sharp(bytes).metadata();
      const [w, h] = [meta.width!, meta.height!];
      const f = ok(await api.image('face-detector', '', bytes), 'face').objects[0].bbox;
      const [x1, y1, x2, y2] = [f[0] * w, f[1] * h, f[2] * w, f[3] * h];
      const svg = (body: string) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${body}</svg>`);
      const jpeg = (img: Sharp) => img.jpeg({ quality: 95 }).toBuffer();

      // Gaussian-like noise (a fixed-seed sum of three uniforms per channel, sigma about 25).
      const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      let seed = 1;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const noisy = Buffer.from(data).map((v) => Math.max(0, Math.min(255, v + (next() + next() + next() - 1.5) * 50)));
      const noise = await qualityOf(await sharp(noisy, { raw: info }).png().toBuffer());
      assert.ok(noise.noise_score < base.noise_score, `noise ${base.noise_score} -> ${noise.noise_score}`);

      const flat = await qualityOf(await jpeg(sharp(bytes).linear(0.2, 100)));
      assert.ok(flat.dynamic_range_score < base.dynamic_range_score, `dynamic range ${base.dynamic_range_score} -> ${flat.dynamic_range_score}`);
      assert.ok(flat.total_score < base.total_score, `total ${base.total_score} -> ${flat.total_score}`);

      const overexposed = await qualityOf(await jpeg(sharp(bytes).linear(2.5, 40)));
      assert.equal(base.no_flare, true);
      assert.equal(overexposed.no_flare, false);

      const small = await qualityOf(await jpeg(sharp(bytes).resize(Math.round(w / 2))));
      assert.ok(small.eyes_distance < base.eyes_distance * 0.6, `eyes distance ${base.eyes_distance} -> ${small.eyes_distance}`);

      const padded = await qualityOf(await jpeg(sharp(bytes).extend({ top: 1200, bottom: 1200, left: 1200, right: 1200, background: '#777' })));
      assert.ok(padded.margin_inner_deviation > base.margin_inner_deviation, `inner margin ${base.margin_inner_deviation} -> ${padded.margin_inner_deviation}`);
      assert.equal(padded.is_margins_acceptable, false);
      const cropped = sharp(bytes).extract({ left: Math.round(x1 + (x2 - x1) * 0.05), top: Math.round(y1), width: Math.round((x2 - x1) * 0.9), height: Math.round(y2 - y1) });
      const tight = await qualityOf(await jpeg(cropped));
      assert.ok(tight.margin_outer_deviation > base.margin_outer_deviation, `outer margin ${base.margin_outer_deviation} -> ${tight.margin_outer_deviation}`);

      const strokes = Array.from({ length: 12 }, (_, i) => `<line x1="${x1}" y1="${y1 + (y2 - y1) * 0.55 + i * 5}" x2="${x2}" y2="${y1 + (y2 - y1) * 0.55 + i * 5}"/>`);
      const marked = await qualityOf(await jpeg(sharp(bytes).composite([{ input: svg(`<g stroke="white" stroke-width="2">${strokes.join('')}</g>`) }])));
      assert.ok(marked.watermark_score > base.watermark_score, `watermark ${base.watermark_score} -> ${marked.watermark_score}`);
      assert.equal(base.has_watermark, false);
      assert.equal(marked.has_watermark, true);

      // A flat grey background beside and above the head: the background is more uniform.
      const [bx0, bx1, by0] = [Math.max(0, x1 - (x2 - x1) * 0.1), Math.min(w, x2 + (x2 - x1) * 0.1), Math.max(0, y1 - (y2 - y1) * 0.1)];
      const grey = svg(`<g fill="#808080"><rect width="${w}" height="${by0}"/><rect width="${bx0}" height="${h}"/><rect x="${bx1}" width="${w - bx1}" height="${h}"/></g>`);
      const plain = await qualityOf(await jpeg(sharp(bytes).composite([{ input: grey }])));
      assert.ok(plain.background_uniformity_score > base.background_uniformity_score, `background ${base.background_uniformity_score} -> ${plain.background_uniformity_score}`);

      const closed = await qualityOf(photo('misc/eyes_close_eyes.jpeg'));
      assert.ok(closed.left_eye_openness_score < 0.5 && base.left_eye_openness_score > 0.5, `left eye ${base.left_eye_openness_score} / ${closed.left_eye_openness_score}`);
      assert.ok(closed.right_eye_openness_score < 0.5 && base.right_eye_openness_score > 0.5, `right eye ${base.right_eye_openness_score} / ${closed.right_eye_openness_score}`);
      assert.equal(closed.is_left_eye_opened, false);
      const smiling = await qualityOf(photo('misc/emotion_happy.png'));
      assert.ok(smiling.neutral_emotion_score < base.neutral_emotion_score, `neutral ${base.neutral_emotion_score} / ${smiling.neutral_emotion_score}`);
    });

    it('templates: v1 $template + template_size, v2 template.<extractor>; fitter -> template-extractor -> verify-matcher', async () => {
      const [p, q] = people;
      const a = ok(await api.image('face-detector-template-extractor', '', photo(p.gallery)), 'v1 extract').objects[0];
      assertBbox(a.bbox, 'template bbox');
      assert.equal(typeof a.$template, 'string');
      assert.equal(a.template_size, Buffer.from(a.$template, 'base64').length);
      // The chain of v2: fitter, then template-extractor on its output.
      const probe = photo(p.probes[0]);
      const fitted = ok(await api.sample('face-detector-face-fitter', 'v2', v2(probe)), 'fitter').objects;
      const b = ok(await api.sample('template-extractor', 'v2', v2(probe, fitted)), 'v2 template-extractor').objects[0];
      const [key] = Object.keys(b.template);
      assert.match(key, /^_face_template_extractor_[0-9a-f]{8}_\d+$/);
      assert.deepEqual(Object.keys(b.template[key]).sort(), ['blob', 'dtype', 'format', 'shape']);
      assert.equal(b.template[key].format, 'NDARRAY');
      assert.equal(b.template[key].dtype, 'uint8');
      assert.deepEqual(b.template[key].shape, [Buffer.from(b.template[key].blob, 'base64').length]);
      assert.deepEqual(b.keypoints, fitted[0].keypoints);
      const c = ok(await api.sample('face-detector-template-extractor', 'v2', v2(photo(q.gallery))), 'other person').objects[0];

      // v1 templates as integrations send them: no id, no bbox, template_size 0. v2 templates of the same extractor.
      const t1 = (o: Json) => ({ $template: o.$template, template_size: 0, class: 'face' });
      const diffBC = (r: Reply) => ok(r, 'verify').verification.distance;
      const v2Of = (o: Json) => ({ class: 'face', template: o.template });
      const bInV1 = { $template: b.template[key].blob, template_size: 0, class: 'face' };
      const same = ok(await api.sample('verify-matcher', 'v1', { objects: [t1(a), bInV1] }), 'same person').verification;
      assert.deepEqual(Object.keys(same).sort(), ['distance', 'fa_r', 'fr_r', 'score']);
      const aInV2 = { class: 'face', template: { [key]: { blob: a.$template, format: 'NDARRAY', dtype: 'uint8', shape: [a.template_size] } } };
      const other = ok(await api.sample('verify-matcher', 'v2', { objects: [aInV2, v2Of(c)] }), 'different people');
      assert.equal(other.objects.length, 2);
      const diff = other.verification;
      assert.ok(same.distance < diff.distance, `distance ${same.distance} vs ${diff.distance}`);
      assert.ok(same.score > 0.5 && diff.score < 0.5, `score ${same.score} vs ${diff.score}`);
      assert.ok(same.fa_r < 1e-3 && diff.fa_r > 1e-2, `fa_r ${same.fa_r} vs ${diff.fa_r}`);
      // A higher threshold rejects more genuine pairs: the closer pair's distance has the higher fr_r.
      assert.ok(same.fr_r > diff.fr_r, `fr_r ${same.fr_r} vs ${diff.fr_r}`);
      // fa_r and fr_r are the calibration's at that distance's cosine.
      const cosine = 1 - (same.distance * same.distance) / 2;
      assert.ok(Math.abs(same.fa_r - server.services.calibration.far(cosine)) < 1e-9);
      assert.ok(Math.abs(same.fr_r - server.services.calibration.frr(cosine)) < 1e-9);

      // Our template under the document's key (as clients written against 3DiVi's document name it) is ours;
      // a template of another model, damaged bytes, bad base64 and one template only are refused.
      const docKey = (blob: string) => ({ class: 'face', template: { _face_template_extractor_1000_12: { blob, format: 'NDARRAY', dtype: 'uint8', shape: [296] } } });
      const underDocKey = ok(await api.sample('verify-matcher', 'v2', { objects: [docKey(b.template[key].blob), v2Of(c)] }), 'the document\'s key');
      assert.equal(underDocKey.verification.distance, diffBC(await api.sample('verify-matcher', 'v2', { objects: [v2Of(b), v2Of(c)] })));
      const damaged = Buffer.from(a.$template, 'base64');
      damaged.writeUInt32LE(0x12345678, 8);
      assertDetail(await api.sample('verify-matcher', 'v2', { objects: [docKey(b64(damaged)), v2Of(c)] }), 400, /sent as _face_template_extractor_1000_12.*not made by this server's extractor \(_face_template_extractor_[0-9a-f]{8}_\d+\)/, 'another model under the document\'s key');
      assertDetail(await api.sample('verify-matcher', 'v1', { objects: [t1(a), { $template: b64(damaged), class: 'face' }] }), 400, /extractor/, 'other model id');
      assertDetail(await api.sample('verify-matcher', 'v1', { objects: [t1(a), { $template: '%%%not base64', class: 'face' }] }), 400, 'Failed to decode base64 string', 'bad base64');
      assertValidation(await api.sample('verify-matcher', 'v1', { objects: [t1(a)] }), ['body', 'objects'], 'one template');
    });

    it('search-matcher finds a face enrolled through CompreFace, only within the key\'s collections', async () => {
      const [p, q] = people;
      const { key: recognition, info } = await server.services.keys.create('recognition');
      const cf = new Api(server.url, recognition);
      await cf.enrol(p.name, photo(p.gallery));
      await cf.enrol(q.name, photo(q.gallery));
      const collection = info.collections[0];
      const { key: mine } = await server.services.keys.create('imageapi', { collections: [collection] });
      const { key: stranger } = await server.services.keys.create('imageapi', { collections: ['someone-else'] });
      const probe = ok(await api.image('face-detector-template-extractor', '', photo(p.probes[0])), 'probe').objects;
      const found = ok(await api.as(mine).sample('search-matcher', 'v1', { objects: probe }), 'search').objects[0].search_result;
      assert.equal(found.length, 1);
      assert.equal(found[0].person_name, p.name);
      assert.equal(found[0].collection, collection);
      assert.ok(found[0].verification.fa_r <= 1e-3);
      // By image, v2, several results asked for.
      const byImage = ok(await api.as(mine, 'token').image('search-matcher', 'v2', photo(p.probes[0])), 'search by image').objects[0];
      assert.equal(byImage.search_result[0].person_name, p.name);
      const all = ok(await api.as(mine).sample('search-matcher', 'v1', { objects: probe, search_params: { limit: 5, max_fa_r: 1 } }), 'limit 5').objects[0].search_result;
      assert.equal(all.length, 2);
      assert.ok(all[0].verification.score > all[1].verification.score);
      const none = ok(await api.as(stranger).sample('search-matcher', 'v1', { objects: probe }), 'stranger').objects[0].search_result;
      assert.deepEqual(none, []);
      assertDetail(await api.as(mine).sample('search-matcher', 'v1', { objects: probe }, '?collections=someone-else'), 404, /someone-else/, 'a collection of another key');
      // A key of two collections searches both, or those it names.
      const { key: both } = await server.services.keys.create('imageapi', { collections: ['lobby-imageapi', collection] });
      const inBoth = ok(await api.as(both).sample('search-matcher', 'v2', { objects: probe }), 'both').objects[0].search_result;
      assert.equal(inBoth[0].person_name, p.name);
      const named = ok(await api.as(both).sample('search-matcher', 'v2', { objects: probe }, `?collections=${encodeURIComponent(collection)}`), 'named').objects[0].search_result;
      assert.equal(named[0].collection, collection);
      const lobby = ok(await api.as(both).sample('search-matcher', 'v2', { objects: probe, search_params: { collections: ['lobby-imageapi'] } }), 'lobby').objects[0].search_result;
      assert.deepEqual(lobby, []);
      assertValidation(await api.as(mine).sample('search-matcher', 'v1', { objects: probe }, '?limit=0'), ['query', 'limit'], 'limit 0');
    });

    it('3DiVi\'s demo flow: fitter by multipart, then quality on {$image: the echoed image, objects: [the first face]}', async () => {
      const fitted = ok(await api.image('face-detector-face-fitter', '', photo(people[1].gallery)), 'fitter');
      const quality = ok(await api.sample('quality-assessment-estimator', '', { $image: fitted.$image, objects: [fitted.objects[0]] }), 'quality');
      const face = quality.objects[0];
      assert.deepEqual(face.bbox, fitted.objects[0].bbox);
      assert.equal(face.fitter.keypoints.length, 63, 'the demo draws fitter.keypoints from the quality answer');
      assert.deepEqual(Object.keys(face.quality.qaa).sort(), QAA_KEYS);
    });

    it('verify-matcher and search-matcher leave recognition events of the imageapi dialect', async () => {
      await server.events.flush();
      const count = async () => (await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recognition_events WHERE dialect = 'imageapi'`)).rows[0].n;
      const before = await count();
      const t = ok(await api.image('face-detector-template-extractor', '', photo(people[2].gallery)), 'template').objects[0];
      const pair = { objects: [{ class: 'face', $template: t.$template }, { class: 'face', $template: t.$template }] };
      ok(await api.sample('verify-matcher', '', pair), 'verify');
      ok(await api.sample('search-matcher', '', pair), 'search');
      await server.events.flush();
      assert.equal(await count(), before + 3, 'one for the comparison, one per searched template');
      const rows = await server.db.query<{ endpoint: string; verdict: string }>(`SELECT endpoint, verdict FROM recognition_events WHERE dialect = 'imageapi' ORDER BY id DESC LIMIT 3`);
      assert.deepEqual(rows.rows.map((r) => r.endpoint).sort(), ['search-matcher', 'search-matcher', 'verify-matcher']);
      assert.equal(rows.rows.find((r) => r.endpoint === 'verify-matcher')!.verdict, 'match');
    });

    it('answers every bad input in its own shape and changes nothing', async () => {
      const before = { faces: await countRows(server, 'faces'), events: await countRows(server, 'recognition_events') };
      await server.events.flush();
      const eventsBefore = await countRows(server, 'recognition_events');
      assertDetail(await api.sample('age-estimator', 'v1', { $image: 'not base64 at all!', objects: [] }), 400, 'Failed to decode base64 string', 'bad base64');
      assertDetail(await api.sample('age-estimator', 'v2', { _image: { blob: b64(Buffer.from('plain text, no image')), format: 'IMAGE' } }), 400, 'Failed to decode base64 string', 'not an image');
      assertDetail(await api.image('face-detector', '', Buffer.from('this is not an image')), 400, 'Failed to decode base64 string', 'broken upload');
      assertValidation(await api.raw('/face-detector/process/sample', { body: '{"$image": ', headers: { 'content-type': 'application/json' } }), undefined, 'malformed JSON');
      assertValidation(await api.sample('face-detector', 'v1', [1, 2]), ['body'], 'an array body');
      assertValidation(await api.sample('face-detector', 'v1', { objects: [] }), ['body', '$image'], 'no image');
      assertValidation(await api.sample('age-estimator', 'v1', { $image: b64(photo(PORTRAIT)), objects: 'x' }), ['body', 'objects'], 'objects not a list');
      assertValidation(await api.sample('age-estimator', 'v1', { $image: b64(photo(PORTRAIT)), objects: [{ class: 'face', bbox: [0.5, 0.5, 0.1] }] }), ['body', 'objects', 0, 'bbox'], 'bad bbox');
      assertValidation(await api.image('face-detector', '', photo(PORTRAIT), 'file'), ['body', 'image'], 'multipart without "image"');
      const big = Buffer.concat([photo(PORTRAIT), Buffer.alloc(4_800_000)]);
      assertDetail(await api.image('face-detector', '', big), 413, /larger than 4700000/, 'over 4.7 MB');
      assertDetail(await api.raw('/face-detector/v3/process/image', { body: '' }), 404, 'Not Found', 'unknown version');
      assertValidation(await api.raw('/face-detector/process/sample', { body: 'hello', headers: { 'content-type': 'text/plain' } }), ['body'], 'a text body');
      const get = await fetch(`${server.url}/face-detector/process/sample`, { headers: { authorization: `Bearer ${api.key}` } });
      assert.equal(get.status, 405);
      assert.deepEqual(await get.json(), { detail: 'Method Not Allowed' });
      assertDetail(await api.raw('/face-detector/process/image', { body: 'x', headers: { authorization: 'Basic !!!' } }), 401, /Invalid authentication credentials/, 'a Basic credential');
      await server.events.flush();
      assert.equal(await countRows(server, 'faces'), before.faces);
      assert.equal(await countRows(server, 'recognition_events'), eventsBefore);
    });

    it('answers browsers (CORS) as 3DiVi\'s demo runs in one: the preflight allows Authorization and TOKEN', async () => {
      const preflight = await fetch(`${server.url}/face-detector-face-fitter/process/image`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,token' },
      });
      assert.ok(preflight.status === 204 || preflight.status === 200, `preflight ${preflight.status}`);
      const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      assert.ok(allowed.includes('authorization') && allowed.includes('token'), allowed);
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(photo(PORTRAIT))], { type: 'image/png' }), 'photo.png');
      const res = await fetch(`${server.url}/face-detector-face-fitter/process/image`, { method: 'POST', body: form, headers: { origin: 'http://localhost:5173', token: api.key! } });
      assert.equal(res.status, 200);
      assert.ok(res.headers.get('access-control-allow-origin'));
    });

    it('serves its OpenAPI document, equal to its routes', async () => {
      const dialect = server.dialects.find((d) => d.name === 'imageapi')!;
      const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
      const served = servedRoutes(dialect.router).map(key).sort();
      assert.deepEqual(served, documentedRoutes(IMAGE_API_OPENAPI).map(key).sort());
      assert.equal(served.length, SERVICES.length * 6);
      const res = await fetch(`${server.url}/openapi/imageapi.json`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as Json).info.title, IMAGE_API_OPENAPI.info.title);
    });
  });
}

describe('Image API settings: anonymous access and the liveness modules', function () {
  this.timeout(300_000);
  const servers: RunningServer[] = [];
  before(function () {
    requireFacedata(this);
  });
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('IMAGEAPI_AUTH=none: anonymous requests pass, a key sent is still checked, search-matcher still needs one', async () => {
    const server = await startTestServer({ IMAGEAPI_AUTH: 'none', IMAGEAPI_LIVENESS_MODULE: 'liveness-anti-spoofing' });
    servers.push(server);
    const api = new ImageApi(server.url);
    ok(await api.image('face-detector', '', photo(PORTRAIT)), 'anonymous');
    assertDetail(await api.as('wrong').image('face-detector', '', photo(PORTRAIT)), 401, /Invalid/, 'a wrong key');
    assertDetail(await api.sample('search-matcher', 'v1', { objects: [{ class: 'face', $template: 'AAAA' }] }), 401, 'Not authenticated', 'search without a key');
    // liveness-anti-spoofing: one face, no box.
    const live = ok(await api.image('face-detector-liveness-estimator', 'v2', photo(LIVE)), 'anti-spoofing').objects;
    assert.equal(live.length, 1);
    assert.deepEqual(Object.keys(live[0]).sort(), ['class', 'id', 'liveness']);
    assert.equal(live[0].liveness.value, 'real');
    const huge = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#888' } }).jpeg({ quality: 30 }).toBuffer();
    assertDetail(await api.image('face-detector-liveness-estimator', '', huge), 413, /10000000/, 'over 10 MP');
  });

  it('quality-liveness-anti-spoofing: its quality threshold and one-face errors', async () => {
    const server = await startTestServer({ IMAGEAPI_AUTH: 'none', IMAGEAPI_LIVENESS_MODULE: 'quality-liveness-anti-spoofing', IMAGEAPI_LIVENESS_QUALITY_THRESHOLD: '80' });
    servers.push(server);
    const api = new ImageApi(server.url);
    const live = ok(await api.image('face-detector-liveness-estimator', 'v1', photo(PORTRAIT)), 'a good photo').objects;
    assert.equal(live.length, 1);
    assert.ok(['REAL', 'FAKE'].includes(live[0].liveness.value));
    assertDetail(await api.image('face-detector-liveness-estimator', '', photo(GROUP)), 400, 'More than one face detected', 'a group');
    // The portrait's quality total is about 90; blurred, darkened and compressed about 60.
    const poor = await sharp(photo(PORTRAIT)).blur(12).linear(0.2, 0).jpeg({ quality: 20 }).toBuffer();
    const r = await api.image('face-detector-liveness-estimator', '', poor);
    assertDetail(r, 400, /^Low image quality\. Calculated score value \(\d+\) is less than the threshold \(80\)$/, 'a poor photo');
  });
});
