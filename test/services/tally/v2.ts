// test/services/tally/v2.ts: version 2; qx_migrate records where it came from.
import * as S from "./state";
export function qx_inbox(): usize { return S.inboxAddr(); }
export function qx_inbox_bytes(): u32 { return S.inboxBytes(); }
export function qx_init(len: u32): void { S.init(len); }
export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void { S.handle(2, kind, token, len); }
export function qx_migrate(fromVersion: u32): i32 { S.setMigratedFrom(fromVersion); return 0; }
