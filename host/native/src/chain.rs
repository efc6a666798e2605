//! The command log's hashing, native: the leaf hash, chain hash and CRC-32C
//! of each entry of a batch (layout: hal/log.ts, generated into hal_log.rs).
//! The kernel decides what is hashed and checks what comes back; the host
//! crypto device (host/devices/crypto.ts) calls this, or its TypeScript
//! fallback, so that SHA-256 (SHA-NI) and CRC-32C (SSE 4.2) run natively
//! instead of in WebAssembly.

use napi::bindgen_prelude::BufferSlice;
use napi_derive::napi;
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/hal_log.rs"));

/// Bytes per entry in `out`: leaf hash, chain hash, CRC-32C, reserved.
pub const CHAIN_OUT_BYTES: usize = LOG_CHAIN_OUT_BYTES;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks the whole entries of `region` (each padded to ENTRY_ALIGN) from the
/// chain `prev` (32 bytes): for each, leaf = SHA-256(0x00 ‖ bytes
/// [ENTRY_LEAF_FROM, ENTRY_CHAIN) ‖ payload), chain = SHA-256(prev ‖ leaf),
/// and with `seal` writes the chain into the entry and then its CRC-32C over
/// [ENTRY_CRC_FROM, total); without, computes the CRC of the entry as it is.
/// Writes leaf ‖ chain ‖ crc ‖ 0 per entry into `out` and returns the number
/// of entries. An entry that is not whole, or without the magic, is an error
/// (the kernel sends only entries it staged or checked the framing of).
#[napi]
pub fn log_chain(mut region: BufferSlice, prev: BufferSlice, mut out: BufferSlice, seal: bool) -> napi::Result<u32> {
    let region: &mut [u8] = &mut region;
    let out: &mut [u8] = &mut out;
    if prev.len() != ENTRY_CHAIN_BYTES {
        return Err(napi::Error::from_reason("log_chain: the previous chain is 32 bytes"));
    }
    let mut chain = [0u8; 32];
    chain.copy_from_slice(&prev);
    let mut at = 0usize;
    let mut n = 0usize;
    while at < region.len() {
        if region.len() - at < ENTRY_HEADER_BYTES || u32_at(region, at) as usize != ENTRY_MAGIC {
            return Err(napi::Error::from_reason(format!("log_chain: no entry at byte {at}")));
        }
        let total = u32_at(region, at + ENTRY_TOTAL) as usize;
        let padded = total.div_ceil(ENTRY_ALIGN) * ENTRY_ALIGN;
        if total < ENTRY_HEADER_BYTES || padded > region.len() - at {
            return Err(napi::Error::from_reason(format!("log_chain: the entry at byte {at} is not whole")));
        }
        if (n + 1) * CHAIN_OUT_BYTES > out.len() {
            return Err(napi::Error::from_reason("log_chain: the output holds fewer entries than the region"));
        }
        let e = &mut region[at..at + total];
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(&e[ENTRY_LEAF_FROM..ENTRY_CHAIN]);
        h.update(&e[ENTRY_HEADER_BYTES..]);
        let leaf = h.finalize();
        let mut h = Sha256::new();
        h.update(chain);
        h.update(leaf);
        chain.copy_from_slice(&h.finalize());
        if seal {
            e[ENTRY_CHAIN..ENTRY_CHAIN + ENTRY_CHAIN_BYTES].copy_from_slice(&chain);
        }
        let crc = crc32c::crc32c(&e[ENTRY_CRC_FROM..]);
        if seal {
            e[ENTRY_CRC..ENTRY_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        }
        let o = &mut out[n * CHAIN_OUT_BYTES..(n + 1) * CHAIN_OUT_BYTES];
        o[0..32].copy_from_slice(&leaf);
        o[32..64].copy_from_slice(&chain);
        o[64..68].copy_from_slice(&crc.to_le_bytes());
        o[68..72].copy_from_slice(&[0u8; 4]);
        at += padded;
        n += 1;
    }
    Ok(n as u32)
}
