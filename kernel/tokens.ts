// kernel/tokens.ts: reply tokens.
//
// A token names one outstanding request a service may answer with reply():
// either a client's frame (reply goes out on the network) or another
// service's send() (reply becomes a MSG_KIND_REPLY message to the sender).
// Tokens are allocated when a message is applied and freed by its reply, so
// their values are a function of the command log alone and replay hands out
// the same tokens as the live run. A generation counter in the token makes a
// stale or forged token fail instead of answering someone else.
//
// Token: bit 31 = service origin, bits 30..16 = generation, bits 15..0 = slot + 1.
// Slot layout (TOKEN_SLOT_BYTES):
//   +0 u32 free link | +4 u32 generation | +8 u64 connection | +16 u32 request id
//   +20 u16 flags (TOKEN_F_*) | +22 u16 origin service | +24 u16 holder service

import { Pool, POOL_EMPTY, poolInit } from "./base/mem";

const TOKEN_SLOT_BYTES: u32 = 32;
export const TOKEN_F_LIVE: u16 = 1; // a client connection is waiting (not a replayed entry)
const SERVICE_ORIGIN: u32 = 0x80000000;

export const clientTokens = new Pool();
export const serviceTokens = new Pool();

import { TOKEN_SLOTS_MAX } from "./base/constants";
export { TOKEN_SLOTS_MAX };

export function tokensInit(clientCount: u32, serviceCount: u32): bool {
  if (clientCount > TOKEN_SLOTS_MAX || serviceCount > TOKEN_SLOTS_MAX) return false;
  const ok = poolInit(clientTokens, "client requests in flight", TOKEN_SLOT_BYTES, clientCount)
    && poolInit(serviceTokens, "service requests in flight", TOKEN_SLOT_BYTES, serviceCount);
  assert(!ok || (clientTokens.count == clientCount && serviceTokens.count == serviceCount), "tokensInit: pools of the sizes asked for");
  return ok;
}

function make(pool: Pool, origin: u32, holder: u32, conn: u64, requestId: u32, flags: u16): u32 {
  // Both are kept as u16; 0xffff in the holder field marks a freed token.
  assert(origin <= 0xffff && holder < 0xffff, "token: origin and holder are 16-bit service indices");
  const index = pool.take();
  if (index == POOL_EMPTY) return 0;
  assert(index < TOKEN_SLOTS_MAX, "token: slot + 1 fits 16 bits");
  const p = pool.slot(index);
  const gen = (load<u32>(p, 4) + 1) & 0x7fff;
  store<u32>(p, gen, 4);
  store<u64>(p, conn, 8);
  store<u32>(p, requestId, 16);
  store<u16>(p, flags, 20);
  store<u16>(p, <u16>origin, 22);
  store<u16>(p, <u16>holder, 24);
  const kind = pool == serviceTokens ? SERVICE_ORIGIN : 0;
  const token = kind | (gen << 16) | (index + 1);
  assert(tokenResolve(token, holder) == p, "token: a new token resolves for its holder");
  return token;
}

// 0 when the pool is full.
export function clientTokenNew(holder: u32, conn: u64, requestId: u32, live: bool): u32 {
  assert(holder < 0xffff, "clientTokenNew: a client request is held by a service");
  return make(clientTokens, 0xffff, holder, conn, requestId, live ? TOKEN_F_LIVE : 0);
}

export function serviceTokenNew(origin: u32, holder: u32): u32 {
  assert(origin != holder && origin < 0xffff, "serviceTokenNew: a service never sends to itself");
  return make(serviceTokens, origin, holder, 0, 0, 0);
}

@inline export function tokenIsService(token: u32): bool { return (token & SERVICE_ORIGIN) != 0; }
@inline function tokenPool(token: u32): Pool { return tokenIsService(token) ? serviceTokens : clientTokens; }

// Slot address when the token is current and held by `holder`, else 0.
export function tokenResolve(token: u32, holder: u32): usize {
  const pool = tokenPool(token);
  const index = (token & 0xffff) - 1;
  if ((token & 0xffff) == 0 || index >= pool.count) return 0;
  const p = pool.slot(index);
  if ((load<u32>(p, 4) & 0x7fff) != ((token >> 16) & 0x7fff)) return 0;
  if (<u32>load<u16>(p, 24) != holder) return 0;
  assert(load<u8>(pool.states + <usize>index) == 1, "tokenResolve: a current token's slot is in use");
  return p;
}

@inline export function tokenConn(p: usize): u64 {
  assert(p != 0, "tokenConn: not a resolved token");
  return load<u64>(p, 8);
}
@inline export function tokenRequestId(p: usize): u32 {
  assert(p != 0, "tokenRequestId: not a resolved token");
  return load<u32>(p, 16);
}
@inline export function tokenLive(p: usize): bool {
  assert(p != 0 && (load<u16>(p, 20) & ~TOKEN_F_LIVE) == 0, "tokenLive: not a resolved token, or unknown flags");
  return (load<u16>(p, 20) & TOKEN_F_LIVE) != 0;
}
// The service that sent the message (service tokens; a client's is 0xffff).
@inline export function tokenOrigin(p: usize): u32 {
  assert(p != 0, "tokenOrigin: not a resolved token");
  return <u32>load<u16>(p, 22);
}

// After a snapshot restore: the clients of the old process are gone; their
// tokens stay (a service may still reply) but reach no connection, as in a replay.
export function clientTokensOrphan(): void {
  assert(clientTokens.count <= TOKEN_SLOTS_MAX, "clientTokensOrphan: a token pool within 16 bits of slots");
  for (let i: u32 = 0; i < clientTokens.count; i++) {
    const p = clientTokens.slot(i);
    store<u16>(p, load<u16>(p, 20) & ~TOKEN_F_LIVE, 20);
  }
}

export function tokenFree(token: u32): void {
  const pool = tokenPool(token);
  const index = (token & 0xffff) - 1;
  const p = pool.slot(index);
  assert(<u32>load<u16>(p, 24) != 0xffff, "tokenFree: the token was freed already");
  assert((load<u32>(p, 4) & 0x7fff) == ((token >> 16) & 0x7fff), "tokenFree: a stale token");
  store<u16>(p, 0xffff, 24); // no holder: a second reply with the same token fails
  pool.give(index);
}
