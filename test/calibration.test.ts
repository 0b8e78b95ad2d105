// The score calibration (src/domain/calibration.ts over assets/calibration/fr_feature.json): the table belongs to
// the shipped model, its lookups are monotone and invert each other, and on the dev pairs recomputed here with
// the real engine its thresholds accept the share of impostor pairs they promise and its logistic is
// CompreFace's. The embedding code is tools/calibrate.ts's own (tools/calibration-pairs.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CalibrationError, DEFAULT_CALIBRATION, checkCalibration, loadCalibration } from '../src/domain/calibration';
import { MODEL_MANIFEST } from '../src/engine/models';
import {
  embedAsEnrolment,
  embedAsLogisticFit,
  fitLogisticOnPairs,
  officialPairPhotos,
  openEngine,
  readLabelledPhotos,
  scoreAllPairs,
  type PairScores,
} from '../tools/calibration-pairs';
import { FACEDATA, requireFacedata } from './support/compreface';
import { REPO_ROOT } from './support/server';
import { lowerBound } from '../tools/calibrate';

/** CompreFace's similarity constants as the server has always reported them: they must not move. */
const COMPREFACE_LOGISTIC = { c0: 1.2268, c1: 12.0932 };

interface AssetFacts {
  data: { pairs: { genuine: number; impostor: number } };
  table: { columns: string[]; rows: number[][] };
}
const asset = JSON.parse(fs.readFileSync(DEFAULT_CALIBRATION, 'utf8')) as AssetFacts;

/** How many of the ascending values are >= x. */
const atOrAbove = (xs: Float64Array, x: number): number => xs.length - lowerBound(xs, x);

/**
 * How far a count may stray from n * p. A threshold set at FAR p accepts Binomial(n, p) of n impostor pairs it
 * was not measured on; 4 standard deviations make a false alarm ~6e-5 likely, and 1 pair more absorbs the
 * table's 0.001 cosine grid (interpolating between rows moves the threshold across at most a tie or two).
 * On the very pairs the table was measured on the count differs by ~0-2; the band is what the table promises on
 * anybody's pairs: at 1e-5 with ~470k pairs, 0-15 pairs for ~4.7 expected: that is all 1e-5 is resolved to here.
 */
function binomialTolerance(n: number, p: number): number {
  return 4 * Math.sqrt(n * p * (1 - p)) + 1;
}

describe('score calibration', () => {
  const cal = loadCalibration();

  describe('the shipped table', () => {
    it('was measured for the shipped model files (models.sha256, and the files themselves)', () => {
      assert.equal(cal.model.file, 'fr_feature.onnx');
      checkCalibration(cal, MODEL_MANIFEST);
      checkCalibration(cal, path.join(REPO_ROOT, 'models'));
      assert.deepEqual(
        cal.pipelineModels.map((m) => m.file),
        ['fr_detect.onnx', 'fr_landmark.onnx'],
      );
    });

    it('refuses a model whose checksum is not the one it was measured for, naming the file', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calibration-'));
      try {
        const manifest = path.join(dir, 'models.sha256');
        const altered = fs.readFileSync(MODEL_MANIFEST, 'utf8').replace(cal.model.sha256, '0'.repeat(64));
        fs.writeFileSync(manifest, altered);
        assert.throws(() => checkCalibration(cal, manifest), (err: Error) => {
          assert.ok(err instanceof CalibrationError);
          assert.match(err.message, /measured for fr_feature\.onnx sha256 87aacdfe.*has sha256 0{64}/);
          assert.match(err.message, /tools\/calibrate\.ts/);
          return true;
        });
        fs.writeFileSync(manifest, fs.readFileSync(MODEL_MANIFEST, 'utf8').replace(/^.*fr_landmark.*$/m, ''));
        assert.throws(() => checkCalibration(cal, manifest), /fr_landmark\.onnx is not in/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('has FAR non-increasing and FRR non-decreasing in cosine, ends included', () => {
      let [far, frr] = [cal.far(-2), cal.frr(-2)];
      assert.equal(far, 1);
      assert.equal(frr, 0);
      for (let c = -1.1; c <= 1.1; c += 1e-4) {
        const [f, r] = [cal.far(c), cal.frr(c)];
        assert.ok(f <= far && r >= frr, `at cosine ${c}: far ${far} -> ${f}, frr ${frr} -> ${r}`);
        [far, frr] = [f, r];
      }
      assert.equal(cal.frr(2), 1);
      assert.ok(cal.far(1) > 0 && cal.far(1) < 1e-9, `far(1) = ${cal.far(1)}`);
    });

    it('inverts far with cosineAtFar, and clamps at the ends', () => {
      let previous = -Infinity;
      for (let e = 0; e >= -11.5; e -= 0.05) {
        const target = 10 ** e;
        const c = cal.cosineAtFar(target);
        assert.ok(Math.abs(cal.far(c) - target) <= 1e-9 * target, `far(cosineAtFar(${target})) = ${cal.far(c)}`);
        assert.ok(c >= previous, 'a smaller FAR needs a higher cosine');
        previous = c;
      }
      assert.equal(cal.cosineAtFar(1), -1);
      assert.equal(cal.cosineAtFar(0), 1); // below what the table reaches: its strictest threshold
      for (const c of [0.1, 0.25, 0.4, 0.6]) assert.ok(cal.cosineAtFar(cal.far(c)) <= c + 1e-12);
    });

    it('marks extrapolated FAR rows, only above every measured impostor pair', () => {
      const col = (name: string) => asset.table.columns.indexOf(name);
      const n = asset.data.pairs.impostor;
      for (const row of asset.table.rows) {
        const counted = row[col('impostorPairsAtOrAbove')];
        if (row[col('extrapolated')]) assert.ok(counted === 0 && row[col('far')] < 1 / n, `row ${row}`);
        else assert.ok(Math.abs(row[col('far')] - counted / n) <= 1e-5 * (counted / n), `row ${row}`);
      }
    });

    it('puts the equal-error cosine where FAR meets FRR', () => {
      const c = cal.equalErrorCosine;
      assert.ok(Math.abs(cal.far(c) - cal.frr(c)) < 0.003, `far ${cal.far(c)} frr ${cal.frr(c)} at ${c}`);
    });

    it('answers far() fast enough for every match on a hot path', () => {
      const started = process.hrtime.bigint();
      let sink = 0;
      for (let i = 0; i < 1e6; i++) sink += cal.far((i % 2000) / 1000 - 1);
      const nsPerCall = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(sink > 0 && nsPerCall < 2000, `${nsPerCall} ns per far()`);
    });
  });

  describe('on the dev pairs, recomputed with the engine', function () {
    this.timeout(600_000);
    let scores: PairScores;
    let logistic: ReturnType<typeof fitLogisticOnPairs>;

    before(async function () {
      requireFacedata(this);
      const { photos } = readLabelledPhotos(FACEDATA);
      const engine = await openEngine(path.join(REPO_ROOT, 'models'), 2);
      try {
        scores = scoreAllPairs(photos, (await embedAsEnrolment(engine, FACEDATA, photos.map((p) => p.path))).embeddings);
        logistic = fitLogisticOnPairs(FACEDATA, (await embedAsLogisticFit(engine, FACEDATA, officialPairPhotos(FACEDATA))).embeddings);
      } finally {
        await engine.close();
      }
    });

    it('has the pair counts the table was measured on', () => {
      assert.ok(scores.impostor.length > 400_000, `${scores.impostor.length} impostor pairs`);
      assert.deepEqual({ genuine: scores.genuine.length, impostor: scores.impostor.length }, asset.data.pairs);
    });

    for (const far of [1e-1, 1e-3, 1e-5]) {
      it(`accepts the promised share of impostor pairs at the FAR ${far} threshold, and rejects the promised share of genuine ones`, () => {
        const c = cal.cosineAtFar(far);
        const n = scores.impostor.length;
        const accepted = atOrAbove(scores.impostor, c);
        assert.ok(Math.abs(accepted - n * far) <= binomialTolerance(n, far), `cosine ${c}: ${accepted} of ${n} impostor pairs, ~${n * far} expected`);
        const g = scores.genuine.length;
        const rejected = g - atOrAbove(scores.genuine, c);
        const frr = cal.frr(c);
        assert.ok(Math.abs(rejected - g * frr) <= binomialTolerance(g, frr), `cosine ${c}: ${rejected} of ${g} genuine pairs rejected, frr ${frr}`);
      });
    }

    it("fits CompreFace's logistic constants again on pairs.tsv", () => {
      assert.deepEqual(cal.logistic, COMPREFACE_LOGISTIC);
      assert.deepEqual({ c0: logistic.c0, c1: logistic.c1 }, COMPREFACE_LOGISTIC);
      assert.deepEqual(logistic.pairs, { same: 434, different: 470, skipped: 0, errataLeftOut: 1 });
    });
  });
});
