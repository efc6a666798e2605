// One small seeded PRNG for tests that pick random inputs (mulberry32): the
// same seed gives the same run, so a failing seed can be printed and rerun.
// (The simulator has its own 64-bit source: host/sim/prng.ts.)

/** A function returning the next float in [0, 1) for `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
