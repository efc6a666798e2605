// hal/devices/net.ts: the net device (DEV_NET): frame bodies in, replies
// out, connections closed (drivers/net, host/devices/net.ts). What a frame
// holds is hal/frames.ts.
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

export const OP_NET_RX_BUF = 1; // SQ: an empty receive buffer (addr/cap) for the host to fill
export const OP_NET_TX = 2; // SQ: send len bytes at addr to connection arg; completes with the same tag
export const OP_NET_CLOSE = 3; // SQ: close connection arg after what was already sent
export const OP_NET_RX = 1; // CQ: a frame body (without its length prefix) from connection arg, in buffer tag
export const OP_NET_TX_DONE = 2; // CQ: the tx buffer with this tag is free again
export const OP_NET_CLOSED = 3; // CQ: connection arg is gone; pending replies to it are dropped
