// hal/abi.ts: the contract between the kernel and the host, one file per
// subject in hal/, all of it re-exported here (the kernel and the host import
// `hal/abi` for the whole contract, or one subject's file).
//
// Every file in hal/ is compiled twice: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host. Each therefore holds only integer
// constants written as plain literals (hal/limits.ts explains the few above
// 2^31), so both languages read the same values, and nothing in it is
// retyped by hand on either side (test/unit/tidy.test.ts looks for copies).
//
//   rings.ts          rings, descriptors, the device table, registers, the run loop
//   devices/*.ts      each device's operations: console, entropy, block
//                     (and snapshot requests), net, events, hsm, grid
//   frames.ts         the wire frame protocol clients speak
//   services.ts       the kernel as services see it: message kinds, syscall
//                     results, supervision
//   liveload.ts       live service load, upgrade and unload
//   admission.ts      the gateway headers and admission before the log
//   kernel.ts         the kernel's error codes and statistics
//   log.ts            the command log's entry layout and format version
//   limits.ts         bounds the kernel and the host both enforce

export * from "./rings";
export * from "./devices/console";
export * from "./devices/entropy";
export * from "./devices/block";
export * from "./devices/net";
export * from "./devices/events";
export * from "./devices/hsm";
export * from "./devices/grid";
export * from "./frames";
export * from "./services";
export * from "./liveload";
export * from "./admission";
export * from "./kernel";
export * from "./log";
export * from "./limits";
