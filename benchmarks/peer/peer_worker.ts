// One worker thread of the peer pool: its own onnxruntime sessions, one image at a time (onnxruntime-node's
// run() is synchronous on the calling thread, so parallelism in Node means worker threads).

import { parentPort, workerData } from 'node:worker_threads';
import { PeerPipeline, type PeerOptions } from './peer_pipeline.js';

interface Job { id: number; image: Uint8Array }

const pipeline = await PeerPipeline.open(workerData as PeerOptions);
parentPort!.on('message', async (job: Job | 'close') => {
  if (job === 'close') {
    await pipeline.close();
    parentPort!.close();
    return;
  }
  try {
    const result = await pipeline.analyze(Buffer.from(job.image.buffer, job.image.byteOffset, job.image.byteLength));
    parentPort!.postMessage({ id: job.id, result });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: String(e) });
  }
});
parentPort!.postMessage('ready');
