// The system calls this service uses, from the one SDK every service shares.
// Module "qenex" is the only import a service may have; the kernel checks
// each call against the manifest (capabilities net, admit, log, time,
// send:ledger, and system for service commands).
export { send, reply, time, log, lookup, admission, KIND_REQUEST, KIND_REPLY, KIND_FAILED } from "../../sdk/qenex";
