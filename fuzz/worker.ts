// fuzz/worker.ts: the entry of the instrumented bundle (fuzz/build.ts). A
// worker thread of fuzz/main.ts runs one target's loop (fuzz/engine.ts)
// and posts its progress and any finding to the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { fuzzLoop, type Progress } from './engine.ts';
import { TARGETS } from './targets/index.ts';

export interface WorkerData {
  target: string;
  corpusDir: string;
  queueDir: string;
  execs: number;
  seconds: number;
  seed: number;
  shared: SharedArrayBuffer;
  writeCorpus: boolean;
  ownSites: number[];
}

if (parentPort === null) throw new Error('fuzz/worker.ts runs as a worker of fuzz/main.ts');
const d = workerData as WorkerData;
const target = TARGETS.find((t) => t.name === d.target);
if (target === undefined) throw new Error(`no fuzz target ${d.target}`);
const port = parentPort;
await fuzzLoop({
  target, corpusDir: d.corpusDir, queueDir: d.queueDir, execs: d.execs, seconds: d.seconds, seed: d.seed,
  shared: d.shared, writeCorpus: d.writeCorpus, ownSites: d.ownSites,
  progress: (p: Progress) => port.postMessage(p),
});
