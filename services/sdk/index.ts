// services/sdk: the library every QENEX service is written with.
//
//   import { KIND_REQUEST, replyOk, replyError, Reader, Writer, u128Add, logLine } from ".";
//
// qenex.ts   the syscalls (the ABI, services/sdk/ABI.md) and typed helpers
// message.ts Reader/Writer for little-endian message bytes, bounds-checked
// money.ts   checked u128 arithmetic for amounts in minor units
// log.ts     one log line built without allocating
// hsm.ts     HSM key operations (sign, verify, encrypt, decrypt, random) by key label
// store.ts   (imported by itself, not from here) a storage engine's grid:
//            lib/store's write queue and cache joined to the storage syscall
// harness.ts (host TypeScript, not AssemblyScript) runs a service module
//            against a fake kernel in uvu tests

export * from "./qenex";
export * from "./message";
export * from "./money";
export * from "./log";
export * from "./hsm";
