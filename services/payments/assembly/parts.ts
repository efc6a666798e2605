// Requests larger than one message, assembled from their parts in order
// (../protocol.ts "message_part"): a pain.001 of thousands of transactions
// with its original bytes. The assembled request runs as any
// credit_transfers request does (payments.ts), so a message in parts is one
// message: one record, consecutive payments, one answer.

import * as P from "../protocol";
import { reply } from "../../sdk/qenex";
import { creditTransfers, refuse, replyArea } from "./payments";

// An assembly (internal, 64 bytes): +0 [32] the request's SHA-256 (its identity), +32 u32 its bytes
// (0: the slot is free), +36 u32 parts, +40 u32 the next part's index, +44 u32 bytes assembled,
// +48 u64 when it was begun (a count of assemblies begun: the oldest is dropped first).
const ASSEMBLY_BYTES: u32 = 64;
const A_TOTAL: u32 = 32;
const A_PARTS: u32 = 36;
const A_NEXT: u32 = 40;
const A_FILLED: u32 = 44;
const A_BEGUN: u32 = 48;

const assemblies: usize = memory.data(<i32>(P.ASSEMBLIES * ASSEMBLY_BYTES), 8);
let buffers: usize = 0; // ASSEMBLIES buffers of ASSEMBLED_BYTES_MAX, taken from the heap at the first part ever
let begun: u64 = 0;

function assemblyAt(i: u32): usize {
  assert(i < <u32>P.ASSEMBLIES, "an assembly slot");
  return assemblies + <usize>i * ASSEMBLY_BYTES;
}

function bufferOf(i: u32): usize {
  assert(buffers != 0 && i < <u32>P.ASSEMBLIES, "an assembly's buffer, taken at the first part");
  return buffers + <usize>i * P.ASSEMBLED_BYTES_MAX;
}

/** The assembly of the request whose SHA-256 is at `digest`, or -1. */
function assemblyFind(digest: usize): i32 {
  assert(P.ASSEMBLIES >= 1, "room for an assembly");
  for (let i: u32 = 0; i < <u32>P.ASSEMBLIES; i++) {
    const a = assemblyAt(i);
    if (load<u32>(a + A_TOTAL) != 0 && memory.compare(a, digest, 32) == 0) return <i32>i;
  }
  return -1;
}

/** A slot for a new assembly: a free one, else the one begun longest ago (dropped). */
function assemblyTake(): u32 {
  let oldest: u32 = 0;
  for (let i: u32 = 0; i < <u32>P.ASSEMBLIES; i++) {
    const a = assemblyAt(i);
    if (load<u32>(a + A_TOTAL) == 0) return i;
    if (load<u64>(a + A_BEGUN) < load<u64>(assemblyAt(oldest) + A_BEGUN)) oldest = i;
  }
  assert(oldest < <u32>P.ASSEMBLIES, "an assembly to drop");
  return oldest;
}

/** What is wrong with a message_part request of `len` bytes at `r`, or null. */
function partError(r: usize, len: u32): string | null {
  assert(<u64>P.PARTS_MAX * <u64>P.PART_BYTES_MAX >= <u64>P.ASSEMBLED_BYTES_MAX, "the parts can carry the largest request");
  if (len <= <u32>(P.HEADER_BYTES + P.PART_BYTES)) return "payments: a message part shorter than its header and lead record, or empty";
  const lead = r + P.HEADER_BYTES;
  const total = load<u32>(lead + P.PART_TOTAL);
  const index = load<u32>(lead + P.PART_INDEX);
  const parts = load<u32>(lead + P.PART_COUNT);
  const source = load<u8>(r + P.HEADER_SOURCE);
  if (source != <u8>P.SOURCE_PACS008 && source != <u8>P.SOURCE_PAIN001 && source != <u8>P.SOURCE_MT103 && source != <u8>P.SOURCE_JSON) {
    return "payments: a message part's source is not a credit transfer's";
  }
  if (load<u16>(r + P.HEADER_SCOPE) != 0 || load<u32>(r + P.HEADER_COUNT) != 1 || load<u32>(r + P.HEADER_ORIGINAL_BYTES) != 0
    || load<u32>(r + 12) != 0 || load<u32>(lead + 44) != 0) return "payments: a message part's reserved bytes are not zero, or its count not 1";
  if (parts < 2 || parts > <u32>P.PARTS_MAX || index >= parts) return "payments: a message part's index or count out of range";
  if (total <= <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES) || total > <u32>P.ASSEMBLED_BYTES_MAX) return "payments: an assembled request's length out of range";
  if (len - <u32>(P.HEADER_BYTES + P.PART_BYTES) > <u32>P.PART_BYTES_MAX) return "payments: a message part longer than PART_BYTES_MAX";
  return null;
}

/** Handles a message_part request of `len` bytes at `r`: taken (and the next asked for), or the whole request run. */
export function messagePart(token: u32, r: usize, len: u32): void {
  const bad = partError(r, len);
  if (bad !== null) { refuse(token, P.REFUSED_MALFORMED, bad); return; }
  const lead = r + P.HEADER_BYTES;
  const index = load<u32>(lead + P.PART_INDEX);
  let i = assemblyFind(lead + P.PART_DIGEST);
  if (index == 0) {
    if (buffers == 0) buffers = heap.alloc(<usize>P.ASSEMBLIES * P.ASSEMBLED_BYTES_MAX);
    if (i < 0) i = <i32>assemblyTake();
    const a = assemblyAt(<u32>i);
    memory.copy(a, lead + P.PART_DIGEST, 32);
    store<u32>(a + A_TOTAL, load<u32>(lead + P.PART_TOTAL));
    store<u32>(a + A_PARTS, load<u32>(lead + P.PART_COUNT));
    store<u32>(a + A_NEXT, 0);
    store<u32>(a + A_FILLED, 0);
    store<u64>(a + A_BEGUN, ++begun);
  }
  const a: usize = i < 0 ? 0 : assemblyAt(<u32>i);
  if (a == 0 || load<u32>(a + A_NEXT) != index || load<u32>(a + A_PARTS) != load<u32>(lead + P.PART_COUNT) || load<u32>(a + A_TOTAL) != load<u32>(lead + P.PART_TOTAL)) {
    refuse(token, P.REFUSED_MALFORMED, "payments: a message part out of order, or of no assembly in progress: send the request again from part 0");
    return;
  }
  const chunk = len - <u32>(P.HEADER_BYTES + P.PART_BYTES);
  assert(chunk > 0 && chunk <= <u32>P.PART_BYTES_MAX, "partError checked the part's length");
  const filled = load<u32>(a + A_FILLED);
  const total = load<u32>(a + A_TOTAL);
  if (<u64>filled + <u64>chunk > <u64>total || (index + 1 == load<u32>(a + A_PARTS) && filled + chunk != total)) {
    store<u32>(a + A_TOTAL, 0);
    refuse(token, P.REFUSED_MALFORMED, "payments: the parts do not add up to the request's length");
    return;
  }
  memory.copy(bufferOf(<u32>i) + filled, lead + P.PART_BYTES, chunk);
  store<u32>(a + A_FILLED, filled + chunk);
  store<u32>(a + A_NEXT, index + 1);
  if (index + 1 < load<u32>(a + A_PARTS)) { partTaken(token, filled + chunk); return; }
  store<u32>(a + A_TOTAL, 0); // done: the slot is free again (its buffer is read at once, below)
  const req = bufferOf(<u32>i);
  if (load<u8>(req + P.HEADER_OP) != <u8>P.Op.credit_transfers || load<u8>(req + P.HEADER_SOURCE) != load<u8>(r + P.HEADER_SOURCE)) {
    refuse(token, P.REFUSED_MALFORMED, "payments: the assembled request is not a credit_transfers request of the parts' source");
    return;
  }
  creditTransfers(token, req, total);
}

/** Answers a part taken: the reply header alone, REPLY_F_PART, and the bytes assembled so far. */
function partTaken(token: u32, filled: u32): void {
  const out = replyArea();
  assert(filled > 0 && filled < <u32>P.ASSEMBLED_BYTES_MAX, "a part taken, the request not yet whole");
  store<u32>(out, 0);
  store<u32>(out + 4, P.REPLY_F_PART);
  store<u64>(out + 8, <u64>filled);
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES);
}
