// The syscalls this service uses. Module "qenex" is the only import a
// service may have; the kernel checks each call against the manifest.

// @ts-ignore: decorator
@external("qenex", "reply")
export declare function reply(token: u32, status: u32, ptr: usize, len: u32): i32;

// @ts-ignore: decorator
@external("qenex", "time")
export declare function time(): i64;

// @ts-ignore: decorator
@external("qenex", "log")
export declare function log(ptr: usize, len: u32): i32;

// @ts-ignore: decorator
@external("qenex", "timer")
export declare function timer(delayNs: i64, tag: i64): i32;
