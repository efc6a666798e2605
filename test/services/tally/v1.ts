// test/services/tally/v1.ts: version 1 (no qx_migrate).
import * as S from "./state";
export function qx_inbox(): usize { return S.inboxAddr(); }
export function qx_inbox_bytes(): u32 { return S.inboxBytes(); }
export function qx_init(len: u32): void { S.init(len); }
export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void { S.handle(1, kind, token, len); }
