//! qenex-native: the native block storage backend of the QENEX host.
//!
//! The kernel keeps its command log in one file per data directory; the
//! host's block device performs the reads and writes the kernel asks for
//! through a `BlockFile`. This addon exists for what Node's fs module cannot
//! do: an flock that dies with the process, fallocate that reserves blocks,
//! and a write+fdatasync pair that runs as one job off the JavaScript thread.
//!
//! Use from TypeScript (host/devices/block-backend.ts loads the .node file):
//! ```text
//! const file = BlockFile.open(path, { create: true, lock: true, readOnly: false });
//! await file.writeDurable(0, bytes);
//! file.close();
//! ```
//! Errors are JavaScript `Error`s with an errno-style `code` (see error.rs).
//! All `unsafe` code and all platform code is in sys.rs.

mod error;
mod ops;
mod sys;
mod tasks;

use std::cell::RefCell;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BufferSlice};
use napi_derive::napi;

use crate::error::IoFailure;
use crate::ops::{Handle, OpenRequest};
use crate::tasks::{FileTask, Job};

#[napi(object)]
pub struct OpenOptions {
    /// Create the file if it does not exist (never together with readOnly).
    pub create: bool,
    /// Take an exclusive, non-blocking lock; refuse if another holds it.
    pub lock: bool,
    /// Open without write access; writes then fail with code EBADF.
    pub read_only: bool,
}

/// One open block file. `close()` is idempotent; every other method throws
/// (code ECLOSED) once the file is closed.
#[napi]
pub struct BlockFile {
    path: String,
    // A cell, so that `close` takes `&self`: napi 3 keeps a shared borrow of
    // `this` until a returned AsyncTask settles, and a `&mut self` close
    // would be refused while any write is in flight. Only the JavaScript
    // thread touches it; tasks hold their own `Arc<Handle>`.
    handle: RefCell<Option<Arc<Handle>>>,
}

#[napi]
impl BlockFile {
    /// Opens `path`; with `lock`, fails (code ELOCKED) while another open
    /// file description, in any process, holds the lock.
    #[napi(factory)]
    pub fn open(path: String, options: OpenOptions) -> napi::Result<Self, String> {
        let request = OpenRequest {
            create: options.create,
            lock: options.lock,
            read_only: options.read_only,
        };
        let handle = ops::open(&path, &request).map_err(IoFailure::into_napi)?;
        Ok(BlockFile {
            path,
            handle: RefCell::new(Some(Arc::new(handle))),
        })
    }

    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Reads into `buffer` from `offsetBytes` until it is full or the file
    /// ends; returns the number of bytes read.
    // `BufferSlice` rather than a typed-array slice because it yields a
    // `&mut [u8]` without `unsafe`; Node accepts any Uint8Array as a Buffer.
    #[napi]
    pub fn read_at(&self, offset_bytes: f64, mut buffer: BufferSlice) -> napi::Result<f64, String> {
        let handle = self.live("readAt")?;
        let offset = self.range("readAt", offset_bytes, buffer.len())?;
        let count = handle
            .read_full_at(offset, &mut buffer)
            .map_err(IoFailure::into_napi)?;
        Ok(count as f64)
    }

    /// Writes all of `buffer` at `offsetBytes`; not durable until a sync.
    #[napi]
    pub fn write_at(&self, offset_bytes: f64, buffer: &[u8]) -> napi::Result<(), String> {
        let handle = self.live("writeAt")?;
        let offset = self.range("writeAt", offset_bytes, buffer.len())?;
        handle
            .write_all_at("pwrite", offset, buffer)
            .map_err(IoFailure::into_napi)
    }

    /// Writes all of `buffer` at `offsetBytes`, then fdatasync, off-thread.
    /// The bytes are copied now; the caller may reuse `buffer` at once.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn write_durable(
        &self,
        offset_bytes: f64,
        buffer: &[u8],
    ) -> napi::Result<AsyncTask<FileTask>, String> {
        let handle = self.live("writeDurable")?;
        let offset = self.range("writeDurable", offset_bytes, buffer.len())?;
        let job = Job::WriteDurable {
            offset_bytes: offset,
            data: buffer.to_vec(),
        };
        Ok(AsyncTask::new(FileTask::new(handle, job)))
    }

    /// fdatasync off-thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn sync(&self) -> napi::Result<AsyncTask<FileTask>, String> {
        let handle = self.live("sync")?;
        Ok(AsyncTask::new(FileTask::new(handle, Job::Sync)))
    }

    /// fdatasync on the JavaScript thread, for shutdown paths.
    #[napi]
    pub fn sync_now(&self) -> napi::Result<(), String> {
        self.live("syncNow")?
            .sync_data()
            .map_err(IoFailure::into_napi)
    }

    /// Grows the file to at least `lengthBytes` (zeros, blocks reserved on
    /// Linux), then fsync, off-thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn preallocate(&self, length_bytes: f64) -> napi::Result<AsyncTask<FileTask>, String> {
        let handle = self.live("preallocate")?;
        let length = self.length("preallocate", length_bytes)?;
        Ok(AsyncTask::new(FileTask::new(
            handle,
            Job::Preallocate {
                length_bytes: length,
            },
        )))
    }

    /// Sets the size to exactly `lengthBytes`, then fsync, off-thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn truncate(&self, length_bytes: f64) -> napi::Result<AsyncTask<FileTask>, String> {
        let handle = self.live("truncate")?;
        let length = self.length("truncate", length_bytes)?;
        Ok(AsyncTask::new(FileTask::new(
            handle,
            Job::Truncate {
                length_bytes: length,
            },
        )))
    }

    /// The file's size in bytes (fstat).
    #[napi]
    pub fn size(&self) -> napi::Result<f64, String> {
        let size_bytes = self.live("size")?.size().map_err(IoFailure::into_napi)?;
        assert!(
            size_bytes <= ops::OFFSET_BYTES_MAX,
            "a file beyond 2^53 bytes"
        );
        Ok(size_bytes as f64)
    }

    /// Drops this object's hold on the file. The descriptor, and the lock
    /// with it, is released once no task is still using it: releasing the
    /// lock under a write in flight would let another process in too early.
    #[napi]
    pub fn close(&self) {
        self.handle.replace(None);
    }

    fn live(&self, op: &str) -> napi::Result<Arc<Handle>, String> {
        match &*self.handle.borrow() {
            Some(handle) => Ok(Arc::clone(handle)),
            None => Err(IoFailure::closed(op, &self.path).into_napi()),
        }
    }

    fn range(&self, op: &str, offset_bytes: f64, length_bytes: usize) -> napi::Result<u64, String> {
        let offset = ops::bytes_from_js(op, &self.path, "offsetBytes", offset_bytes)
            .map_err(IoFailure::into_napi)?;
        ops::check_range(op, &self.path, offset, length_bytes).map_err(IoFailure::into_napi)?;
        Ok(offset)
    }

    fn length(&self, op: &str, length_bytes: f64) -> napi::Result<u64, String> {
        ops::bytes_from_js(op, &self.path, "lengthBytes", length_bytes)
            .map_err(IoFailure::into_napi)
    }
}
