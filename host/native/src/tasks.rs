//! The operations that wait for the disk, run on a libuv worker thread.
//!
//! Each promise-returning method of `BlockFile` builds one `FileTask` and
//! hands it to napi's `AsyncTask`, so fdatasync, fallocate and ftruncate never
//! stall the JavaScript thread. A task owns everything it touches: an `Arc`
//! of the open file and, for writes, its own copy of the bytes.
#![deny(unsafe_code)]

use std::sync::Arc;

use napi::{Env, Task};

use crate::error::IoFailure;
use crate::ops::Handle;

pub enum Job {
    /// pwrite then fdatasync. The bytes are copied when the task is made
    /// because JavaScript may reuse or detach its buffer as soon as the call
    /// returns; a copy is one memcpy, far cheaper than the fdatasync after it.
    WriteDurable {
        offset_bytes: u64,
        data: Vec<u8>,
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
            Job::WriteDurable { offset_bytes, data } => {
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
        Ok(self.run())
    }

    fn resolve(&mut self, env: Env, outcome: Self::Output) -> napi::Result<Self::JsValue> {
        outcome.map_err(|failure| failure.into_rejection(env))
    }
}
