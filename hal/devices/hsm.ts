// hal/devices/hsm.ts: the HSM device (DEV_HSM): key operations for services
// granted a key label, and the kernel's checkpoint signatures (drivers/hsm,
// kernel/hsm.ts, host/hsm/).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
//
// A service whose manifest grants it a key label (services[].hsm_keys) asks
// for a key operation with syscall hsm(op, ptr, len) (services/sdk/ABI.md).
// The kernel checks the grant (a label not granted: SYS_E_DENIED, counted
// and printed), copies the request into one of its HSM buffers and pushes
// one SQ descriptor: op OP_HSM_*, tag the buffer, addr/len the request, cap
// the most result bytes the service can take, arg the request id (the
// syscall's positive result). The host performs it off the JS thread, writes
// the result over the request (at most cap bytes) and completes with the
// same tag: status HSM_OK and len = result bytes, or a negative HSM_E_* with
// len bytes of UTF-8 text saying why. HSM results are not deterministic
// (ECDSA is randomised; on replay there may be no HSM), so the kernel logs
// each result (an HSM entry in the command log) and only when that is
// durable delivers it, as MSG_KIND_REPLY from SENDER_KERNEL with payload
//   u32 request id | i32 status (HSM_OK or HSM_E_*) | result or error text.
// Replay delivers the logged result and never asks the host. A request whose
// result was not logged before a crash is answered HSM_E_INTERRUPTED after
// recovery (none of these operations changes the token, so a retry is safe).
// Request (little-endian), what the service passes to hsm():
//   +0 u16 label_len   1..HSM_LABEL_BYTES_MAX (0 for OP_HSM_RANDOM)
//   +2 u16 reserved    0
//   +4 label           printable ASCII (0x21..0x7e), as granted
//   then by op:                                            result:
//   OP_HSM_SIGN        data                                96-byte ECDSA P-384 r||s over SHA-384(data)
//   OP_HSM_VERIFY      u32 sig_len | sig | data            1 byte: 1 valid, 0 not
//   OP_HSM_ENCRYPT     iv[12] | u32 aad_len | aad | plain  ciphertext || 16-byte tag (AES-256-GCM)
//   OP_HSM_DECRYPT     iv[12] | u32 aad_len | aad | sealed plain (HSM_E_AUTH when the tag fails)
//   OP_HSM_RANDOM      u32 count (1..HSM_BUFFER_BYTES)     count bytes from the HSM's generator
//   OP_HSM_PUBLIC_KEY  nothing                             97-byte uncompressed P-384 point
// OP_HSM_RANDOM names no key: it needs capability "hsm_random" instead.
export const OP_HSM_SIGN = 1;
export const OP_HSM_VERIFY = 2;
export const OP_HSM_ENCRYPT = 3;
export const OP_HSM_DECRYPT = 4;
export const OP_HSM_RANDOM = 5;
export const OP_HSM_PUBLIC_KEY = 6;
// The kernel's own request (never a service's): sign an audit checkpoint
// (kernel/audit.ts). addr/len: the 48-byte checkpoint body; cap: the
// kernel's checkpoint buffer. Result: body ‖ signature block
// (host/audit/checkpoint.ts), which the kernel logs as a checkpoint entry;
// a negative status (no signer, signing failed) skips that checkpoint.
export const OP_HSM_CHECKPOINT = 7;
export const HSM_REQUEST_HEADER_BYTES = 4;
export const HSM_REPLY_HEADER_BYTES = 8;
export const HSM_LABEL_BYTES_MAX = 64;
export const HSM_GRANTS_PER_SERVICE_MAX = 16; // labels in one service's hsm_keys
export const HSM_BUFFER_BYTES = 16384; // the largest request, and the largest result, of one operation
export const HSM_IV_BYTES = 12;
export const HSM_TAG_BYTES = 16;
export const HSM_SIGNATURE_BYTES = 96;
export const HSM_PUBLIC_KEY_BYTES = 97;
export const HSM_OK = 0;
export const HSM_E_FAILED = -1; // the HSM or its module failed; the text says how
export const HSM_E_NO_KEY = -2; // the token has no key of the needed type with that label
export const HSM_E_AUTH = -3; // decrypt: the tag did not verify (wrong key, IV, AAD or bytes)
export const HSM_E_INTERRUPTED = -4; // the machine stopped before the result was logged; retry
export const HSM_E_UNAVAILABLE = -5; // the host has no HSM open
