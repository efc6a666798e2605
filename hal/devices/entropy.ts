// hal/devices/entropy.ts: the entropy device (DEV_ENTROPY): random bytes the
// kernel logs before any service sees them (drivers/entropy,
// host/devices/entropy.ts). The clock (DEV_CLOCK) has no ring: it is the
// REG_CLOCK_NS register (hal/rings.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

export const OP_ENT_READ = 1; // fill addr/len with random bytes
export const ENTROPY_BYTES = 32;
