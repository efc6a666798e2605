// The syscalls this service uses, from the one SDK every service shares.
// Module "qenex" is the only import a service may have; the kernel checks
// each call against the manifest.
export { reply, time, log, timer, emitTransfers } from "../../sdk/qenex";
