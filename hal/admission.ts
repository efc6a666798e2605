// hal/admission.ts: admission before the log (kernel/admission.ts): the
// gateway request and reply headers the host's protocol front ends write,
// the admission table the authority programs, and the host's questions.
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
//
// Admission comes before the log. One service may hold capability "admit"
// (the gateway): it is the admission authority. Every frame to it carries the
// request header below, which only the host's protocol front ends write
// (host/gateway/http.ts, host/gateway/binary.ts; never a client), and the
// kernel admits or refuses the frame before it is appended to the command log:
// the key is looked up in the kernel's admission table, the route's roles and
// ledger scope are checked and the per-source, per-key and failed-auth token
// buckets are charged. A refused frame is answered at once with a reply in the
// authority's own reply format and is never logged, so nothing an
// unauthenticated or unauthorised client sends costs disk or replay time.
//
// The table is programmed by the authority with syscall admission(op, ptr,
// len) while it applies logged input (its policy at qx_init, each key when it
// is created or revoked), so it is a function of the log, like the authority's
// own key table, and the authority checks every admitted request again when
// it applies it (a key revoked between admission and application is refused
// there, the same way on replay). Rate buckets and failure counts are
// per-node admission state: never logged, never replicated, not in the state
// hash. The host may ask the same question before it has a frame (kernel
// export admission_check in ADM_MODE_PEEK: a request head, before its body is
// read), and answers routes that never reach the log (metrics, statistics)
// after an ADM_MODE_TAKE check.
//
// Request header (the first GW_REQUEST_HEADER_BYTES of the frame's payload):
//   +0  u8   version (GW_VERSION)
//   +1  u8   route (1 .. ADM_ROUTES_MAX - 1; the authority's route numbers)
//   +2  u8   auth (AUTH_*): what the client presented
//   +3  u8   flags (GW_F_*)
//   +4  u32  reserved (0)
//   +8  [16] source address (IPv6, or IPv4 mapped to ::ffff:a.b.c.d)
//   +24 [32] SHA-256 of the bearer key (zero unless AUTH_BEARER); never the key
//   +56 body (the route's)
// Reply header (the authority's replies, and the kernel's refusals, which
// travel as FRAME_OK replies with this payload: the outcome is inside):
//   +0  u16  HTTP status   +2 u16 error (GW_E_*)   +4 u32 Retry-After seconds
//   +8  u32  key id (0: none)   +12 u8 role (0: none)   +13 u8[3] reserved
//   +16 body (an ASCII message on refusals)
export const GW_VERSION = 1;
export const GW_REQUEST_HEADER_BYTES = 56;
export const GW_REPLY_HEADER_BYTES = 16;
export const GW_SOURCE_OFFSET = 8;
export const GW_SOURCE_BYTES = 16;
export const GW_KEY_HASH_OFFSET = 24;
export const GW_KEY_HASH_BYTES = 32;
export const AUTH_NONE = 0;
export const AUTH_BEARER = 1;
export const AUTH_MALFORMED = 2; // an Authorization header (or auth frame) that is not "Bearer <key>"
// The operator's console: `qenex keys ... --data <dir>` with the system
// stopped, which holds the data directory (and so the log) already. The host
// writes it only for frames it injects itself (host/devices/net.ts inject);
// its routes are those the policy grants ADM_ROLE_CONSOLE.
export const AUTH_CONSOLE = 3;
// GW_F_BODY_REFUSED (admission_check only, never in a frame): the host could
// not turn the body into the route's binary form; once the key passes, the
// answer is 400 GW_E_BODY_REFUSED, so a client without a valid key learns
// 401 first and never how its body would be judged.
export const GW_F_BODY_REFUSED = 1;
// Errors (stable numbers; the host maps each to a snake_case code).
export const GW_OK = 0;
export const GW_E_MALFORMED = 1; // the request header itself is wrong (host bug)
export const GW_E_UNAUTHENTICATED = 2; // 401: no key
export const GW_E_BAD_AUTHORIZATION = 3; // 401: not "Bearer <key>"
export const GW_E_UNKNOWN_KEY = 4; // 401: no such key
export const GW_E_REVOKED_KEY = 5; // 401: the key was revoked
export const GW_E_FORBIDDEN_ROLE = 6; // 403: the key's role may not use the route
export const GW_E_FORBIDDEN_LEDGER = 7; // 403: an item names a ledger (scope) the key is not granted
export const GW_E_RATE_LIMITED_KEY = 8; // 429
export const GW_E_RATE_LIMITED_SOURCE = 9; // 429 (also: too many failed authentications from the address)
export const GW_E_BODY_REFUSED = 17; // 400: the host could not read the body (GW_F_BODY_REFUSED)
export const GW_E_LEDGER = 11; // 502/400: the ledger refused or broke the protocol (the gateway's relay, and reads, below)
// Roles: a role r is bit (1 << r) of a route's mask; bit 0 is the console.
export const ADM_ROLE_CONSOLE = 0;
export const ADM_ROLES_MAX = 8; // roles 1..7 fit a u8 mask with the console bit
// Limits of the table (kernel memory reserved at boot when a service holds "admit").
export const ADM_ROUTES_MAX = 64;
export const ADM_KEYS_MAX = 1024; // API keys of an installation: a few hundred; bounds the list reply (96 KiB)
export const ADM_KEY_GRANTS_MAX = 16; // ledgers one key may be limited to
export const ADM_SOURCES_MAX = 8192; // client addresses with a bucket (oldest reused when full)
// Modes of admission_check(mode): PEEK charges no bucket and knows no body;
// TAKE charges the buckets (the kernel's own check of a frame is TAKE); KEY
// asks only whether the credential still holds for the route (key known, not
// revoked, role allowed), reading and charging no bucket and counting no
// failure: the host's own question about an open event stream after a key
// changed, which no client rate or failed-auth throttle may answer for it.
export const ADM_MODE_PEEK = 0;
export const ADM_MODE_TAKE = 1;
export const ADM_MODE_KEY = 2;
// The host's question (admission_area(), ADM_AREA_BYTES): the request header
// at +0, and after the check the answer at ADM_AREA_REPLY: a reply header
// (GW_REPLY_HEADER_BYTES) then the refusal's ASCII message (ADM_MESSAGE_BYTES_MAX
// at most, its length in the u32 at ADM_AREA_MESSAGE_LEN).
export const ADM_AREA_REPLY = 64;
export const ADM_AREA_MESSAGE_LEN = 60;
export const ADM_MESSAGE_BYTES_MAX = 176;
export const ADM_AREA_BYTES = 256;
// Syscall admission(op, ptr, len), capability "admit":
//   ADM_OP_POLICY  +0 u32 source rate/s | +4 u32 source burst | +8 u32 key rate/s
//                  +12 u32 key burst | +16 u32 failed auths per minute per source
//                  +20 u32 failed-auth burst | +24 u32 route count (<= ADM_ROUTES_MAX)
//                  +28 u32 0 | then ADM_ROUTE_BYTES per route 0 .. count-1:
//                    +0 u32 roles mask | +4 u8 scope (ADM_SCOPE_*) | +5 u8 header bytes
//                    +6 u8 count offset (u32 item count in the body) | +7 u8 route flags (ADM_ROUTE_F_*)
//                    +8 u16 item bytes | +10 u16 scope field offset (u32 in each item)
//                    +12 u32 the service that answers the route's reads (ADM_ROUTE_F_READ), else 0
//                  a rate of 0 is no limit; a limited rate needs a burst >= 1
//   ADM_OP_KEY     ADM_KEY_BYTES: +0 [32] key hash | +32 u32 id (1 .. ADM_KEYS_MAX)
//                  +36 u8 role | +37 u8 revoked | +38 u8 grant count | +39 u8 0
//                  +40 u32 rate/s (0: the policy's) | +44 u32 burst (0: the policy's)
//                  +48 u32 ledgers[ADM_KEY_GRANTS_MAX]
//   A key's id names its slot for good: a later ADM_OP_KEY with the same id
//   must carry the same hash (it changes role, grants, rate or revocation).
export const ADM_OP_POLICY = 1;
export const ADM_OP_KEY = 2;
export const ADM_POLICY_HEADER_BYTES = 32;
export const ADM_ROUTE_BYTES = 16;
export const ADM_KEY_BYTES = 112;
export const ADM_SCOPE_NONE = 0; // the body is not checked against the key's grants
export const ADM_SCOPE_ITEMS = 1; // every item's scope field must be one of a limited key's grants
export const ADM_SCOPE_DENY = 2; // a key limited to ledgers may not use the route at all
// A route whose requests are reads (hal/frames.ts FRAME_F_READ): once
// admitted, the body goes, not logged, to the read service named at +12
// (which holds capability "read"), with a limited key's grants appended as
// the request's scope (u16 at body +2, u32 ledgers after the body); the
// kernel answers in the authority's reply format: 200 with the service's
// reply, 400 GW_E_MALFORMED with its message when it refused the request,
// 502 GW_E_LEDGER otherwise. A read service without capability read: the
// route's requests are logged as any other.
export const ADM_ROUTE_F_READ = 1;
// Statistics (admission_stat(id)): per node, since boot.
export const ADM_STAT_ADMITTED = 0;
export const ADM_STAT_UNAUTHENTICATED = 1; // 401s
export const ADM_STAT_FORBIDDEN = 2; // 403s
export const ADM_STAT_RATE_LIMITED = 3; // 429s
export const ADM_STAT_MALFORMED = 4; // 400s
export const ADM_STAT_SOURCES = 5; // addresses with a bucket
export const ADM_STAT_COUNT = 6;
