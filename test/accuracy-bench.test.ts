// `npm run bench:accuracy` must run unchanged on any folder laid out like ../shared/facedata. This builds a
// small folder of that layout elsewhere (other file names, other sub-folders, a subset of the photos, label
// files with their columns in another order), runs the benchmark on it as a user would, and checks that every
// metric is there with the sample counts the folder implies.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FACEDATA, requireFacedata } from './support/compreface';
import { REPO_ROOT } from './support/server';

const run = promisify(execFile);

type Row = Record<string, string>;

function readRows(name: string): Row[] {
  const [header, ...lines] = fs.readFileSync(path.join(FACEDATA, name), 'utf8').split(/\r?\n/).filter(Boolean);
  const keys = header.split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [keys[i], v])));
}

/** Writes rows as a TSV with the given column order (not the original one). */
function writeRows(dir: string, name: string, columns: string[], rows: Row[]): void {
  const lines = [columns.join('\t'), ...rows.map((r) => columns.map((c) => r[c] ?? '').join('\t'))];
  fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
}

describe('bench:accuracy on another folder with the facedata layout', function () {
  this.timeout(300_000);
  let dir: string;

  before(function () {
    requireFacedata(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceserver-accuracy-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true }); // photos of people: never left behind
  });

  it('prints one JSON line with every metric and the counts of the new folder', async () => {
    // Copy a photo under a new name; the label files refer to the new names only.
    const renamed = new Map<string, string>();
    const copy = (rel: string): string => {
      if (!renamed.has(rel)) {
        const target = `photos/p${renamed.size}${path.extname(rel)}`;
        fs.mkdirSync(path.join(dir, 'photos'), { recursive: true });
        fs.copyFileSync(path.join(FACEDATA, rel), path.join(dir, target));
        renamed.set(rel, target);
      }
      return renamed.get(rel)!;
    };

    const lfwPairs = readRows('pairs.tsv').filter((p) => p.subset === 'lfw_view2_fold01');
    const pairs = [...lfwPairs.filter((p) => p.same === '1').slice(0, 4), ...lfwPairs.filter((p) => p.same === '0').slice(0, 4)];
    writeRows(dir, 'pairs.tsv', ['subset', 'same', 'path2', 'path1', 'note'],
      pairs.map((p) => ({ ...p, subset: 'elsewhere', path1: copy(p.path1), path2: copy(p.path2) }))); // prettier-ignore

    const ids = readRows('identification.tsv').filter((r) => r.gallery_set === 'lfw');
    const people = [...new Set(ids.filter((r) => r.role === 'probe').map((r) => r.identity))].slice(0, 3);
    const idRows: Row[] = [
      ...ids.filter((r) => people.includes(r.identity) && (r.role === 'gallery' || r.role === 'probe')),
      ...ids.filter((r) => r.role === 'unknown_probe').slice(0, 1),
    ].map((r) => ({ ...r, path: copy(r.path), gallery_set: 'site' }));
    writeRows(dir, 'identification.tsv', ['role', 'path', 'identity', 'gallery_set'], idRows);

    const group = readRows('detection.tsv').find((r) => r.boxes_xywh && Number(r.n_faces) <= 3)!;
    writeRows(dir, 'detection.tsv', ['path', 'n_faces', 'boxes_xywh', 'width', 'height'], [{ ...group, path: copy(group.path) }]);

    const attributes = readRows('attributes.tsv');
    const gendered = attributes.filter((r) => r.gender).slice(0, 3);
    const masked = attributes.filter((r) => r.mask).slice(0, 2);
    writeRows(dir, 'attributes.tsv', ['path', 'gender', 'mask', 'source'],
      [...gendered, ...masked].map((r) => ({ ...r, path: copy(r.path), source: 'mine' }))); // prettier-ignore

    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'benchmarks/accuracy.ts', '--data', dir, '--workers', '1'], {
      cwd: REPO_ROOT,
      maxBuffer: 16 << 20,
    });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'exactly one line on stdout');
    const report = JSON.parse(lines[0]);

    assert.equal(report.images.analyzed, renamed.size - 1); // the group photo goes through detection only
    const verification = report.verification.elsewhere;
    assert.deepEqual([verification.pairs, verification.same, verification.different], [8, 4, 4]);
    assert.ok(verification.bestAccuracy >= 0.875, `LFW pairs should separate: ${verification.bestAccuracy}`);
    for (const key of ['bestThreshold', 'tarAtFar1e2', 'tarAtFar1e3', 'rocAuc']) assert.ok(key in verification, key);

    const site = report.identification.site;
    assert.equal(site.rank1.n, idRows.filter((r) => r.role === 'probe').length);
    assert.equal(site.openSetRejection.n, 1);
    assert.ok(site.rank1.rate >= 0.5, `rank-1 ${site.rank1.rate}`);

    assert.ok(report.detection.recall > 0, 'detection recall on the annotated photo');
    assert.equal(report.attributes.gender.n, 3);
    assert.equal(report.attributes.mask.n, 2);
    assert.ok(report.attributes.gender.bySource.mine, 'per-source figures use the folder’s own source names');
  });
});
