// lib/crc32c.ts: CRC-32C (Castagnoli), the checksum of command-log
// entries and block-device frames.
//
// CRC-32C rather than the zlib CRC-32 because its polynomial detects more
// error patterns at the lengths we write, and it is the checksum that storage
// systems (iSCSI, ext4, Btrfs) and hardware (SSE4.2, ARMv8 CRC) agree on, so
// a host-side tool can check our log with a stock library.
//
// Parameters: reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF,
// final xor 0xFFFFFFFF; check value crc32c("123456789") = 0xE3069283.
//
// Slicing-by-8: eight 256-entry tables let one step consume 8 bytes with eight
// independent lookups instead of eight dependent ones. The tables (8 KiB) are
// computed on first use into a static segment, so nothing allocates and the
// wasm binary does not carry 8 KiB of constants.

const POLY_REFLECTED: u32 = 0x82f63b78;
const TABLE_COUNT: usize = 8;
const TABLE_BYTES: usize = 256 * 4;

// TABLES + t * TABLE_BYTES is table t. Table 0 is the classic bytewise table;
// table t gives the CRC contribution of a byte followed by t zero bytes.
const TABLES: usize = memory.data(<i32>(TABLE_COUNT * TABLE_BYTES), 64);
let tablesReady: bool = false;

// @ts-ignore: decorator
@inline function entry(table: usize, index: u32): u32 {
  return load<u32>(TABLES + table * TABLE_BYTES + (<usize>index << 2));
}
// @ts-ignore: decorator
@inline function setEntry(table: usize, index: u32, v: u32): void {
  assert(table < TABLE_COUNT && index < 256, "crc32c: a table entry out of range");
  store<u32>(TABLES + table * TABLE_BYTES + (<usize>index << 2), v);
}

function buildTables(): void {
  assert(!tablesReady, "crc32c: the tables are built once");
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let bit: u32 = 0; bit < 8; bit++) {
      c = (c >>> 1) ^ (POLY_REFLECTED & (0 - (c & 1)));
    }
    setEntry(0, i, c);
  }
  for (let t: usize = 1; t < TABLE_COUNT; t++) {
    for (let i: u32 = 0; i < 256; i++) {
      const prev = entry(t - 1, i);
      setEntry(t, i, (prev >>> 8) ^ entry(0, prev & 0xff));
    }
  }
  // Spot checks that the tables are what the check value test relies on:
  // table 0 of the reflected Castagnoli polynomial has 0xF26B8303 at 1.
  assert(entry(0, 1) == 0xf26b8303, "crc32c: table 0 is wrong");
  assert(entry(0, 128) == POLY_REFLECTED, "crc32c: table 0 is wrong");
  tablesReady = true;
}

// Continues a CRC: `crc` is a finished value (0 for an empty prefix), so
//   crc32cUpdate(crc32c(a), b) == crc32c(a ++ b)
// and chunks may be checksummed as they arrive.
export function crc32cUpdate(crc: u32, data: usize, len: usize): u32 {
  // Checked once per call, never per byte: this is the log's hot path.
  assert(data != 0 || len == 0, "crc32c: bytes at address 0");
  assert(data + len >= data, "crc32c: a range that wraps the address space");
  if (!tablesReady) buildTables();
  let c = ~crc;
  let p = data;
  const end8 = data + (len & ~(<usize>7));
  // Unaligned loads are fine: WebAssembly allows them and x86/arm64 engines
  // execute them at full speed, so there is no alignment prologue.
  while (p < end8) {
    const lo = load<u32>(p) ^ c;
    const hi = load<u32>(p, 4);
    c = entry(7, lo & 0xff) ^ entry(6, (lo >>> 8) & 0xff)
      ^ entry(5, (lo >>> 16) & 0xff) ^ entry(4, lo >>> 24)
      ^ entry(3, hi & 0xff) ^ entry(2, (hi >>> 8) & 0xff)
      ^ entry(1, (hi >>> 16) & 0xff) ^ entry(0, hi >>> 24);
    p += 8;
  }
  const end = data + len;
  assert(p == end8 && end - p < 8, "crc32c: the 8-byte loop leaves fewer than 8 bytes");
  while (p < end) {
    c = (c >>> 8) ^ entry(0, (c ^ <u32>load<u8>(p)) & 0xff);
    p += 1;
  }
  return ~c;
}

// CRC-32C of `len` bytes at `data`.
export function crc32c(data: usize, len: usize): u32 {
  return crc32cUpdate(0, data, len);
}
