// How long a write on one faceserver instance takes to be found by searches on another (over one PostgreSQL,
// the in-memory index kept in step by LISTEN/NOTIFY): a photo is enrolled as a new CompreFace subject on the
// writer while the reader is asked, one search after another, for that photo's embedding (the embeddings
// endpoint: a search with no inference, a few milliseconds), until it names the subject. The delay is taken
// from the writer's answer (the write committed): at most the answer of the first search that found it
// (`ms`), at least the sending of the last search that did not (`afterMissMs`; negative when the reader
// already knew before the writer had answered). Used by test/cluster.test.ts and `npm run bench:http -- --instances ...`.
import crypto from 'node:crypto';

export interface PropagationTrial {
  writer: string;
  reader: string;
  /** From the writer's answer to the answer of the first search on the reader that found the face. */
  ms: number;
  /** From the writer's answer to the sending of the last search that did not find it (a lower bound). */
  afterMissMs: number;
  /** Searches the reader answered, the one that found it included. */
  polls: number;
}

function multipart(bytes: Buffer): { body: Uint8Array<ArrayBuffer>; type: string } {
  const boundary = `----faceserver${crypto.randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: new Uint8Array(Buffer.concat([head, bytes, tail])), type: `multipart/form-data; boundary=${boundary}` };
}

async function json(res: Response, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The photo's embedding, as the instance computes it (CompreFace's calculator plugin). */
export async function embeddingOf(url: string, key: string, photo: Buffer): Promise<number[]> {
  const { body, type } = multipart(photo);
  const r = await json(
    await fetch(`${url}/api/v1/recognition/recognize?face_plugins=calculator&limit=1&prediction_count=1`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': type }, body }),
    'recognize with calculator',
  );
  const result = r.result as { embedding?: number[] }[];
  if (!result?.[0]?.embedding) throw new Error('no embedding in the answer');
  return result[0].embedding;
}

/**
 * One trial per photo, writer and reader taking turns over `instances` (instance i writes, i+1 reads). Each
 * photo is enrolled as a subject of its own, `${prefix}-${i}`. Gives up on a trial after `timeoutMs`.
 */
export async function measurePropagation(opts: { instances: string[]; key: string; photos: Buffer[]; prefix?: string; timeoutMs?: number }): Promise<PropagationTrial[]> {
  const { instances, key } = opts;
  if (instances.length < 2) throw new Error('propagation needs two instances');
  const prefix = opts.prefix ?? `propagation-${crypto.randomBytes(4).toString('hex')}`;
  const trials: PropagationTrial[] = [];
  for (const [i, photo] of opts.photos.entries()) {
    const writer = instances[i % instances.length];
    const reader = instances[(i + 1) % instances.length];
    const subject = `${prefix}-${i}`;
    const embedding = await embeddingOf(reader, key, photo);
    const search = { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ embeddings: [embedding] }) };
    const { body, type } = multipart(photo);
    let written: number | undefined;
    const started = performance.now();
    const enrol = fetch(`${writer}/api/v1/recognition/faces?subject=${encodeURIComponent(subject)}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': type }, body })
      .then((res) => json(res, `enrol on ${writer}`))
      .then(() => (written = performance.now()));
    enrol.catch(() => {}); // awaited below
    let polls = 0;
    let lastMiss = -Infinity;
    let found: number;
    for (;;) {
      polls++;
      const sent = performance.now();
      const r = await json(await fetch(`${reader}/api/v1/recognition/embeddings/recognize?prediction_count=1`, search), `search on ${reader}`);
      const best = (r.result as { similarities: { subject: string; similarity: number }[] }[])[0]?.similarities[0];
      if (best?.subject === subject) {
        found = performance.now();
        break;
      }
      lastMiss = sent;
      if (performance.now() - started > (opts.timeoutMs ?? 30_000)) throw new Error(`${reader} did not find ${subject} within ${opts.timeoutMs ?? 30_000} ms of its enrolment on ${writer}`);
    }
    await enrol;
    const t0 = written!;
    trials.push({ writer, reader, ms: found - t0, afterMissMs: lastMiss - t0, polls });
  }
  return trials;
}

/** Median and largest delay (upper bounds), and the median lower bound. */
export function summarize(trials: PropagationTrial[]): { trials: number; medianMs: number; maxMs: number; medianAfterMissMs: number; meanPolls: number } {
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const ms = sorted(trials.map((t) => t.ms));
  const miss = sorted(trials.map((t) => Math.max(t.afterMissMs, -1e6)));
  const r = (x: number) => Number(x.toFixed(1));
  return {
    trials: ms.length,
    medianMs: r(ms[Math.floor(ms.length / 2)]),
    maxMs: r(ms[ms.length - 1]),
    medianAfterMissMs: r(miss[Math.floor(miss.length / 2)]),
    meanPolls: r(trials.reduce((s, t) => s + t.polls, 0) / trials.length),
  };
}
