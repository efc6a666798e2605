// hal/frames.ts: the wire frame protocol clients speak over TCP (and what
// the net device carries): framing, statuses, and the authenticated binary
// protocol's auth frame.
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

// Every frame: u32 body_len, then body_len bytes.
// Request body: u32 request_id | u16 flags (0) | u8 name_len | u8 reserved (0) | name | payload
// Reply body:   u32 request_id | u16 status (FRAME_*) | u16 reserved (0) | payload
// An error reply carries a UTF-8 message as its payload.
export const FRAME_LEN_BYTES = 4;
export const FRAME_REQUEST_HEADER_BYTES = 8;
export const FRAME_REPLY_HEADER_BYTES = 8;
export const FRAME_BODY_BYTES_MAX = 1048576; // 1 MiB: a ledger batch of 8189 128-byte events + header
export const SERVICE_NAME_BYTES_MAX = 32;

export const FRAME_OK = 0;
export const FRAME_E_UNKNOWN_SERVICE = 1;
export const FRAME_E_TOO_LARGE = 2;
export const FRAME_E_MALFORMED = 3;
export const FRAME_E_DENIED = 4;
export const FRAME_E_BUSY = 5; // a pool or queue is full; retry later, nothing was applied
export const FRAME_E_SERVICE = 6; // the service answered with an error (payload says which)
export const FRAME_E_UNAVAILABLE = 7; // shutting down, or the service has failed
export const FRAME_E_NO_REPLY = 8; // the service finished without replying
export const FRAME_E_STORAGE = 9; // the command log could not be made durable; nothing was applied
export const FRAME_E_FAULT = 10; // the service trapped or ran out of fuel handling this request; it was aborted (hal/services.ts)

// ---- authenticated binary protocol ----
// A request frame with FRAME_F_AUTH in its flags is handled by the host and
// never reaches the kernel: its name is empty and its payload is an API key
// (what `qenex keys create` prints). The host keeps only the key's SHA-256
// for the connection and answers FRAME_OK with an empty payload; the next
// frames to the gateway service carry that hash, so the gateway service
// decides (as for HTTP's Authorization header) whether the key exists, what
// its role allows and which ledgers it may touch.
// A frame to the gateway service on a binary connection carries a ledger
// request (operation 1..6 in its first byte); the host adds the gateway
// request header (route, key hash, source address) itself, so a client can
// never write that header, and turns the gateway's reply back into a frame:
// the ledger's reply with FRAME_OK, or an error status with a message.
export const FRAME_F_AUTH = 1;
// A read (FRAME_F_READ in a request's flags): answered from the state after
// every entry applied so far, without a log entry and without waiting for a
// flush, by a service with capability "read" (its qx_read, which may change
// nothing). Every write acknowledged before the read arrived is in that
// state, so reads stay linearizable. A service without the capability
// answers FRAME_E_DENIED; a request the service does not take as a read
// (a create, say) is its FRAME_E_SERVICE error.
export const FRAME_F_READ = 2;
export const FRAME_AUTH_KEY_BYTES_MAX = 256;
