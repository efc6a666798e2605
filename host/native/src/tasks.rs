//! The operations that wait for the disk, run on a libuv worker thread.
//!
//! Each promise-returning method of `BlockFile` builds one `FileTask` and
//! hands it to napi's `AsyncTask`, so fdatasync, fallocate and ftruncate never
//! stall the JavaScript thread. A task owns everything it touches: an `Arc`
//! of the open file and, for writes, its own copy of the bytes.
#![deny(unsafe_code)]

use std::sync::{Arc, Mutex};

use napi::{Env, Task};

use crate::error::IoFailure;
use crate::ops::Handle;

/// Buffers kept, per open file, of the copies its durable writes made.
const SPARES_MAX: usize = 2;
/// A buffer larger than this (a write far beyond the log's batches) is freed.
const SPARE_BYTES_MAX: usize = 16 << 20;

/// The copy buffers of finished writes, handed to the next ones: a fresh
/// allocation per megabyte-sized write cost its page faults and their zeroing
/// on the JavaScript thread on top of the copy; a reused buffer is only the
/// memcpy. Shared between the file and its tasks (the worker thread gives
/// a buffer back when the write is done).
#[derive(Clone, Default)]
pub struct Spares(Arc<Mutex<Vec<Vec<u8>>>>);

impl Spares {
    /// A copy of `bytes`, in a kept buffer when there is one.
    pub fn copy_of(&self, bytes: &[u8]) -> Vec<u8> {
        let kept = self.0.lock().ok().and_then(|mut spares| spares.pop());
        let mut copy = kept.unwrap_or_default();
        copy.clear();
        copy.extend_from_slice(bytes);
        copy
    }

    fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() > SPARE_BYTES_MAX {
            return;
        }
        if let Ok(mut spares) = self.0.lock() {
            if spares.len() < SPARES_MAX {
                spares.push(buffer);
            }
        }
    }
}

pub enum Job {
    /// pwrite then fdatasync. The bytes are copied when the task is made
    /// because JavaScript may reuse or detach its buffer as soon as the call
    /// returns; a copy is one memcpy (into a kept buffer, see `Spares`), far
    /// cheaper than the fdatasync after it.
    WriteDurable {
        offset_bytes: u64,
        data: Vec<u8>,
        spares: Spares,
    },
    Sync,
    Preallocate {
        length_bytes: u64,
    },
    Truncate {
        length_bytes: u64,
    },
}

pub struct FileTask {
    handle: Arc<Handle>,
    job: Job,
}

impl FileTask {
    pub fn new(handle: Arc<Handle>, job: Job) -> Self {
        FileTask { handle, job }
    }

    fn run(&self) -> Result<(), IoFailure> {
        match &self.job {
            Job::WriteDurable { offset_bytes, data, .. } => {
                self.handle.write_all_at("pwrite", *offset_bytes, data)?;
                self.handle.sync_data()
            }
            Job::Sync => self.handle.sync_data(),
            Job::Preallocate { length_bytes } => self.handle.preallocate(*length_bytes),
            Job::Truncate { length_bytes } => self.handle.truncate(*length_bytes),
        }
    }
}

impl Task for FileTask {
    /// The failure travels as a value, not as `Err`: `compute` could only
    /// return a `napi::Error<Status>`, which would lose our errno `code`.
    type Output = Result<(), IoFailure>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let outcome = self.run();
        if let Job::WriteDurable { data, spares, .. } = &mut self.job {
            spares.give_back(std::mem::take(data));
        }
        Ok(outcome)
    }

    fn resolve(&mut self, env: Env, outcome: Self::Output) -> napi::Result<Self::JsValue> {
        outcome.map_err(|failure| failure.into_rejection(env))
    }
}
