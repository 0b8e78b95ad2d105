// `faceserver import PATH` and `faceserver export DIR`. Arguments are parsed strictly (node:util parseArgs),
// before anything is touched. Both run against a BulkAdmin: the running server's admin API when there is one
// (src/cli/connect.ts), else the database itself, with the engine loaded in this process to enrol photos.
//
// import reads one of three sources:
//   - a folder of photos, one sub-folder per person (the sub-folder's name is the person's name);
//   - a CSV file of `path,name` rows (paths relative to the CSV's folder; a `path,name` header is optional);
//   - a folder written by `faceserver export` (it holds faceserver-export.json): the templates go back as they
//     are, without the engine, so the collection recognizes as it did.
// A re-run skips what is enrolled: a photo whose SHA-256 the collection holds for the same person, an exported
// face whose template it holds.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import cliProgress from 'cli-progress';
import type { Config } from '../config';
import { databaseIdentity } from '../admin/local-files';
import { BULK_PAGE_MAX, LocalBulkAdmin, type BulkAdmin, type ExportedFace, type ExportedPerson, type ImportedFace } from '../admin/bulk';
import { isDomainError } from '../domain/errors';
import { FaceService } from '../domain/faces';
import { EngineFaceAnalyzer } from '../domain/face-analyzer';
import { NO_FACE_CHANGE_SINK } from '../domain/face-search';
import { Engine, engineOptions } from '../engine/engine';
import { verifyModels } from '../engine/models';
import { sha256 } from '../store/photos';
import { openDb } from '../store/db';
import { migrate } from '../store/migrations';
import { FaceCropper, UnkeptPhotoCrops } from '../console';
import type { EnrolOutcome } from '../console/enrolment';
import { ServerUnreachable } from './admin-client';
import { RemoteBulkAdmin } from './bulk-client';
import { findRunningServer } from './connect';
import { UsageError, type Output } from './keys';

export const EXPORT_MANIFEST = 'faceserver-export.json';
export const EXPORT_FORMAT = 'faceserver-export';
export const EXPORT_VERSION = 1;

const IMAGE_FILE = /\.(jpe?g|png|webp|bmp|gif|tiff?)$/i;

export const IMPORT_USAGE = `  faceserver import PATH --collection NAME [--parallel N] [--report FILE] [--no-progress]
      PATH: a folder with one sub-folder of photos per person (named after the person), a CSV file of
      path,name rows (paths relative to it), or a folder written by faceserver export
      --collection: where the faces go (created if absent)
      --parallel: photos in flight at once (default: twice the engine's workers, at most its queue)
      --report: also write the outcome of every photo there (JSON)
      a re-run skips what is already enrolled; photos with no face, several faces or low quality are listed`;
export const EXPORT_USAGE = `  faceserver export DIR --collection NAME [--photos]
      writes the collection's persons, faces and templates (and with --photos the stored photos) to DIR
      (absent or empty), in the form faceserver import reads back`;

export const BULK_USAGE = `${IMPORT_USAGE}\n${EXPORT_USAGE}`;

export interface BulkIo extends Output {
  /** Show a progress bar on the terminal (stderr). */
  progress: boolean;
}

/** parseArgs, strict, with its errors as usage errors. */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), usage);
  }
  if (parsed.positionals.length > 1) throw new UsageError(`unexpected argument "${parsed.positionals[1]}"`, usage);
  return parsed;
}

export type BulkCommand = { help: string } | { run(config: Config, io: BulkIo): Promise<number> };

export function parseImport(args: string[]): BulkCommand {
  const usage = IMPORT_USAGE;
  const { values, positionals } = parse(
    args,
    { collection: { type: 'string' }, parallel: { type: 'string' }, report: { type: 'string' }, 'no-progress': { type: 'boolean' } },
    usage,
  );
  if (values.help) return { help: usage };
  const source = positionals[0];
  if (source === undefined) throw new UsageError('import needs a PATH: a folder of photos, a CSV file or an export', usage);
  if (values.collection === undefined || values.collection.trim() === '') throw new UsageError('import needs --collection NAME', usage);
  let parallel: number | undefined;
  if (values.parallel !== undefined) {
    parallel = /^\d+$/.test(values.parallel) ? Number(values.parallel) : NaN;
    if (!(parallel >= 1 && parallel <= 256)) throw new UsageError('--parallel must be a whole number from 1 to 256', usage);
  }
  const collection = values.collection;
  return {
    run: (config, io) => runImport(config, { ...io, progress: io.progress && !values['no-progress'] }, { source, collection, parallel, report: values.report }),
  };
}

export function parseExport(args: string[]): BulkCommand {
  const usage = EXPORT_USAGE;
  const { values, positionals } = parse(args, { collection: { type: 'string' }, photos: { type: 'boolean' } }, usage);
  if (values.help) return { help: usage };
  const dir = positionals[0];
  if (dir === undefined) throw new UsageError('export needs a DIR to write to', usage);
  if (values.collection === undefined || values.collection.trim() === '') throw new UsageError('export needs --collection NAME', usage);
  const collection = values.collection;
  return { run: (config, io) => runExport(config, io, { dir, collection, photos: values.photos === true }) };
}

// ---- connecting: the running server, else the database (and the engine, loaded at the first photo)

export async function connectBulk(config: Config): Promise<BulkAdmin> {
  const server = await findRunningServer(config);
  if (server) return new RemoteBulkAdmin(server);
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 });
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  let engine: Engine | undefined;
  let crops: UnkeptPhotoCrops | undefined;
  let faces: Promise<FaceService> | undefined;
  const openFaces = () =>
    (faces ??= (async () => {
      verifyModels(config.modelsDir);
      engine = await Engine.open(engineOptions(config));
      const quiet = { warn: () => {} };
      if (!config.saveImages && config.thumbnails) crops = new UnkeptPhotoCrops(db, new FaceCropper(config.thumbnailSize), quiet);
      return new FaceService(db, new EngineFaceAnalyzer(engine), config.saveImages, NO_FACE_CHANGE_SINK, crops?.sink);
    })());
  const where = config.databaseUrl ? `the database ${databaseIdentity(config)}` : `the data folder ${config.dataDir}`;
  const local = new LocalBulkAdmin(db, openFaces, NO_FACE_CHANGE_SINK, () => ({ workers: config.workers, queueSize: config.queueSize }), where, config.saveImages);
  return Object.assign(local, {
    async close() {
      await crops?.idle();
      await engine?.close();
      await db.close();
    },
  });
}

// ---- import

interface PhotoItem {
  file: string;
  /** As the report shows it: relative to the source. */
  shown: string;
  name: string;
}

type Outcome = EnrolOutcome | 'skipped' | 'duplicate';

interface ItemResult {
  file: string;
  person: string;
  outcome: Outcome;
  message?: string;
}

const OUTCOME_LABEL: Record<Outcome, string> = {
  enrolled: 'enrolled',
  skipped: 'already enrolled (skipped)',
  duplicate: 'the same photo for the same person again (skipped)',
  no_face: 'no face',
  several_faces: 'several faces',
  low_quality: 'low quality',
  unreadable: 'not a readable image',
  failed: 'failed',
};

/** The photos of a folder with one sub-folder per person (photos deeper down count for that person). */
function folderItems(root: string): { items: PhotoItem[]; ignored: string[] } {
  const items: PhotoItem[] = [];
  const ignored: string[] = [];
  /** A folder, following symbolic links (a folder of links to photos, or links to folders). */
  const isDir = (e: fs.Dirent, file: string) => e.isDirectory() || (e.isSymbolicLink() && fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() === true);
  const entries = (dir: string) => fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
  const walk = (dir: string, name: string, depth: number) => {
    for (const e of entries(dir)) {
      const file = path.join(dir, e.name);
      if (isDir(e, file)) {
        if (depth < 16) walk(file, name, depth + 1);
      } else if (IMAGE_FILE.test(e.name)) items.push({ file, shown: path.relative(root, file), name });
      else ignored.push(path.relative(root, file));
    }
  };
  let loose = 0;
  for (const e of entries(root)) {
    const file = path.join(root, e.name);
    if (isDir(e, file)) walk(file, e.name, 1);
    else {
      ignored.push(e.name);
      if (IMAGE_FILE.test(e.name)) loose++;
    }
  }
  if (!items.length && loose) {
    throw new Error(`${root} holds photos but no sub-folder per person: a photo's person is the name of the folder it is in (or give a CSV of path,name)`);
  }
  return { items, ignored };
}

/** RFC 4180 rows: commas, double quotes ("" inside quotes is one), CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new Error('the CSV ends inside a quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

function csvItems(csvFile: string): PhotoItem[] {
  const rows = parseCsv(fs.readFileSync(csvFile, 'utf8'));
  const base = path.dirname(csvFile);
  const items: PhotoItem[] = [];
  rows.forEach((r, i) => {
    if (i === 0 && r[0]?.trim().toLowerCase() === 'path' && r[1]?.trim().toLowerCase() === 'name') return;
    const [p, name] = [r[0]?.trim() ?? '', r[1]?.trim() ?? ''];
    if (r.length !== 2 || p === '' || name === '') throw new Error(`${csvFile} line ${i + 1}: expected path,name`);
    items.push({ file: path.resolve(base, p), shown: p, name });
  });
  return items;
}

const BUSY_RETRIES = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries while the server or engine is busy (its queue full), backing off. */
async function whenFree<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(isDomainError(err) && err.code === 'BUSY') || attempt >= BUSY_RETRIES) throw err;
      await sleep(Math.min(2000, 50 * attempt));
    }
  }
}

/** A progress bar with the rate and ETA on the terminal; nothing elsewhere. */
function progressBar(io: BulkIo, total: number, unit: string) {
  if (!io.progress) return { tick() {}, stop() {} };
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} | {status}`,
      stream: process.stderr,
      etaBuffer: 50,
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: '0.0', status: '' });
  let done = 0;
  return {
    tick(status: string) {
      done++;
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? (done / seconds).toFixed(1) : '0.0', status });
    },
    stop() {
      bar.stop();
    },
  };
}

interface ImportOptions {
  source: string;
  collection: string;
  parallel?: number;
  report?: string;
}

async function runImport(config: Config, io: BulkIo, opts: ImportOptions): Promise<number> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(opts.source);
  } catch {
    throw new Error(`${opts.source}: no such file or folder`);
  }
  const isExport = stat.isDirectory() && fs.existsSync(path.join(opts.source, EXPORT_MANIFEST));
  let items: PhotoItem[] = [];
  let ignored: string[] = [];
  if (!isExport) {
    if (stat.isDirectory() && fs.existsSync(path.join(opts.source, 'faces.jsonl'))) {
      throw new Error(`${opts.source} holds an export cut short (no ${EXPORT_MANIFEST}): export again`);
    }
    if (stat.isDirectory()) ({ items, ignored } = folderItems(opts.source));
    else if (/\.csv$/i.test(opts.source)) items = csvItems(opts.source);
    else throw new Error(`${opts.source} is neither a folder nor a .csv file`);
  }
  const bulk = await connectBulk(config);
  try {
    const collection = await bulk.collection(opts.collection, true);
    if (isExport) return await importExport(bulk, collection, opts.source, io);
    return await importPhotos(bulk, collection, items, ignored, io, opts);
  } finally {
    await bulk.close();
  }
}

/** What the collection holds already: photo hash + person, and template hashes. */
async function enrolledKeys(bulk: BulkAdmin, collectionId: number): Promise<{ photos: Set<string>; templates: Set<string> }> {
  const photos = new Set<string>();
  const templates = new Set<string>();
  for (let after = 0; ; ) {
    const page = await bulk.enrolled(collectionId, after, BULK_PAGE_MAX);
    for (const f of page) {
      if (f.photoSha256) photos.add(`${f.photoSha256}\t${f.person ?? ''}`);
      templates.add(f.templateSha256);
    }
    if (page.length < BULK_PAGE_MAX) break;
    after = page[page.length - 1].id;
  }
  return { photos, templates };
}

async function importPhotos(
  bulk: BulkAdmin,
  collection: { id: number; name: string },
  items: PhotoItem[],
  ignored: string[],
  io: BulkIo,
  opts: ImportOptions,
): Promise<number> {
  const capacity = await bulk.capacity();
  let parallel = opts.parallel ?? Math.max(1, capacity.workers * 2);
  if (parallel > capacity.queueSize) {
    if (opts.parallel !== undefined) io.err(`--parallel ${opts.parallel} is more than the engine's queue (${capacity.queueSize}): using ${capacity.queueSize}`);
    parallel = capacity.queueSize;
  }
  const known = await enrolledKeys(bulk, collection.id);
  io.err(`importing ${items.length} photos into "${collection.name}" through ${bulk.where}, ${parallel} at a time`);
  const results: ItemResult[] = new Array(items.length);
  const bar = progressBar(io, items.length, 'photos');
  const started = process.hrtime.bigint();
  let next = 0;
  let lost: Error | undefined;
  const inRun = new Map<string, string>();
  const worker = async () => {
    while (next < items.length && !lost) {
      const i = next++;
      const item = items[i];
      let result: ItemResult;
      try {
        const image = fs.readFileSync(item.file);
        const key = `${sha256(image).toString('hex')}\t${item.name}`;
        if (known.photos.has(key)) result = { file: item.shown, person: item.name, outcome: 'skipped' };
        else if (inRun.has(key)) result = { file: item.shown, person: item.name, outcome: 'duplicate', message: `the same as ${inRun.get(key)}` };
        else {
          inRun.set(key, item.shown); // the same photo twice in one run is sent once
          const r = await whenFree(() => bulk.enrolPhoto(collection.id, item.name, image));
          result = { file: item.shown, person: item.name, outcome: r.outcome, ...(r.message ? { message: r.message } : {}) };
        }
      } catch (err) {
        if (err instanceof ServerUnreachable) {
          lost = err; // the server went away: stop, and say how to resume
          break;
        }
        const code = (err as NodeJS.ErrnoException).code;
        const unreadable = code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR';
        result = { file: item.shown, person: item.name, outcome: unreadable ? 'unreadable' : 'failed', message: (err as Error).message };
      }
      results[i] = result;
      bar.tick(OUTCOME_LABEL[result.outcome]);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, items.length)) }, worker));
  } finally {
    bar.stop();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (lost) {
    const done = results.filter((r) => r?.outcome === 'enrolled').length;
    throw new Error(`${lost.message}; ${done} photos were enrolled before it stopped: run the same import again to go on from there`);
  }
  return reportImport(io, results, ignored, seconds, opts.report);
}

function reportImport(io: BulkIo, results: ItemResult[], ignored: string[], seconds: number, reportFile: string | undefined): number {
  const counts = new Map<Outcome, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const processed = results.filter((r) => r.outcome !== 'skipped' && r.outcome !== 'duplicate').length;
  const rate = seconds > 0 ? processed / seconds : 0;
  const parts = (Object.keys(OUTCOME_LABEL) as Outcome[]).filter((o) => o !== 'duplicate' || counts.has(o)).map((o) => `${OUTCOME_LABEL[o]} ${counts.get(o) ?? 0}`);
  io.out(`${results.length} photos in ${seconds.toFixed(1)} s (${rate.toFixed(2)} photos/s): ${parts.join(', ')}`);
  for (const o of ['no_face', 'several_faces', 'low_quality', 'unreadable', 'failed'] as const) {
    const list = results.filter((r) => r.outcome === o);
    if (!list.length) continue;
    io.out(`${OUTCOME_LABEL[o]} (${list.length}):`);
    for (const r of list) io.out(`  ${r.file}${r.message && o !== 'no_face' && o !== 'several_faces' ? `: ${r.message}` : ''}`);
  }
  if (ignored.length) io.err(`ignored ${ignored.length} files that are not photos in a person's folder (e.g. ${ignored.slice(0, 3).join(', ')})`);
  if (reportFile) {
    fs.writeFileSync(reportFile, JSON.stringify({ seconds, photosPerSecond: rate, counts: Object.fromEntries(counts), results, ignored }, null, 2) + '\n');
  }
  return counts.get('failed') ? 1 : 0;
}

interface ExportManifest {
  format: string;
  version: number;
  collection: string;
  exportedAt: string;
  persons: number;
  faces: number;
  photos: boolean;
}

function readManifest(dir: string): ExportManifest {
  const m = JSON.parse(fs.readFileSync(path.join(dir, EXPORT_MANIFEST), 'utf8')) as ExportManifest;
  if (m.format !== EXPORT_FORMAT) throw new Error(`${dir}/${EXPORT_MANIFEST} is not a faceserver export`);
  if (m.version !== EXPORT_VERSION) throw new Error(`${dir} is an export of version ${m.version}; this faceserver reads version ${EXPORT_VERSION}`);
  return m;
}

async function* jsonLines<T>(file: string): AsyncGenerator<T> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as T;
    } catch {
      throw new Error(`${file} line ${n} is not JSON`);
    }
  }
}

/** Faces per import call, and the base64 bytes they may carry (under the server's 10 MB body limit). */
const IMPORT_BATCH = 200;
const IMPORT_BATCH_BYTES = 4 << 20;

async function importExport(bulk: BulkAdmin, collection: { id: number; name: string }, dir: string, io: BulkIo): Promise<number> {
  const manifest = readManifest(dir);
  const persons = new Map<string, ExportedPerson>();
  for await (const p of jsonLines<ExportedPerson>(path.join(dir, 'persons.jsonl'))) persons.set(p.uuid, p);
  const known = await enrolledKeys(bulk, collection.id);
  io.err(`importing ${manifest.faces} faces of ${manifest.persons} persons (export of "${manifest.collection}") into "${collection.name}" through ${bulk.where}`);
  const bar = progressBar(io, manifest.faces, 'faces');
  const started = process.hrtime.bigint();
  let imported = 0;
  let skipped = 0;
  let batch: ImportedFace[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const sending = batch;
    batch = [];
    bytes = 0;
    imported += await whenFree(() => bulk.importFaces(collection.id, sending));
    for (let i = 0; i < sending.length; i++) bar.tick('imported');
  };
  try {
    for await (const f of jsonLines<ExportedFace & { photo?: string | null }>(path.join(dir, 'faces.jsonl'))) {
      const templateSha = sha256(Buffer.from(f.template, 'base64')).toString('hex');
      if (known.templates.has(templateSha)) {
        skipped++;
        bar.tick('skipped');
        continue;
      }
      known.templates.add(templateSha);
      let person: ImportedFace['person'] = null;
      if (f.person !== null) {
        const p = persons.get(f.person);
        if (!p) throw new Error(`${dir}/faces.jsonl: face ${f.uuid} names person ${f.person}, who is not in persons.jsonl`);
        person = { name: p.name, surname: p.surname, patronymic: p.patronymic, department: p.department, comment: p.comment, attributes: p.attributes };
      }
      let photo: ImportedFace['photo'];
      if (typeof f.photo === 'string') {
        const data = fs.readFileSync(path.join(dir, f.photo)).toString('base64');
        photo = { data, mimeType: mimeOfFile(f.photo) };
        bytes += data.length;
      }
      batch.push({ person, box: f.box, quality: f.quality, attributes: f.attributes, photoSha256: f.photoSha256, template: f.template, embedding: f.embedding, ...(photo ? { photo } : {}) });
      bytes += f.template.length + (f.embedding?.length ?? 0);
      if (batch.length >= IMPORT_BATCH || bytes >= IMPORT_BATCH_BYTES) await flush();
    }
    await flush();
  } finally {
    bar.stop();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  io.out(`${imported + skipped} faces in ${seconds.toFixed(1)} s: imported ${imported}, already enrolled (skipped) ${skipped}`);
  return 0;
}

// ---- export

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/bmp': 'bmp', 'image/gif': 'gif', 'image/tiff': 'tif' };

function mimeOfFile(file: string): string | null {
  const ext = path.extname(file).slice(1).toLowerCase();
  const hit = Object.entries(EXTENSIONS).find(([, e]) => e === ext);
  return hit ? hit[0] : null;
}

interface ExportOptions {
  dir: string;
  collection: string;
  photos: boolean;
}

async function runExport(config: Config, io: BulkIo, opts: ExportOptions): Promise<number> {
  if (fs.existsSync(opts.dir) && (!fs.statSync(opts.dir).isDirectory() || fs.readdirSync(opts.dir).length)) {
    throw new Error(`${opts.dir} exists and is not an empty folder`);
  }
  const bulk = await connectBulk(config);
  try {
    const collection = await bulk.collection(opts.collection, false);
    fs.mkdirSync(opts.dir, { recursive: true });
    if (opts.photos) fs.mkdirSync(path.join(opts.dir, 'photos'));
    const personsOut = fs.openSync(path.join(opts.dir, 'persons.jsonl'), 'w');
    const facesOut = fs.openSync(path.join(opts.dir, 'faces.jsonl'), 'w');
    const written = new Set<string>();
    let faces = 0;
    let photos = 0;
    try {
      const limit = opts.photos ? 50 : BULK_PAGE_MAX;
      for (let after = 0; ; ) {
        const page = await bulk.exportPage(collection.id, after, limit, opts.photos);
        for (const p of page.persons) {
          if (written.has(p.uuid)) continue;
          written.add(p.uuid);
          fs.writeSync(personsOut, JSON.stringify(p) + '\n');
        }
        for (const f of page.faces) {
          const { photo, ...rest } = f;
          let photoFile: string | null = null;
          if (photo) {
            photoFile = `photos/${f.uuid}.${EXTENSIONS[photo.mimeType ?? ''] ?? 'bin'}`;
            fs.writeFileSync(path.join(opts.dir, photoFile), Buffer.from(photo.data, 'base64'));
            photos++;
          }
          fs.writeSync(facesOut, JSON.stringify({ ...rest, photo: photoFile }) + '\n');
          faces++;
        }
        if (page.faces.length < limit) break;
        after = page.lastId;
      }
    } finally {
      fs.closeSync(personsOut);
      fs.closeSync(facesOut);
    }
    // Written last: a folder without it is an export cut short, which import refuses to read as one.
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      collection: collection.name,
      exportedAt: new Date().toISOString(),
      persons: written.size,
      faces,
      photos: opts.photos,
    };
    fs.writeFileSync(path.join(opts.dir, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    io.out(`exported ${faces} faces of ${written.size} persons${opts.photos ? ` and ${photos} photos` : ''} from "${collection.name}" to ${opts.dir}`);
    return 0;
  } finally {
    await bulk.close();
  }
}
