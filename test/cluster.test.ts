// Several instances over one PostgreSQL behind nginx, as scripts/cluster.sh starts them: a key made through one
// instance's admin API works on every instance and through the balancer; a face enrolled on one instance is
// found by searches on the other within a measured delay (LISTEN/NOTIFY, src/face-index/); the balancer spreads
// requests over both and never forwards the admin API; failed key attempts are counted per client behind it
// (the instances trust nginx: TRUSTED_PROXIES); stop ends every process. PostgreSQL only (the embedded
// store belongs to one process); real photos from ../shared/facedata (skipped with a message when absent).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { measurePropagation, summarize } from '../benchmarks/lib/propagation';
import { cliEnv, runCli } from './support/cli';
import { createTempDatabase, requirePostgres, type TempDatabase } from './support/postgres';
import { REPO_ROOT, removeTempDir, tempDir } from './support/server';

const FACEDATA = process.env.FS_FACEDATA ?? path.resolve(REPO_ROOT, '../shared/facedata');
const haveFacedata = fs.existsSync(path.join(FACEDATA, 'MANIFEST.md'));
const haveNginx = fs.existsSync('/usr/sbin/nginx');
const run = promisify(execFile);

/** A TCP port free on loopback now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Two consecutive free ports (instance 1 and 2 at base+1, base+2). */
async function freeBase(): Promise<number> {
  for (;;) {
    const a = await freePort();
    const ok = await Promise.all([a + 1, a + 2].map((p) => new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) return a;
  }
}

/** A GET from a chosen loopback address (127.0.0.2: a client of its own), with its status and headers. */
function getFrom(url: string, from: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers, localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('several instances behind nginx (scripts/cluster.sh)', function () {
  this.timeout(180_000);
  let db: TempDatabase | undefined;
  let dir: string | undefined;
  let env: NodeJS.ProcessEnv;
  let balancer: string;
  let instances: string[];
  let pids: number[] = [];
  const script = path.join(REPO_ROOT, 'scripts/cluster.sh');

  before(async function () {
    const adminUrl = requirePostgres(this);
    if (!haveFacedata || !haveNginx) {
      console.log(`    (skipped: ${!haveNginx ? 'nginx is not installed (bin/setup installs it)' : `${FACEDATA} is absent`})`);
      this.skip();
    }
    db = await createTempDatabase(adminUrl);
    dir = tempDir('faceserver-cluster-');
    const base = await freeBase();
    const port = await freePort();
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: db.url,
      CLUSTER_DIR: dir,
      CLUSTER_PORT: String(port),
      CLUSTER_BASE_PORT: String(base),
      WORKERS: '1',
      LOG_LEVEL: 'warn',
      MODELS_DIR: path.join(REPO_ROOT, 'models'),
    };
    const started = await run(script, ['start', '2'], { env });
    assert.match(started.stdout, /2 instance\(s\) on/);
    balancer = `http://127.0.0.1:${port}`;
    instances = [1, 2].map((i) => `http://127.0.0.1:${base + i}`);
    pids = [1, 2].map((i) => Number(fs.readFileSync(path.join(dir!, `instance-${i}.pid`), 'utf8')));
  });

  after(async function () {
    if (dir) {
      await run(script, ['stop'], { env }).catch((err: unknown) => console.log(`    cluster.sh stop: ${String(err)}`));
      removeTempDir(dir);
    }
    await db?.drop();
  });

  it('serves through the balancer, spreads over both, propagates writes between instances, and stops', async function () {
    const status = await run(script, ['status'], { env });
    assert.match(status.stdout, /instance 1: ready/);
    assert.match(status.stdout, /instance 2: ready/);
    assert.match(status.stdout, /balancer: ready/);

    // A key made through instance 1's admin API (its DATA_DIR's server.json) is a row in the shared database.
    const made = await runCli(cliEnv({ dataDir: path.join(dir!, 'instance-1'), databaseUrl: db!.url }), 'keys', 'create', '--service', 'recognition');
    assert.equal(made.code, 0, made.err.join('\n'));
    assert.match(made.err.join('\n'), new RegExp(`through the server at ${instances[0]}`));
    const key = made.out[0];

    // The admin API and the metrics are never forwarded (through a proxy every caller is loopback); each
    // instance answers its own scrape. All instances share one admin secret (the console signs in with it).
    assert.equal((await fetch(`${balancer}/admin/v1/status`)).status, 404);
    assert.equal((await fetch(`${balancer}/metrics`)).status, 404);
    for (const u of instances) assert.equal((await fetch(`${u}/metrics`)).status, 200);
    const secrets = [1, 2].map((i) => fs.readFileSync(path.join(dir!, `instance-${i}`, 'admin-secret'), 'utf8'));
    assert.equal(secrets[0], secrets[1]);
    assert.ok(secrets[0].trim().length >= 40);
    assert.equal(fs.statSync(path.join(dir!, 'instance-2', 'admin-secret')).mode & 0o077, 0);

    // Writes on one instance, found by searches on the other.
    const lfw = (p: string) => fs.readFileSync(path.join(FACEDATA, 'lfw', p));
    const photos = ['Abel_Pacheco/Abel_Pacheco_0001.jpg', 'Adel_Al-Jubeir/Adel_Al-Jubeir_0001.jpg', 'Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg', 'Angela_Bassett/Angela_Bassett_0001.jpg'].map(lfw);
    const trials = await measurePropagation({ instances, key, photos, prefix: 'person', timeoutMs: 15_000 });
    const summary = summarize(trials);
    console.log(`    propagation between instances: ${JSON.stringify(summary)}`);
    assert.ok(trials.every((t) => t.writer !== t.reader));
    // LISTEN/NOTIFY carries the change at commit; the 10 s version check would be the fallback, far above this.
    assert.ok(summary.maxMs < 2000, JSON.stringify(trials));

    // Failed key attempts through the balancer are counted per client: nginx names each in X-Forwarded-For and
    // the instances trust it (TRUSTED_PROXIES=127.0.0.1). A client at 127.0.0.2 fails until both instances
    // block it (AUTH_FAILURES_PER_ADDRESS, 20, counted in PostgreSQL for both together: 20 failures, plus the one
    // that tells the second instance; a header of its own changes nothing), and the 127.0.0.1 clients below are
    // still served: were every client counted as nginx's 127.0.0.1, they would be refused too.
    const refusedBy = new Set<string>();
    let failures = 0;
    for (let n = 0; n < 100 && refusedBy.size < 2; n++) {
      const a = await getFrom(`${balancer}/api/v1/recognition/subjects`, '127.0.0.2', { 'x-api-key': '00000000-0000-4000-8000-000000000000', 'x-forwarded-for': '198.51.100.1' });
      if (a.status === 429) refusedBy.add(String(a.headers['x-faceserver-instance']));
      else assert.equal(a.status, 404, `attempt ${n + 1}: an unknown key`);
      if (a.status === 404) failures++;
    }
    assert.equal(refusedBy.size, 2, 'both instances block 127.0.0.2');
    assert.ok(failures >= 20 && failures <= 21, `${failures} failures answered before both instances refused (20 shared, at most one more)`);
    assert.equal((await getFrom(`${balancer}/api/v1/recognition/subjects`, '127.0.0.2', { 'x-api-key': key, 'x-forwarded-for': '127.0.0.1' })).status, 429);

    // Through the balancer: requests land on both instances, and each finds the person on either.
    const probe = lfw('Angela_Bassett/Angela_Bassett_0002.jpg');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(probe)], { type: 'image/jpeg' }), 'probe.jpg');
      const res = await fetch(`${balancer}/api/v1/recognition/recognize?prediction_count=1`, { method: 'POST', headers: { 'x-api-key': key }, body: form });
      assert.equal(res.status, 200);
      seen.add(res.headers.get('x-faceserver-instance') ?? '');
      const body = (await res.json()) as { result: { subjects: { subject: string }[] }[] };
      assert.equal(body.result[0].subjects[0].subject, 'person-3');
    }
    assert.deepEqual([...seen].sort(), instances.map((u) => u.replace('http://', '')).sort());

    const stopped = await run(script, ['stop'], { env });
    assert.match(stopped.stdout, /stopped/);
    for (const pid of pids) assert.ok(!pidAlive(pid), `instance pid ${pid} still runs`);
    assert.ok(!fs.existsSync(path.join(dir!, 'nginx.pid')));
    await assert.rejects(fetch(`${balancer}/healthz`));
  });
});
