// hal/devices/console.ts: the console device (DEV_CONSOLE): the kernel's
// JSON lines for the host to print (drivers/console, host/devices/console.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

export const OP_CON_WRITE = 1; // addr/len: one UTF-8 line (a JSON object)
export const CONSOLE_LINE_BYTES = 512;
