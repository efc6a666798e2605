// test/services/tally/bad.ts: a version whose qx_migrate refuses (returns
// non-zero) after changing state: the upgrade must roll back to the old version.
import * as S from "./state";
export function qx_inbox(): usize { return S.inboxAddr(); }
export function qx_inbox_bytes(): u32 { return S.inboxBytes(); }
export function qx_init(len: u32): void { S.init(len); }
export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void { S.handle(99, kind, token, len); }
export function qx_migrate(fromVersion: u32): i32 { S.setMigratedFrom(99); return 7; }
