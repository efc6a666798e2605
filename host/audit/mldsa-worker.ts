// host/audit/mldsa-worker.ts: ML-DSA-65 signing on a worker thread.
//
// @noble/post-quantum signs in pure JavaScript (about 12 ms for ML-DSA-65 on
// this class of machine); done on the run loop's thread for every audit
// checkpoint it would stall every service for that long. The worker takes
// (message, secret key) and answers with the signature; the loop goes on
// meanwhile. The worker is unref'd: it never keeps the process alive.
//
// Use: `const w = startMlDsaWorker(); setMlDsaSigner(w.sign)` (host/base/keys.ts).

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// Plain CommonJS for an eval'd worker; the module to load comes as data.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then(({ ml_dsa65 }) => {
  parentPort.on('message', ({ id, message, secretKey }) => {
    try {
      parentPort.postMessage({ id, signature: ml_dsa65.sign(message, secretKey) });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e && e.message || e) });
    }
  });
  parentPort.postMessage({ id: 0 });
}, (e) => parentPort.postMessage({ id: -1, error: String(e && e.message || e) }));
`;

export interface MlDsaWorker {
  sign(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

export function startMlDsaWorker(): MlDsaWorker {
  const module = pathToFileURL(createRequire(import.meta.url).resolve('@noble/post-quantum/ml-dsa.js')).href;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module } });
  let nextId = 1;
  let failure: string | null = null;
  const waiting = new Map<number, { resolve: (s: Uint8Array) => void; reject: (e: Error) => void }>();
  const failAll = (why: string) => {
    failure = why;
    for (const w of waiting.values()) w.reject(new Error(`ML-DSA-65 worker: ${why}`));
    waiting.clear();
  };
  worker.on('message', (m: { id: number; signature?: Uint8Array; error?: string }) => {
    if (m.id === -1) { failAll(m.error ?? 'failed to start'); return; }
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if (m.signature !== undefined) w.resolve(new Uint8Array(m.signature));
    else w.reject(new Error(`ML-DSA-65 worker: ${m.error}`));
  });
  worker.on('error', (e) => failAll(e.message));
  worker.on('exit', (code) => failAll(`exited (${code})`));
  worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
  return {
    sign(message, secretKey) {
      if (failure !== null) return Promise.reject(new Error(`ML-DSA-65 worker: ${failure}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        if (waiting.size === 1) worker.ref(); // keep the process alive while a signature is owed
        worker.postMessage({ id, message, secretKey });
      }).finally(() => { if (waiting.size === 0) worker.unref(); }) as Promise<Uint8Array>;
    },
    close() {
      void worker.terminate();
    },
  };
}
