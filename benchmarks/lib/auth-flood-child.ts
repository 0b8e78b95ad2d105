// The two clients of benchmarks/auth-flood.ts, each in a child process of its own (forked per job):
//   legit: a closed loop of recognitions (real photos, a valid key) from --from (127.0.0.2), every latency reported;
//   flood: autocannon as fast as answered (or at `rate`), bad keys on the CompreFace API from 127.0.0.1 (autocannon
//          cannot choose its source address; the legitimate client does).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';

export type Job =
  | { role: 'legit'; url: string; key: string; from: string; connections: number; seconds: number; probePaths: string[] }
  | { role: 'flood'; url: string; connections: number; seconds: number; rate?: number };

export interface LegitResult {
  okMs: number[];
  statuses: Record<string, number>;
  ms: number;
}

export interface FloodResult {
  statuses: Record<string, number>;
  ms: number;
}

function multipart(bytes: Buffer): { body: Buffer; type: string } {
  const boundary = `----bench${crypto.randomBytes(8).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="face.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

async function legit(job: Extract<Job, { role: 'legit' }>): Promise<LegitResult> {
  const bodies = job.probePaths.map((p) => multipart(fs.readFileSync(p)));
  const agent = new http.Agent({ keepAlive: true, localAddress: job.from, timeout: 3000 });
  const result: LegitResult = { okMs: [], statuses: {}, ms: 0 };
  const started = Date.now();
  const end = started + job.seconds * 1000;
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const b = bodies[i % bodies.length];
      const t0 = performance.now();
      const req = http.request(
        new URL('/api/v1/recognition/recognize', job.url),
        { method: 'POST', agent, headers: { 'x-api-key': job.key, 'content-type': b.type, 'content-length': String(b.body.length) }, timeout: 60_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = String(res.statusCode);
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
            if (res.statusCode === 200) result.okMs.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const status = `error ${err.code ?? err.message}`;
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        resolve();
      });
      req.end(b.body);
    });
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (Date.now() < end) await one(next++);
    }),
  );
  agent.destroy();
  result.ms = Date.now() - started;
  return result;
}

async function flood(job: Extract<Job, { role: 'flood' }>): Promise<FloodResult> {
  // Unknown keys of the right form (so each reaches the key lookup), a few different ones.
  const requests = Array.from({ length: 16 }, () => ({ method: 'GET', path: '/api/v1/recognition/subjects', headers: { 'x-api-key': crypto.randomUUID() } }));
  const statuses: Record<string, number> = {};
  const started = Date.now();
  const instance = autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    timeout: 30,
    ...(job.rate ? { overallRate: job.rate } : {}),
    requests,
    setupClient: (client) => client.on('response', (status) => (statuses[String(status)] = (statuses[String(status)] ?? 0) + 1)),
  });
  instance.on('reqError', () => (statuses.error = (statuses.error ?? 0) + 1));
  instance.on('timeout', () => (statuses.timeout = (statuses.timeout ?? 0) + 1));
  await instance;
  return { statuses, ms: Date.now() - started };
}

process.once('message', async (job: Job) => {
  try {
    const result = job.role === 'legit' ? await legit(job) : await flood(job);
    process.send!({ result });
  } catch (err) {
    process.send!({ error: (err as Error).stack ?? String(err) });
  }
});
