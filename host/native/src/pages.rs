//! Page digests for incremental snapshots (host/snapshot-pages.ts): the
//! SHA-256 of every 64 KiB page of a service's memory, so a capture can tell
//! which pages changed since the last durable snapshot. At a capture the
//! machine is paused while this runs, over hundreds of MiB: it runs natively
//! (SHA-NI) on every core, and a page of zeros (never stored) is told from
//! the others by a scan, not hashed.

use napi::bindgen_prelude::BufferSlice;
use napi_derive::napi;
use sha2::{Digest, Sha256};

const PAGE_BYTES: usize = 65536;
const HASH_BYTES: usize = 32;
/// Pages a thread takes at a time.
const STRIPE_PAGES: usize = 32;

/// A stripe of pages: the first page's number, its bytes, its digests' bytes.
type Stripe<'a> = (usize, &'a [u8], &'a mut [u8]);

/// Digest of one page into `out` (32 bytes): all zeros for a page of zeros.
fn digest(page: &[u8], out: &mut [u8]) {
    // OR of each 256-byte run (vectorised), so a page of zeros costs a scan at memory speed.
    if page.chunks(256).all(|run| run.iter().fold(0u8, |a, &b| a | b) == 0) {
        out.fill(0);
    } else {
        out.copy_from_slice(&Sha256::digest(page));
    }
}

/// For each page of `memory` (whole 64 KiB pages) outside [skip_from,
/// skip_to) (page numbers: the block cache, not state), writes its SHA-256
/// into `out` (32 bytes a page), or 32 zero bytes for a page of zeros or a
/// skipped one. Runs on up to `threads` threads (at least one).
#[napi]
pub fn page_digests(memory: BufferSlice, skip_from: u32, skip_to: u32, mut out: BufferSlice, threads: u32) -> napi::Result<()> {
    let memory: &[u8] = &memory;
    let out: &mut [u8] = &mut out;
    if !memory.len().is_multiple_of(PAGE_BYTES) {
        return Err(napi::Error::from_reason(format!("page_digests: {} bytes of memory is not whole pages", memory.len())));
    }
    let pages = memory.len() / PAGE_BYTES;
    if out.len() != pages * HASH_BYTES {
        return Err(napi::Error::from_reason(format!("page_digests: {} bytes of output for {pages} pages", out.len())));
    }
    let (skip_from, skip_to) = (skip_from as usize, skip_to as usize);
    let work = |first: usize, memory: &[u8], out: &mut [u8]| {
        for (k, (page, o)) in memory.chunks(PAGE_BYTES).zip(out.chunks_mut(HASH_BYTES)).enumerate() {
            let i = first + k;
            if i >= skip_from && i < skip_to {
                o.fill(0);
            } else {
                digest(page, o);
            }
        }
    };
    // Stripes of pages dealt round robin, so zeros and data (the memory's layout) are shared evenly.
    let threads = (threads.max(1) as usize).min(pages.div_ceil(STRIPE_PAGES).max(1));
    let mut shares: Vec<Vec<Stripe>> = (0..threads).map(|_| Vec::new()).collect();
    for (k, (m, o)) in memory.chunks(STRIPE_PAGES * PAGE_BYTES).zip(out.chunks_mut(STRIPE_PAGES * HASH_BYTES)).enumerate() {
        shares[k % threads].push((k * STRIPE_PAGES, m, o));
    }
    let run = |share: Vec<Stripe>| {
        for (first, m, o) in share {
            work(first, m, o);
        }
    };
    std::thread::scope(|s| {
        let mut shares = shares.into_iter();
        let own = shares.next().unwrap_or_default();
        let handles: Vec<_> = shares.map(|share| s.spawn(move || run(share))).collect();
        run(own);
        for h in handles {
            h.join().expect("page_digests: a worker panicked");
        }
    });
    Ok(())
}
