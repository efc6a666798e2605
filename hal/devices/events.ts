// hal/devices/events.ts: the event stream device (DEV_EVENTS): records of
// committed transfers, payments, compliance alerts and checkpoints for the
// host's subscribers
// (drivers/events, host/devices/events.ts, host/gateway/events.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
//
// Events are outputs of the deterministic machine, like replies. A service
// with capability "emit" calls emit(type, count, ptr, len) (services/sdk/ABI.md);
// the kernel itself emits EVT_CHECKPOINT when a checkpoint entry is applied.
// The kernel numbers events with a monotonic event id (kernel state, in
// kernel_digest; replay numbers them the same) and pushes one SQ descriptor
// per record: op OP_EVT_RECORD, addr/len the record, arg its first event id.
// Record (little-endian), EVENT_RECORD_HEADER_BYTES then `count` items:
//   +0  u64 first event id   item i has id first + i (ids start at 1)
//   +8  u64 time             logical time (ns) of the message or entry
//   +16 u16 type             EVT_*
//   +18 u16 service          emitting service index (SENDER_KERNEL: the kernel)
//   +20 u32 count            items, each of item bytes = (len - 32) / count
//   +24 u32 item bytes
//   +28 u32 reserved (0)
// The host copies the record out and pops it at once (it must drain the SQ
// after every emit call and every kernel_run turn); a record that finds the
// ring or its buffer full is dropped and counted (events_dropped()), its ids
// stay used, so the host sees the gap and subscribers are told.
export const OP_EVT_RECORD = 1;
export const EVENT_RECORD_HEADER_BYTES = 32;
export const EVT_TRANSFER = 1; // items: the ledger's 128-byte transfer records as stored (timestamp set)
export const EVT_CHECKPOINT = 2; // items: checkpoint body (u64 tree size, u64 time, [32] root) + u64 entry seq
// items: the payments service's payment records as stored, the layout of
// services/payments/protocol.ts "payment record" (PAYMENT_BYTES; +0 u64 id,
// +8 u8 state, +16 u32 ledger, ...): one per payment a request created or
// changed, once the request is complete. EVENT_PAYMENT_BYTES is that
// PAYMENT_BYTES (services/payments/assembly/events.ts fails to compile when
// they differ, and test/unit/events-hub.test.ts checks it).
export const EVT_PAYMENT = 3;
// items: the compliance service's alert records as it keeps them, the layout
// of services/compliance/protocol.ts "Alert" (ALERT_BYTES; +0 u32 alert id,
// +4 u32 rules, +8 u64 payment id, +16 u8 state, +20 u32 ledger, ...): one
// per alert a request raised or whose case it changed. EVENT_ALERT_BYTES is
// that ALERT_BYTES (test/unit/events-hub.test.ts checks it; the gateway's
// reader refuses a record of any other item size).
export const EVT_ALERT = 4;
// items: the trading service's events, the layout of services/trading/protocol.ts "event" (EVENT_BYTES; +0 u8
// kind: trade, cancel, expire, +4 u32 instrument, +8 u64 trade id, ...): every event an orders request caused,
// in order, once it is answered (market data: trades, and orders cancelled or expired). EVENT_TRADING_BYTES is that
// EVENT_BYTES (services/trading/assembly/events.ts fails to compile when they differ).
export const EVT_TRADING = 5;
// items: the FIX service's outbound messages, the layout of services/fix/protocol.ts "out" (OUT_BYTES; +0 u8 kind,
// +1 u8 MsgType, +2 u16 flags, +4 u32 connection, +8 u32 MsgSeqNum, +12 u16 session slot, +16 u64 SendingTime, ...):
// every FIX message a session sends, in order, once the request or timer that caused it is applied. They are FIX
// session traffic for the host's FIX front end (host/fix/acceptor.ts subscribes with EventHub.onFix), not market
// data: the public stream (GET /v1/events) never shows them. EVENT_FIX_BYTES is that OUT_BYTES
// (test/unit/events-hub.test.ts checks it).
export const EVT_FIX = 6;
export const EVENT_TRANSFER_BYTES = 128;
export const EVENT_CHECKPOINT_BYTES = 56;
export const EVENT_PAYMENT_BYTES = 256;
export const EVENT_ALERT_BYTES = 160;
export const EVENT_TRADING_BYTES = 64;
export const EVENT_FIX_BYTES = 256;
export const EVENT_ITEMS_MAX = 65535; // per record
