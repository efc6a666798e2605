// hal/liveload.ts: live service load, upgrade and unload (kernel/liveload.ts,
// host/liveload.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
//
// A service with capability "system" (the gateway, for admins) sends a
// service command to peer SYSTEM_PEER with send(). The message is logged
// input's consequence, so replay sends it again. The kernel queues it,
// checks it (name, table, capabilities) and, when it is valid, returns
// ACT_SERVICE from kernel_run with:
//   REG_DISPATCH_SERVICE  the service index (a new one for SVC_OP_LOAD)
//   REG_DISPATCH_KIND     SVC_OP_*
//   REG_DISPATCH_ADDR/LEN the whole command in kernel memory (layout below)
//   REG_DISPATCH_SENDER   the service's version before the command (0 for a load)
//   REG_DISPATCH_TIME_*   the logical time of the command
// and dispatch_fuel() the fuel for qx_init / qx_migrate. The host verifies
// the module's signature, prepares and instantiates it, runs qx_init (load)
// or hands the old instance's state over and runs qx_migrate (upgrade), and
// calls kernel export service_action_done(SVC_OK or SVC_E_*, inbox bytes)
// before it calls kernel_run again; nothing else runs in between, so
// messages that arrive meanwhile wait in the kernel's queues. The kernel
// then commits (or undoes) the table change and replies to the sender:
// MSG_KIND_REPLY from SENDER_KERNEL, payload u32 result (SVC_*) | u32 service
// index | u32 version | UTF-8 text.
// Command (little-endian):
//   +0  u8  op (SVC_OP_*)          +1 u8 name length (1..SERVICE_NAME_BYTES_MAX)
//   +2  u16 reserved (0)           +4 u32 caps (hal/services.ts CAP_* bits; load only)
//   +8  u32 memory pages max (load; 0 = SVC_MEMORY_PAGES_DEFAULT)
//   +12 u32 module bytes           +16 u32 signature bytes   +20 u32 config bytes
//   +24 [32] name (zero padded)
//   +56 module | signature (host/modsig.ts) | config (JSON object text, load only)
export const SYSTEM_PEER = 65534; // send() to this peer is a service command (capability "system")
export const SVC_OP_LOAD = 1;
export const SVC_OP_UPGRADE = 2;
export const SVC_OP_UNLOAD = 3;
export const SVC_CMD_HEADER_BYTES = 56;
export const SVC_REPLY_HEADER_BYTES = 12;
export const SVC_MEMORY_PAGES_DEFAULT = 16; // 1 MiB
export const SVC_OK = 0;
export const SVC_E_MALFORMED = 1; // the command's framing is wrong
export const SVC_E_EXISTS = 2; // load: a service with that name runs
export const SVC_E_NO_SUCH_SERVICE = 3; // upgrade/unload: no service with that name
export const SVC_E_TABLE_FULL = 4; // load: SERVICES_MAX services, none reusable
export const SVC_E_CAPS_DENIED = 5; // load: a capability the sender does not hold itself, or "system"
export const SVC_E_SIGNATURE = 6; // the module is unsigned or not signed by a trusted key
export const SVC_E_MODULE = 7; // the module is not a service the host will run (imports, exports, memory)
export const SVC_E_INIT = 8; // qx_init trapped or ran out of fuel
export const SVC_E_MIGRATE = 9; // upgrade: state hand-off impossible, or qx_migrate trapped / returned non-zero
export const SVC_E_PROTECTED = 10; // the service cannot be changed so (the sender itself; unload of an image service)
export const SVC_E_BUSY = 11; // the kernel's service command queue was full (the sender's answer; the kernel refuses with SYS_E_FULL from send())
export const SVC_E_COUNT = 12;
