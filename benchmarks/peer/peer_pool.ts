// A pool of peer pipelines on worker threads, the Node way to run onnxruntime-node on several cores.
// Jobs go to the worker with the fewest in flight.

import { Worker } from 'node:worker_threads';
import type { PeerOptions, PeerResult } from './peer_pipeline.js';

interface Pending { resolve: (r: PeerResult) => void; reject: (e: Error) => void }

class PeerWorker {
  readonly pending = new Map<number, Pending>();
  constructor(readonly thread: Worker) {
    thread.on('message', (msg: { id: number; result?: PeerResult; error?: string }) => {
      const job = this.pending.get(msg.id);
      if (!job) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) job.reject(new Error(msg.error));
      else job.resolve(msg.result!);
    });
  }
}

export class PeerPool {
  private nextId = 0;
  private constructor(private readonly workers: PeerWorker[]) {}

  static async open(threads: number, options: PeerOptions): Promise<PeerPool> {
    const workers = await Promise.all(Array.from({ length: threads }, () => startWorker(options)));
    return new PeerPool(workers);
  }

  analyze(image: Buffer): Promise<PeerResult> {
    const worker = this.workers.reduce((best, w) => (w.pending.size < best.pending.size ? w : best));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      worker.pending.set(id, { resolve, reject });
      worker.thread.postMessage({ id, image });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => {
      const exited = new Promise((resolve) => w.thread.once('exit', resolve));
      w.thread.postMessage('close');
      return exited;
    }));
  }
}

function startWorker(options: PeerOptions): Promise<PeerWorker> {
  // Node 20 does not apply the parent's `--import tsx` hooks to a worker's entry module: register them first.
  const entry = new URL('./peer_worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  const thread = new Worker(boot, { eval: true, workerData: options });
  return new Promise((resolve, reject) => {
    thread.once('error', reject);
    thread.once('message', (msg) => {
      if (msg === 'ready') resolve(new PeerWorker(thread));
      else reject(new Error(`peer worker did not start: ${String(msg)}`));
    });
  });
}
