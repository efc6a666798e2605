// services/trading/protocol.ts: the trading service's wire contract, its one
// home (docs/trading.md): instruments, order operations applied in order to
// central limit order books, and what each operation did (its result and the
// trades, cancels and expiries it caused). The service
// (services/trading/assembly) and every host-side reader and writer import it.
//
// Compiled twice, like the other services' protocols: by AssemblyScript into
// trading.wasm and by esbuild/tsc into the host, so it holds integer
// constants written as plain literals, enums of them and pure functions over
// them.
//
// Prices and quantities are exact integers: a price in units of
// 10^-price_scale of the cash currency per one whole unit of the asset, a
// quantity in units of 10^-qty_scale of the asset (decimal strings at the
// edges, with the instrument's scales). A price is a multiple of the
// instrument's tick, a quantity of its lot.

// ---- request header (16 bytes) ----
//   +0 u8 operation (Op)   +1 u8 0   +2 u16 scope count: a key limited to ledgers has its grants (u32 each) appended
//   after the records by the gateway; its operations may only name instruments both of whose ledgers are granted
//   (RJ_FORBIDDEN), and order_get answers only such orders   +4 u32 count: records after the header   +8 u8[8] 0
export const HEADER_BYTES = 16;
export const HEADER_OP = 0;
export const HEADER_SCOPE_COUNT = 2;
export const HEADER_COUNT = 4;
export const SCOPE_LEDGERS_MAX = 16; // one key's grants (hal/admission.ts ADM_KEY_GRANTS_MAX)

export enum Op {
  orders = 1, // count OP_BYTES operations (1..OPS_PER_REQUEST), applied in order → reply header (+8 u32 events), count RESULT_BYTES results, then the EVENT_BYTES events
  instruments_get = 2, // no record → reply header (count: instruments), count INSTRUMENT_BYTES records, by id
  book = 3, // one BOOK_QUERY_BYTES query → reply header (count: levels; +8 u32 bid levels), the bid levels best first, then the ask levels best first (LEVEL_OUT_BYTES each)
  order_get = 4, // count u64 order ids (1..LOOKUPS_MAX) → reply header (count: found), the ORDER_OUT_BYTES records of the live orders found, in the order asked
}

/** The length a request of `op` carrying `count` records has (header and records), or 0 when it takes no such count. */
export function requestLength(op: u32, count: u32): u32 {
  if (op == <u32>Op.orders) return count >= 1 && count <= <u32>OPS_PER_REQUEST ? <u32>HEADER_BYTES + count * <u32>OP_BYTES : 0;
  if (op == <u32>Op.instruments_get) return count == 0 ? <u32>HEADER_BYTES : 0;
  if (op == <u32>Op.book) return count == 1 ? <u32>(HEADER_BYTES + BOOK_QUERY_BYTES) : 0;
  if (op == <u32>Op.order_get) return count >= 1 && count <= <u32>LOOKUPS_MAX ? <u32>HEADER_BYTES + count * 8 : 0;
  return 0;
}

// ---- instrument (128 bytes), from the config ----
//   +0 u32 id (1..)   +4 u8 price_scale   +5 u8 qty_scale   +6 u8 symbol length (1..SYMBOL_MAX)   +7 u8 0
//   +8 u64 tick (price units, ≥ 1)   +16 u64 lot (quantity units, ≥ 1)   +24 u64 the largest order quantity (units)
//  +32 u32 price band (basis points from the last trade price; 0: none)   +36 u32 cash ledger   +40 u32 asset ledger
//  +44 u16 the ledger `code` of the transfers that settle it   +46 u16 0   +48 [16] symbol (printable ASCII, the FIX Symbol)
//  +64 u128 the cash escrow account (on the cash ledger)   +80 u128 the asset escrow account (on the asset ledger)   +96 u8[32] 0
// With settlement (docs/trading.md "Settlement"), a price is in the cash ledger's minor units per one whole unit of
// the asset (price_scale is the cash ledger's asset scale) and a quantity in the asset ledger's minor units
// (qty_scale is its asset scale): a trade's cash is price × quantity / 10^qty_scale, exact because tick × lot is a
// multiple of 10^qty_scale (the config refuses an instrument where it is not).
export const INSTRUMENT_BYTES = 128;
export const INST_ID = 0;
export const INST_PRICE_SCALE = 4;
export const INST_QTY_SCALE = 5;
export const INST_SYMBOL_LENGTH = 6;
export const INST_TICK = 8;
export const INST_LOT = 16;
export const INST_QTY_MAX = 24;
export const INST_BAND = 32;
export const INST_CASH_LEDGER = 36;
export const INST_ASSET_LEDGER = 40;
export const INST_CODE = 44;
export const INST_SYMBOL = 48;
export const INST_CASH_ESCROW = 64;
export const INST_ASSET_ESCROW = 80;
export const SYMBOL_MAX = 16;
export const SCALE_MAX = 18;

// ---- order operation (96 bytes) ----
//   +0 u8 kind (OP_NEW, OP_CANCEL, OP_REPLACE, OP_MASS_CANCEL)   +1 u8 side (SIDE_*; mass cancel: 0 both)
//   +2 u8 type (TYPE_LIMIT, TYPE_MARKET)   +3 u8 time in force (TIF_*)   +4 u8 flags (OF_*)   +5 u8 self-trade prevention (STP_*)
//   +6 u16 0   +8 u32 instrument (mass cancel: 0 every instrument)   +12 u32 0
//  +16 u64 the client's reference (the caller's id of this operation, answered back; FIX ClOrdID is the front end's)
//  +24 u64 order id (cancel, replace: the order; new, mass cancel: 0)   +32 u64 price (limit: units; market: 0)
//  +40 u64 quantity (new: the order's; replace: the new total, filled included)
//  +48 u128 account: the trader's cash account on the instrument's cash ledger (whose orders: cancel, STP, mass cancel)
//  +64 u128 the trader's asset account on the asset ledger (new, with settlement: where bought assets go and sold
//       ones come from; else 0)   +80 u8[16] 0
export const OP_BYTES = 96;
export const OP_KIND = 0;
export const OP_SIDE = 1;
export const OP_TYPE = 2;
export const OP_TIF = 3;
export const OP_FLAGS = 4;
export const OP_STP = 5;
export const OP_INSTRUMENT = 8;
export const OP_CLIENT_REF = 16;
export const OP_ORDER = 24;
export const OP_PRICE = 32;
export const OP_QTY = 40;
export const OP_ACCOUNT = 48;
export const OP_ASSET_ACCOUNT = 64;
export const OPS_PER_REQUEST = 1024;
export const OP_NEW = 1;
export const OP_CANCEL = 2;
export const OP_REPLACE = 3;
export const OP_MASS_CANCEL = 4;
export const SIDE_BUY = 1;
export const SIDE_SELL = 2;
export const TYPE_LIMIT = 1;
export const TYPE_MARKET = 2;
export const TIF_GTC = 1; // rests until filled or cancelled
export const TIF_IOC = 2; // trades what it can at once, the rest cancelled
export const TIF_FOK = 3; // trades all of it at once, or nothing
export const TIF_DAY = 4; // rests until the end of the logical clock's UTC day (86,400 s), then expires
export const OF_POST_ONLY = 1; // a limit order that would trade on entry is rejected: it only rests (a maker)
export const OF_KNOWN = 1;
// Self-trade prevention: what happens when an order would trade with a resting order of the same account.
export const STP_CANCEL_TAKER = 0; // the incoming order's remainder is cancelled (the default)
export const STP_CANCEL_MAKER = 1; // the resting order is cancelled, and matching goes on
export const STP_CANCEL_BOTH = 2; // both
export const STP_MAX = 2;

// ---- reply header (16 bytes) ----
//   +0 u32 count   +4 u32 flags (REPLY_F_*)   +8 u32 (the operation's; orders: events)   +12 u32 0
// Refused whole: flags REPLY_F_REFUSED, +8 u32 why (REFUSED_*), the reason as ASCII after the header;
// nothing changed.
export const REPLY_HEADER_BYTES = 16;
export const REPLY_F_REFUSED = 2;
export const REPLY_REFUSED = 8;
export const REFUSED_MALFORMED = 1;

// ---- result (56 bytes), one per operation, in order ----
//   +0 u64 order id (new: the id given, 0 when rejected; mass cancel: 0)   +8 u8 status (ST_*)   +9 u8 reject reason (RJ_*; 0)
//  +10 u16 the ledger's result for its reservation (RJ_FUNDS: services/ledger/protocol.ts TransferResult; else 0)
//  +12 u32 events of this operation (after those of the operations before it)
//  +16 u64 leaves (the order's open quantity after the operation; mass cancel: orders cancelled)
//  +24 u64 cumulative quantity filled   +32 u64 the client's reference   +40 u64 the order's quantity (its total)
//  +48 u32 the rules that refused it before it was applied (RJ_RISK: services/compliance/protocol.ts RULE_* bits; else 0)
//  +52 u32 0
export const RESULT_BYTES = 56;
export const RES_ORDER = 0;
export const RES_STATUS = 8;
export const RES_REASON = 9;
export const RES_LEDGER_RESULT = 10;
export const RES_EVENTS = 12;
export const RES_LEAVES = 16;
export const RES_CUM = 24;
export const RES_CLIENT_REF = 32;
export const RES_QTY = 40;
export const RES_RISK_RULES = 48;
// The order's state after the operation (FIX OrdStatus: 0 new, 1 partially filled, 2 filled, 4 cancelled, 8 rejected, C expired).
export const ST_NEW = 1; // resting, nothing filled
export const ST_PARTIAL = 2; // resting, partly filled
export const ST_FILLED = 3;
export const ST_CANCELLED = 4; // cancelled (by the operation, IOC/FOK remainder, STP) with what filled before
export const ST_REJECTED = 5; // the operation did nothing
export const ST_EXPIRED = 6;
export const ST_DONE = 7; // mass cancel done (leaves: how many orders it cancelled)
export const RJ_INSTRUMENT = 1; // no such instrument
export const RJ_PRICE = 2; // price 0, not a multiple of the tick, or set on a market order
export const RJ_QTY = 3; // quantity 0, not a multiple of the lot, or over the instrument's largest
export const RJ_BAND = 4; // price outside the band around the last trade
export const RJ_POST_ONLY = 5; // a post-only order that would trade
export const RJ_TIF = 6; // a time in force the order type does not take (market GTC or DAY)
export const RJ_UNKNOWN_ORDER = 7; // cancel or replace of no live order (unknown, done, or another account's)
export const RJ_FULL = 8; // the order table or the book's price levels are full
export const RJ_NO_LIQUIDITY = 9; // a market order with nothing to trade against
export const RJ_FOK = 10; // a fill-or-kill that could not fill whole: nothing traded
export const RJ_REPLACE_QTY = 11; // a replace whose total is not over what already filled
export const RJ_MALFORMED = 12; // unknown kind, side, type, time in force, flags or STP, reserved bytes not zero
export const RJ_BATCH_FULL = 13; // not applied: the request's reply had no room left for its events (send it again)
export const RJ_FUNDS = 14; // settlement: the ledger refused its reservation (funds, position, or the account); RES_LEDGER_RESULT says why
export const RJ_RISK = 17; // pre-trade: the compliance service refused it (RES_RISK_RULES: order value, position, price band, a listed owner)
export const RJ_FORBIDDEN = 16;
// A new order whose client reference (OP_CLIENT_REF, not 0) its account gave an order before, among the newest
// REFS_REMEMBERED such references: not applied; RES_ORDER names the first order (a client that lost an answer and
// sends the order again learns it went in, as FIX answers a duplicate ClOrdID). Reference 0 is never remembered.
export const RJ_DUPLICATE = 18;
export const REFS_REMEMBERED = 131072; // an instrument whose ledgers the key is not granted (a mass cancel: of those, only the granted)
export const RJ_NO_REFERENCE = 15; // settlement: a market buy needs the band and a last trade (it reserves at the band's top)

// ---- event (64 bytes) ----
//   +0 u8 kind (EV_*)   +1 u8 the taker's side (trade)   +2 u16 0   +4 u32 instrument   +8 u64 trade id (trade; else 0)
//  +16 u64 taker order (trade; else 0)   +24 u64 maker order (trade: the resting one; cancel, expire: the order)
//  +32 u64 price (trade: the maker's)   +40 u64 quantity (trade: traded; cancel, expire: what was open)
//  +48 u64 the maker's leaves after it   +56 u64 the taker's leaves after it
// A trade is at the resting order's price. The events of one operation are contiguous and in the order they happened.
export const EVENT_BYTES = 64;
export const EV_KIND = 0;
export const EV_TAKER_SIDE = 1;
export const EV_INSTRUMENT = 4;
export const EV_TRADE = 8;
export const EV_TAKER = 16;
export const EV_MAKER = 24;
export const EV_PRICE = 32;
export const EV_QTY = 40;
export const EV_MAKER_LEAVES = 48;
export const EV_TAKER_LEAVES = 56;
export const EV_KIND_TRADE = 1;
export const EV_KIND_CANCEL = 2; // a resting order cancelled by another's operation: self-trade prevention, or a mass cancel
export const EV_KIND_EXPIRE = 3; // a DAY order at the end of its day
// Level 2 depth, on the event stream only (never in a reply): after each orders request's events, one per price level
// the request changed: +1 the level's side, +4 instrument, +32 price, +40 the level's open quantity now (0: the level is
// gone), +48 u64 the orders resting at it now; the rest 0. At most DEPTH_CHANGES_MAX a request (the first ones changed).
export const EV_KIND_LEVEL = 4;
export const EV_LEVEL_ORDERS = 48;
export const DEPTH_CHANGES_MAX = 8192;
// An order trades with at most FILLS_PER_ORDER_MAX resting orders in one operation; what is left of it is cancelled
// (a market-protection bound, and what keeps one operation's events within its share of a reply).
export const FILLS_PER_ORDER_MAX = 256;
// The events one reply holds: an operation is applied only while room is left for its most (its fills, and for a
// replace or mass cancel the orders it cancels: MASS_CANCEL_MAX); the rest are answered RJ_BATCH_FULL.
export const EVENTS_PER_REPLY = 12288;
export const MASS_CANCEL_MAX = 4096; // orders one mass cancel cancels at most (ST_DONE's leaves says how many; send it again for more)

// ---- book query (16 bytes): +0 u32 instrument   +4 u32 depth (levels per side, 1..DEPTH_MAX)   +8 u8[8] 0 ----
// ---- level out (32 bytes): +0 u64 price   +8 u64 quantity (the level's open total)   +16 u32 orders   +20 u8[12] 0 ----
export const BOOK_QUERY_BYTES = 16;
export const BQ_INSTRUMENT = 0;
export const BQ_DEPTH = 4;
export const DEPTH_MAX = 1000;
export const LEVEL_OUT_BYTES = 32;
export const LO_PRICE = 0;
export const LO_QTY = 8;
export const LO_ORDERS = 16;

// ---- order out (96 bytes), order_get: a live order ----
//   +0 u64 order id   +8 u64 price   +16 u64 leaves   +24 u64 filled   +32 u64 client reference   +40 u32 instrument
//  +44 u8 side   +45 u8 time in force   +46 u8 flags   +47 u8 STP   +48 u64 quantity   +56 u64 entered (logical ns)
//  +64 u128 account   +80 u8[16] 0
export const ORDER_OUT_BYTES = 96;
export const OO_ORDER = 0;
export const OO_PRICE = 8;
export const OO_LEAVES = 16;
export const OO_FILLED = 24;
export const OO_CLIENT_REF = 32;
export const OO_INSTRUMENT = 40;
export const OO_SIDE = 44;
export const OO_TIF = 45;
export const OO_FLAGS = 46;
export const OO_STP = 47;
export const OO_QTY = 48;
export const OO_ENTERED = 56;
export const OO_ACCOUNT = 64;
export const LOOKUPS_MAX = 1024;

// ==== pre-trade checks (config "pretrade": true, with settlement; docs/trading.md "Pre-trade checks") ====
// Before anything is reserved, each new order and each replace goes to the compliance service as a pre-trade
// order (services/compliance/protocol.ts "pre-trade"): the instrument's cash ledger (its rule set), the side, the
// trader's cash account (its owner's sanctions mark), the order's value (price × quantity / 10^qty_scale in cash;
// a market order at the last trade), its price (a market order: the last trade), the last trade price as the
// reference, and the trader's position in the instrument after the order fills, in lots (the service keeps each
// account's position from its trades). A refused one is answered RJ_RISK with the rules that refused it.

// ==== settlement on the ledger (config "settlement": true; docs/trading.md "Settlement") ====
// Every transfer the trading service makes has the id (TRADING_TRANSFER_ID_HI | kind) << 64 | n, n counting the
// service's transfers from 1 ("QXTRD": apart from the payments service's "QXPAY" ids), user_data_64 the order id,
// user_data_128 the trade id (legs of a trade; else 0), user_data_32 the instrument, code the instrument's code.
//   reserve  before an order rests or trades: a buy's cash (its price, or a market buy's band top, × quantity)
//            from the trader's cash account to the cash escrow; a sell's quantity from the trader's asset account
//            to the asset escrow; linked to a probe of 0 from the other escrow to the trader's other account
//            (that it exists and is on its ledger: where the trade will pay it)
//   cash     a trade's cash from the cash escrow to the seller's cash account     } one linked chain a trade:
//   asset    a trade's quantity from the asset escrow to the buyer's asset account } both legs or neither
//   improve  a buyer that took a better price than it reserved at: the difference back to it (in the chain)
//   release  what an order reserved and will not use (cancelled, expired, the rest of an IOC, a rejection,
//            a replace to less) back from the escrow to the trader
// So an escrow account always holds what the resting orders reserved: Σ over resting buys of price × leaves /
// 10^qty_scale in cash, Σ over resting sells of leaves in the asset.
export const TRADING_TRANSFER_ID_HI = 0x5158545244000000;
export const XFER_RESERVE = 1;
export const XFER_PROBE = 2;
export const XFER_CASH = 3;
export const XFER_ASSET = 4;
export const XFER_IMPROVE = 5;
export const XFER_RELEASE = 6;
