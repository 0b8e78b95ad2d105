// The compiled build (issue 16, item 1): `npm start` and the `faceserver` command run dist/ (tsc output) with
// plain node, no run-time transpiler. This spawns `node dist/main.js` as `npm start` does, on both stores,
// makes a key with the compiled bin/faceserver beside it, enrols and recognizes real photos over HTTP, and
// stops it with SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Api, identificationSet, photo, requireFacedata } from './support/compreface';
import { spawnCli, cliEnv } from './support/cli';
import { REPO_ROOT, removeTempDir, tempDir } from './support/server';
import { forEachStore } from './support/stores';

const DIST = path.join(REPO_ROOT, 'dist');

/** dist/ as `npm start` would leave it: rebuilt when a source is newer (a no-op when up to date). */
function buildIfStale(): void {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-server.mjs'), '--if-stale'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `build-server failed:\n${r.stderr}`);
}

interface Spawned {
  child: ChildProcess;
  url: string;
  logs: string[];
  exited: Promise<number | null>;
}

/**
 * A production install's layout in a temp folder: what `npm run release` packs (dist/, bin/, migrations, assets,
 * the lock file) and, in node_modules/, only the packages `npm ci --omit=dev` installs (the lock file's entries
 * not marked dev), linked from this checkout's; no src/, no TypeScript, no tsx. The built addon, the console
 * bundle and the models are linked in, as the install's own build and bin/setup would make them.
 */
function productionLayout(): { dir: string; packages: number } {
  const dir = tempDir('faceserver-production-');
  fs.cpSync(DIST, path.join(dir, 'dist'), { recursive: true });
  for (const f of ['bin', 'package.json', 'package-lock.json', 'models.sha256', 'scripts/build-server.mjs']) {
    fs.cpSync(path.join(REPO_ROOT, f), path.join(dir, f), { recursive: true });
  }
  for (const f of ['migrations', 'assets', 'models', 'build/Release', 'build/console']) {
    if (!fs.existsSync(path.join(REPO_ROOT, f))) continue;
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, f)), path.join(dir, f));
  }
  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  let packages = 0;
  for (const [key, entry] of Object.entries(lock.packages)) {
    // Top-level packages only (nested ones come with their parent's folder), and only those installed here.
    if (!key.startsWith('node_modules/') || key.slice('node_modules/'.length).includes('node_modules/') || entry.dev) continue;
    const from = path.join(REPO_ROOT, key);
    if (!fs.existsSync(from)) continue; // another platform's optional binary
    fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    fs.symlinkSync(fs.realpathSync(from), path.join(dir, key));
    packages++;
  }
  return { dir, packages };
}

/** `node dist/main.js` with only `env` (and PATH) as settings; resolves once it logs its URL. */
function startCompiled(env: Record<string, string>, cwd = REPO_ROOT): Promise<Spawned> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', WORKERS: '2', MODELS_DIR: path.join(cwd, 'models'), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "listening" line in 120 s:\n${logs.join('\n')}`)), 120_000);
    const onData = (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'listening' && entry.url) {
            clearTimeout(timer);
            resolve({ child, url: entry.url, logs, exited });
          }
        } catch {
          // not a log line (a crash's stack trace): kept in logs for the failure message
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dist/main.js exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
}

describe('compiled build (dist/)', function () {
  this.timeout(180_000);

  before(function () {
    this.timeout(180_000);
    buildIfStale();
  });

  it('runs without tsx or typescript: both are development dependencies, start and the bin run dist/', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dev of ['tsx', 'typescript']) {
      assert.ok(pkg.devDependencies[dev], `${dev} is a development dependency`);
      assert.equal(pkg.dependencies[dev], undefined, `${dev} is not a run-time dependency`);
    }
    assert.match(pkg.scripts.start, /exec node dist\/main\.js$/);
    assert.doesNotMatch(pkg.scripts.start, /tsx|\.ts\b/);
    const bin = fs.readFileSync(path.join(REPO_ROOT, 'bin/faceserver'), 'utf8');
    assert.match(bin, /dist\/cli\/main\.js/);
    assert.doesNotMatch(bin, /tsx/);
  });

  it('every relative import in dist/ names a file that exists (Node ESM resolves no extensions)', () => {
    let files = 0;
    let imports = 0;
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.js')) {
          files++;
          const text = fs.readFileSync(p, 'utf8');
          for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
            imports++;
            assert.ok(fs.existsSync(path.resolve(path.dirname(p), m[1])), `${path.relative(REPO_ROOT, p)} imports ${m[1]}, which is not there`);
          }
        }
      }
    };
    walk(DIST);
    assert.ok(files >= 100, `${files} compiled files`);
    assert.ok(imports >= 200, `${imports} relative imports checked`);
  });

  it('runs from a production layout: only the run-time packages, no sources, no TypeScript or tsx', async function () {
    requireFacedata(this);
    const { dir, packages } = productionLayout();
    let server: Spawned | undefined;
    const dataDir = tempDir('faceserver-production-data-');
    try {
      assert.ok(packages > 50, `${packages} run-time packages`);
      for (const dev of ['typescript', 'tsx', 'esbuild', 'mocha']) assert.ok(!fs.existsSync(path.join(dir, 'node_modules', dev)), `${dev} is not there`);
      assert.ok(!fs.existsSync(path.join(dir, 'src')));
      // `npm start`'s first step does nothing without sources.
      const check = spawnSync(process.execPath, ['scripts/build-server.mjs', '--if-stale'], { cwd: dir, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      const env = { DATA_DIR: dataDir, LOG_LEVEL: 'info' };
      server = await startCompiled(env, dir);
      const made = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(dir, 'bin/faceserver'), 'keys', 'create', '--service', 'detection'], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code, out, err }));
      });
      assert.equal(made.code, 0, made.err);
      assert.match(made.err, /through the server at http/, 'the compiled CLI found the running server');
      const key = made.out.trim().split('\n').at(-1)!;
      const { people } = identificationSet(1);
      const r = await new Api(server.url, key).post('/detection/detect?face_plugins=age,gender', { files: { file: photo(people[0].gallery) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result.length, 1);
      assert.ok(r.body.result[0].age && r.body.result[0].gender);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    } finally {
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
      removeTempDir(dataDir);
      removeTempDir(dir);
    }
  });

  forEachStore((_name, store) => {
    let server: Spawned | undefined;

    after(async () => {
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    });

    it('node dist/main.js serves: health, a key from the compiled CLI, enrol + recognize real photos, SIGTERM', async function () {
      requireFacedata(this);
      const env = cliEnv(store.location, { LOG_LEVEL: 'info' });
      server = await startCompiled(env);
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string };
      assert.equal(ready.status, 'ready');

      // The compiled bin beside the running server (it reaches it through DATA_DIR/server.json).
      const made = await spawnCli(cliEnv(store.location), 'keys', 'create', '--service', 'recognition');
      assert.equal(made.code, 0, made.err.join('\n'));
      const key = made.out.at(-1)!;
      assert.match(key, /^[0-9a-f-]{36}$/);

      const api = new Api(server.url, key);
      const { people } = identificationSet(3);
      for (const p of people) await api.enrol(p.name, photo(p.gallery));
      for (const p of people) {
        const r = await api.post('/recognition/recognize?limit=1', { files: { file: photo(p.probes[0]) } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.result[0].subjects[0].subject, p.name);
      }

      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      const messages = server.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
      assert.ok(messages.includes('stopped'), messages.join(', '));
    });
  });
});
