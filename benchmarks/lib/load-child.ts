// The load generator of the fault benchmarks (forked by benchmarks/lib/traffic.ts): runs each job it is sent
// with autocannon and reports every answer's status and latency, interval by interval, over IPC. Exits when
// the parent disconnects.
import fs from 'node:fs';
import crypto from 'node:crypto';
import http from 'node:http';
import autocannon, { type Request } from 'autocannon';
import type { Answer, Interval, LoadJob } from './traffic';

function multipart(field: string, bytes: Buffer): { body: Buffer; type: string } {
  const boundary = `----bench${crypto.randomBytes(8).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="face.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

interface Context {
  imageId?: string;
}

// A parent that went away mid-job (Ctrl-C, a failed run) ends the child too, rather than its next report failing.
process.on('disconnect', () => process.exit(0));

/** Set by the parent's stop() (LoadGenerator.stop): the open loop sends no more requests. */
let stopRequested = false;

process.on('message', async (message: (LoadJob & { probePaths: string[] }) | { stop: true }) => {
  if ('stop' in message) {
    stopRequested = true;
    return;
  }
  const job = message;
  stopRequested = false;
  try {
    const bodies = job.probePaths.map((p) => multipart('file', fs.readFileSync(p)));
    const recognize = (i: number) => ({
      method: 'POST' as const,
      path: '/api/v1/recognition/recognize',
      headers: { 'x-api-key': job.key, 'content-type': bodies[i % bodies.length].type },
      body: bodies[i % bodies.length].body,
    });
    let requests;
    if (job.mix === 'recognize') requests = bodies.map((_, i) => recognize(i));
    else {
      // Enrol one of the probes under one subject, and delete that face two requests later.
      const enrolBody = bodies[0];
      requests = [
        recognize(1),
        recognize(2),
        recognize(3),
        {
          method: 'POST' as const,
          path: '/api/v1/recognition/faces?subject=soak-churn',
          headers: { 'x-api-key': job.key, 'content-type': enrolBody.type },
          body: enrolBody.body,
          onResponse: (status: number, body: string, context: Context) => {
            context.imageId = status === 201 ? (JSON.parse(body) as { image_id: string }).image_id : undefined;
          },
        },
        recognize(4),
        {
          method: 'DELETE' as const,
          path: '/api/v1/recognition/faces/none',
          headers: { 'x-api-key': job.key },
          setupRequest: (req: { path: string }, context: Context) => {
            if (!context.imageId) return { ...recognize(5) }; // the enrolment failed: nothing to delete
            const r = { ...req, path: `/api/v1/recognition/faces/${context.imageId}` };
            context.imageId = undefined;
            return r;
          },
        },
      ];
    }
    const empty = (): Interval => ({ ms: 0, statuses: {}, ok: [], busy: [], okByKind: {}, ...(job.answers ? { answers: [] } : {}) });
    let interval = empty();
    let started = Date.now();
    const flush = () => {
      interval.ms = Date.now() - started;
      process.send!({ kind: 'interval', interval });
      interval = empty();
      started = Date.now();
    };
    const timer = setInterval(flush, job.reportEveryMs);
    const count = (status: string) => (interval.statuses[status] = (interval.statuses[status] ?? 0) + 1);
    if (job.overallRate && job.openLoop) {
      await openLoop(job, requests as Request[], (status, ms, kind, answer) => {
        count(status);
        if (answer) interval.answers?.push(answer);
        if (/^2\d\d$/.test(status)) {
          interval.ok.push(ms);
          (interval.okByKind[kind] ??= []).push(ms);
        }
        else if (status === '503') interval.busy.push(ms);
      });
      clearInterval(timer);
      flush();
      process.send!({ kind: 'done' });
      return;
    }
    const instance = autocannon({
      url: job.url,
      connections: job.connections,
      duration: job.seconds,
      timeout: 60,
      ...(job.overallRate ? { overallRate: job.overallRate } : {}),
      requests: requests as Request[],
      setupClient: (client) => {
        client.on('response', (status, _bytes, ms) => {
          count(String(status));
          if (status >= 200 && status < 300) {
            interval.ok.push(ms);
            if (job.mix === 'recognize') (interval.okByKind.recognize ??= []).push(ms);
          } else if (status === 503) interval.busy.push(ms);
        });
      },
    });
    instance.on('reqError', () => count('error'));
    instance.on('timeout', () => count('timeout'));
    await instance;
    clearInterval(timer);
    flush();
    process.send!({ kind: 'done' });
  } catch (err) {
    process.send!({ kind: 'done', error: (err as Error).stack ?? String(err) });
  }
});

/**
 * An open loop: one request every 1/rate seconds whatever the answers (autocannon's rates are closed loops per
 * connection, at least one request per second each, so a slow server would be offered less than asked).
 */
async function openLoop(job: LoadJob, requests: Request[], record: (status: string, ms: number, kind: string, answer?: Answer) => void): Promise<void> {
  // Idle sockets are dropped after 3 s, before the server's keep-alive timeout (5 s) can close one just as a
  // request is sent on it (a client-side race that shows as ECONNRESET); requests themselves wait up to 60 s.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, timeout: 3000 });
  const inFlight = new Set<Promise<void>>();
  const end = Date.now() + job.seconds * 1000;
  const gapMs = 1000 / job.overallRate!;
  const enrolled: string[] = []; // image ids of the mix's enrolments, deleted in turn
  // A delete's turn can come while its enrolment is still queued (a slow second): it is owed, and paid at a later
  // recognize turn once an enrolment has answered, so the mix and the number of faces stored stay as designed.
  const deleteTemplate = requests.find((r) => r.method === 'DELETE');
  let deletesOwed = 0;
  let next = Date.now();
  for (let i = 0; Date.now() < end && !stopRequested; i++) {
    let r = requests[i % requests.length];
    const isRecognize = r.method === 'POST' && !r.path!.startsWith('/api/v1/recognition/faces');
    if (r.method === 'DELETE' || (isRecognize && deletesOwed > 0 && enrolled.length > 0)) {
      if (r.method === 'DELETE') deletesOwed++;
      const id = enrolled.shift();
      if (id) deletesOwed--;
      r = id ? { ...deleteTemplate!, path: `/api/v1/recognition/faces/${id}` } : requests[0];
    }
    const enrol = r.method === 'POST' && r.path!.startsWith('/api/v1/recognition/faces');
    const kind = r.method === 'DELETE' ? 'delete' : enrol ? 'enrol' : 'recognize';
    const t0 = performance.now();
    const at = Date.now();
    const p = new Promise<void>((resolve) => {
      const req = http.request(new URL(r.path!, job.url), { method: r.method, headers: { ...r.headers, 'content-length': String(r.body?.length ?? 0) }, agent, timeout: 60_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const answer = job.answers ? describeAnswer(at, ms, kind, r.path!, res, text) : undefined;
          record(String(res.statusCode), ms, kind, answer);
          if (enrol && res.statusCode === 201) enrolled.push((JSON.parse(text) as { image_id: string }).image_id);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const status = err.message === 'timeout' ? 'timeout' : `error ${err.code ?? err.message}`;
        const ms = performance.now() - t0;
        record(status, ms, kind, job.answers ? { at, ms, kind, status } : undefined);
        resolve();
      });
      req.end(r.body);
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
    next += gapMs;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(inFlight);
  agent.destroy();
}

/** What bench:faults needs of an answer: the face enrolled or deleted, the faces recognised, a refusal's shape. */
function describeAnswer(at: number, ms: number, kind: string, path: string, res: http.IncomingMessage, text: string): Answer {
  const status = res.statusCode!;
  const a: Answer = { at, ms, kind, status: String(status) };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (an error page): body stays undefined
  }
  if (status >= 200 && status < 300) {
    if (kind === 'enrol') a.imageId = (body as { image_id: string }).image_id;
    else if (kind === 'delete') a.imageId = path.slice(path.lastIndexOf('/') + 1);
    else a.faces = (body as { result?: unknown[] }).result?.length ?? 0;
    return a;
  }
  a.retryAfter = res.headers['retry-after'];
  const b = body as { code?: unknown; message?: unknown } | undefined;
  a.compreFace503 =
    status === 503 && typeof b === 'object' && b !== null && Object.keys(b).sort().join() === 'code,message' && b.code === 41 && typeof b.message === 'string';
  return a;
}
