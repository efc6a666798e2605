// services/fix/protocol.ts: the FIX service's wire contract, its one home
// (docs/fix.md "The acceptor"). The FIX 4.4 session layer (sequence numbers,
// logon and logout, heartbeats and test requests on the logical clock,
// resend and gap fill, the session-level checks that need the session's
// state) and the application (orders to the trading service, execution
// reports back) live in the replayed `fix` service; the host's FIX front end
// (host/fix/acceptor.ts) does what is syntax: framing, the data dictionary,
// decimals at the instrument's scales, CompIDs against the configured
// sessions, and rendering what the service sends out.
//
// Compiled twice, like the other services' protocols: by AssemblyScript into
// fix.wasm and by esbuild/tsc into the host, so it holds integer constants
// written as plain literals and pure functions over them.
//
// In: one request (gateway route ROUTE_FIX) carries INPUT records, one per
// FIX message read (or a connection's end), in the order they were read.
// Out: every FIX message the session sends is an EVT_FIX event item
// (hal/devices/events.ts), OUT_BYTES each, emitted when its request (or
// timer) is applied: after the log entry is durable, so nothing goes out
// that a restart could forget. An event the host drops is a gap the peer
// sees in MsgSeqNum; it asks for a resend, which the service answers from
// its store. The reply to a request only counts the inputs it took.
//
// Message types are their FIX MsgType characters (one ASCII byte: '0' 48,
// 'A' 65, 'D' 68, ...): every message this acceptor takes or sends has a
// one-character MsgType.

// ---- request header (16 bytes) ----
//   +0 u8 version (FIX_VERSION)   +1 u8[3] 0   +4 u32 count: INPUT records after the header   +8 u64 0
export const FIX_VERSION = 1;
export const HEADER_BYTES = 16;
export const HEADER_COUNT = 4;
export const INPUTS_PER_REQUEST = 256;

// ---- input (INPUT_BYTES, fixed) ----
//   +0 u8 kind (IN_*)   +1 u8 MsgType (one ASCII character; 0 for IN_DISCONNECT)   +2 u8 verdict (V_*)
//   +3 u8 SessionRejectReason (V_REJECT) or BusinessRejectReason (V_BUSINESS)   +4 u32 connection (the host's number, never 0)
//   +8 u32 MsgSeqNum (0: unreadable)   +12 u16 flags (IF_*)   +14 u16 session slot (from the Logon the service sent; 0 on a Logon)
//  +16 u64 SendingTime (ns since the epoch; 0: absent or unreadable)   +24 u64 OrigSendingTime (IF_ORIG_SENDING)
//  +32 u32 a: HeartBtInt (A) | BeginSeqNo (2) | NewSeqNo (4) | RefTagID (V_REJECT: the tag at fault; 0 none)
//  +36 u32 b: EndSeqNo (2)
//  +40 u8 id length   +41 u8 second id length   +42 u8 text length   +43 u8 0   +44 u32 0
//  +48 [ID_MAX] id: TestReqID (0, 1) | ClOrdID (D, F, G, q) | MDReqID (V) | SecurityReqID (x) | our CompID (A)
//  +88 [ID_MAX] second id: OrigClOrdID (F, G) | their CompID (A)
//  +128 [TEXT_MAX] text: why (V_REJECT, V_BUSINESS, V_BAD_ORDER; ASCII)
//  +256 the message's body (BODY_BYTES): the order (D, F, G, q), the market data request (V), the logon's options (A)
export const INPUT_BYTES = 336;
export const IN_KIND = 0;
export const IN_MSG_TYPE = 1;
export const IN_VERDICT = 2;
export const IN_REASON = 3;
export const IN_CONNECTION = 4;
export const IN_SEQ = 8;
export const IN_FLAGS = 12;
export const IN_SLOT = 14;
export const IN_SENDING = 16;
export const IN_ORIG_SENDING = 24;
export const IN_A = 32;
export const IN_B = 36;
export const IN_ID_LENGTH = 40;
export const IN_ID2_LENGTH = 41;
export const IN_TEXT_LENGTH = 42;
export const IN_ID = 48;
export const IN_ID2 = 88;
export const IN_TEXT = 128;
export const IN_BODY = 256;
export const ID_MAX = 40; // ClOrdID, TestReqID, CompIDs, ... (a UUID is 36; the front end refuses a longer one: V_REJECT reason 5)
export const TEXT_MAX = 128;
export const BODY_BYTES = 80;

export const IN_MESSAGE = 1; // a FIX message read from the connection (framed: garbled bytes never reach the service)
export const IN_DISCONNECT = 2; // the connection ended (either side); its session, if it had one, is logged out

// What the front end found (the service answers each as the session protocol says):
export const V_OK = 0; // valid against the dictionary (or validate=false), CompIDs right
export const V_REJECT = 1; // a session-level problem (IN_REASON: SessionRejectReason 373, IN_A the RefTagID): Reject (3)
export const V_BUSINESS = 2; // valid FIX but not served (an unsupported MsgType: IN_REASON 380 = 3): BusinessMessageReject (j)
export const V_COMPID = 3; // SenderCompID/TargetCompID not the session's: Reject (373 = 9), then Logout
export const V_BEGIN_STRING = 4; // a BeginString other than FIX.4.4: Logout, then disconnect
export const V_BAD_ORDER = 5; // an order the front end could not read into units (a decimal over the scale, an unknown Symbol or
                              // Account): an ExecutionReport (or OrderCancelReject) rejecting it, with the text

// Flags (IF_*):
export const IF_POSS_DUP = 1; // PossDupFlag (43) = Y
export const IF_ORIG_SENDING = 2; // OrigSendingTime (122) present and readable
export const IF_RESET_SEQ = 4; // ResetSeqNumFlag (141) = Y (Logon)
export const IF_GAP_FILL = 8; // GapFillFlag (123) = Y (SequenceReset)
export const IF_NEW_SEQ = 16; // NewSeqNo (36) present (SequenceReset)
export const IF_TEST_REQ = 32; // TestReqID (112) present (Heartbeat)

// ---- the logon's options (body of an A input): the configured session's, carried in the log so a replay
// decides as the first run did, whatever the flags of a later boot ----
//   +0 u8 option flags (LO_*)   +1 u8[3] 0   +4 u32 max_latency_s (SendingTime accuracy; 0: not checked)
//   +8 u32 heartbeat_min_s   +12 u32 heartbeat_max_s   +16 u32 key id (LO_KEY: the Password's key; else 0)
export const LOGON_FLAGS = 0;
export const LOGON_MAX_LATENCY = 4;
export const LOGON_HB_MIN = 8;
export const LOGON_HB_MAX = 12;
export const LOGON_KEY = 16;
export const LO_RESET_ON_LOGON = 1;
export const LO_RESET_ON_LOGOUT = 2;
export const LO_RESET_ON_DISCONNECT = 4;
export const LO_KEY = 8; // the Logon carried Username/Password and the Password is an API key admission accepted
export const MAX_LATENCY_DEFAULT_S = 120;
export const HEARTBEAT_MIN_DEFAULT_S = 1;
export const HEARTBEAT_MAX_DEFAULT_S = 300;

// ---- the order (body of a D, F, G or q input), in the trading service's units ----
//   +0 u32 instrument (0: the Symbol is no instrument's)   +4 u8 side (trading SIDE_*; 0 other)   +5 u8 type (TYPE_*; 0 other)
//   +6 u8 time in force (TIF_*; 0 other)   +7 u8 order flags (trading OF_*: ExecInst 6 → post-only)
//   +8 u64 price (units; 0: none)   +16 u64 quantity (units)   +24 u128 cash account   +40 u128 asset account
//   +56 u64 OrderID (37) of F/G when given (0: none)   +64 u8 mass cancel type (q: 530; 1 one instrument, 7 all)   +65 u8[15] 0
export const ORD_INSTRUMENT = 0;
export const ORD_SIDE = 4;
export const ORD_TYPE = 5;
export const ORD_TIF = 6;
export const ORD_FLAGS = 7;
export const ORD_PRICE = 8;
export const ORD_QTY = 16;
export const ORD_ACCOUNT = 24;
export const ORD_ASSET_ACCOUNT = 40;
export const ORD_ORDER_ID = 56;
export const ORD_MASS_TYPE = 64;

// ---- the market data request (body of a V input) ----
//   +0 u32 instrument   +4 u8 SubscriptionRequestType (263: 0 snapshot, 1 snapshot and updates, 2 unsubscribe)
//   +5 u8 0   +6 u16 MarketDepth (264; 0 full book: answered at DEPTH_OUT_MAX)
export const MD_INSTRUMENT = 0;
export const MD_SUBSCRIPTION = 4;
export const MD_DEPTH = 6;
export const DEPTH_OUT_MAX = 5; // price levels per side in one snapshot (W): (OUT_BYTES - MDO_LEVELS) / MDO_LEVEL_BYTES / 2

// ---- out (OUT_BYTES, fixed): one FIX message to send, an EVT_FIX event item ----
//   +0 u8 kind (OUT_*)   +1 u8 MsgType   +2 u16 flags (OF_POSS_DUP, ...)   +4 u32 connection (0: the session has none now;
//   the message is kept for a resend only)   +8 u32 MsgSeqNum   +12 u16 session slot   +14 u16 0
//  +16 u64 SendingTime (the logical clock, ns)   +24 u64 OrigSendingTime (OF_POSS_DUP)
//  +32 u32 a   +36 u32 b   +40 u8 id length   +41 u8 second id length   +42 u8 text length   +43 u8 c   +44 u32 d
//  +48 [ID_MAX] id   +88 [ID_MAX] second id   +128 body (OUT_BODY_BYTES)   +208 [OUT_TEXT_MAX] text
// OUT_BYTES is an event item, which the smallest kernel message must hold (hal/limits.ts MESSAGE_BYTES_MIN 256).
// By MsgType (a, b, c, d, the ids, the text and the body):
//   A Logon            a HeartBtInt, OF_RESET_SEQ; id our CompID, second id their CompID (the front end learns the
//                      slot's CompIDs from it)
//   0 Heartbeat        id TestReqID when answering a TestRequest
//   1 TestRequest      id TestReqID
//   2 ResendRequest    a BeginSeqNo, b EndSeqNo (0: all)
//   3 Reject           a RefSeqNum, b RefTagID (0: none), c SessionRejectReason, id RefMsgType, text
//   4 SequenceReset    a NewSeqNo, OF_GAP_FILL
//   5 Logout           text
//   j BusinessMessageReject   a RefSeqNum, c BusinessRejectReason, id RefMsgType, text
//   8 ExecutionReport  body EXEC_*; id ClOrdID, second id OrigClOrdID, text
//   9 OrderCancelReject body EXEC_* (order, status), c CxlRejResponseTo (1 F, 2 G), d CxlRejReason; ids, text
//   r OrderMassCancelReport  a orders cancelled, c MassCancelRequestType, d MassCancelResponse (0 rejected), id ClOrdID
//   W MarketDataSnapshotFullRefresh  (market data, below)
//   X MarketDataIncrementalRefresh   (market data, below): one trade
//   y SecurityList     a SecurityResponseType (1 accepted), id SecurityReqID (the front end lists the instruments)
// OUT_DISCONNECT: close the connection (after what was sent before it).
export const OUT_BYTES = 256;
export const OUT_KIND = 0;
export const OUT_MSG_TYPE = 1;
export const OUT_FLAGS = 2;
export const OUT_CONNECTION = 4;
export const OUT_SEQ = 8;
export const OUT_SLOT = 12;
export const OUT_SENDING = 16;
export const OUT_ORIG_SENDING = 24;
export const OUT_A = 32;
export const OUT_B = 36;
export const OUT_ID_LENGTH = 40;
export const OUT_ID2_LENGTH = 41;
export const OUT_TEXT_LENGTH = 42;
export const OUT_C = 43;
export const OUT_D = 44;
export const OUT_ID = 48;
export const OUT_ID2 = 88;
export const OUT_BODY = 128;
export const OUT_BODY_BYTES = 80;
export const OUT_TEXT = 208;
export const OUT_TEXT_MAX = 48; // an outbound Text (58): the service's own short reasons
export const OUT_MESSAGE = 1;
export const OUT_DISCONNECT = 2;
export const OF_POSS_DUP = 1;
export const OF_RESET_SEQ = 2;
export const OF_GAP_FILL = 4;

// ---- an execution report's body (8 and 9) ----
//   +0 u64 OrderID (0: none, "NONE")   +8 u64 ExecID (0 on a 9)   +16 u8 ExecType (150, ASCII)   +17 u8 OrdStatus (39, ASCII)
//   +18 u8 side (trading SIDE_*)   +19 u8 OrdRejReason (103; 0 none)   +20 u32 instrument   +24 u64 price (the order's)
//   +32 u64 OrderQty   +40 u64 LeavesQty   +48 u64 CumQty   +56 u64 LastQty   +64 u64 LastPx
//   +72 u64 AvgPx (price units, rounded down; 0 when nothing filled)
export const EXEC_ORDER = 0;
export const EXEC_ID = 8;
export const EXEC_TYPE = 16;
export const EXEC_STATUS = 17;
export const EXEC_SIDE = 18;
export const EXEC_REJ_REASON = 19;
export const EXEC_INSTRUMENT = 20;
export const EXEC_PRICE = 24;
export const EXEC_QTY = 32;
export const EXEC_LEAVES = 40;
export const EXEC_CUM = 48;
export const EXEC_LAST_QTY = 56;
export const EXEC_LAST_PX = 64;
export const EXEC_AVG_PX = 72;

// ---- market data (W, X) ----
//   W: +32 u32 instrument   +36 u8 bid levels   +37 u8 ask levels; id MDReqID; from +88 (over the second id, the body
//      and the text) the levels, bids best first then asks best first, MDO_LEVEL_BYTES each: u64 price, u64 quantity
//   X: +32 u32 instrument   +43 u8 the taker's side; id MDReqID; body +0 u64 trade id   +8 u64 price   +16 u64 quantity
export const MDO_INSTRUMENT = 32;
export const MDO_BIDS = 36;
export const MDO_ASKS = 37;
export const MDO_LEVELS = 88;
export const MDO_LEVEL_BYTES = 16;
export const MDO_TRADE = 0;
export const MDO_PRICE = 8;
export const MDO_QTY = 16;

// ---- reply (16 bytes): +0 u32 inputs taken   +4 u32 flags (REPLY_F_REFUSED: nothing taken; the reason as ASCII after)
export const REPLY_BYTES = 16;
export const REPLY_F_REFUSED = 2;

// ---- limits of the service ----
export const SESSIONS_MAX = 64; // configured sessions one machine serves
export const STORE_MESSAGES = 2048; // outbound messages per session kept for a resend (older ones are gap-filled)
export const ORDERS_MAX_DEFAULT = 65536; // live orders the service maps to their session and ClOrdID

/** The length of a request of `count` inputs, or 0 when count is out of range. */
export function requestLength(count: u32): u32 {
  return count >= 1 && count <= <u32>INPUTS_PER_REQUEST ? <u32>HEADER_BYTES + count * <u32>INPUT_BYTES : 0;
}
