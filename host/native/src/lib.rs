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
//! All `unsafe` code and all platform code is in sys.rs, but the calls into
//! libxml2 (the ISO 20022 admission check, xml.rs), which are in libxml.rs.

mod chain;
mod pages;
mod libxml;
mod xml;
mod xml_prolog;
mod seal;
mod error;
mod hsm;
mod ops;
mod sys;
mod tasks;

use std::cell::RefCell;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BufferSlice};
use napi_derive::napi;

use crate::error::IoFailure;
use crate::ops::{Handle, OpenRequest};
use crate::hsm::{HsmJob, HsmTask, KeyKind, Token};
use crate::tasks::{FileTask, Job, Spares};

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
    spares: Spares,
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
            spares: Spares::default(),
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
            data: self.spares.copy_of(buffer),
            spares: self.spares.clone(),
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

#[napi(object)]
pub struct HsmOptions {
    /// Path of the PKCS#11 module (.so), e.g. /usr/lib/softhsm/libsofthsm2.so.
    pub module: String,
    /// Label of an initialised token in that module.
    pub token: String,
    /// The token user's PIN.
    pub pin: String,
}

fn key_kind(kind: &str) -> napi::Result<KeyKind, String> {
    match kind {
        "signing" | "private" => Ok(KeyKind::SigningPrivate),
        "public" => Ok(KeyKind::SigningPublic),
        "secret" => Ok(KeyKind::Secret),
        other => Err(IoFailure {
            code: error::CODE_BAD_ARGUMENT,
            message: format!("hsm: key kind {other:?} is not one of signing, public, secret"),
        }
        .into_napi()),
    }
}

/// A logged-in session on a PKCS#11 token (the host's HSM device). Every
/// method that talks to the token returns a promise and runs off the
/// JavaScript thread. Errors carry a `code`: EHSM_CONFIG (module, token or
/// PIN), EHSM_NOKEY, EHSM_EXISTS, EHSM_UNEXTRACTABLE, EHSM_AUTH, EHSM.
#[napi]
pub struct Hsm {
    token: RefCell<Option<Arc<Token>>>,
}

#[napi]
impl Hsm {
    /// Loads the module, finds the token by label and logs in. Blocks: it is
    /// called once, at start-up, before any service runs.
    #[napi(factory)]
    pub fn open(options: HsmOptions) -> napi::Result<Self, String> {
        let token = Token::open(&options.module, &options.token, &options.pin)
            .map_err(IoFailure::into_napi)?;
        Ok(Hsm { token: RefCell::new(Some(Arc::new(token))) })
    }

    #[napi(getter)]
    pub fn module(&self) -> napi::Result<String, String> {
        Ok(self.live("module")?.module_path().to_string())
    }

    #[napi(getter)]
    pub fn token_label(&self) -> napi::Result<String, String> {
        Ok(self.live("tokenLabel")?.token_label().to_string())
    }

    /// Creates an ECDSA P-384 pair (private half sensitive, non-extractable);
    /// resolves to the public point 0x04||X||Y (97 bytes).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn generate_signing_key(&self, label: String) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("generateSigningKey", HsmJob::GenerateSigningKey { label })
    }

    /// The public point of the signing pair `label` (EHSM_NOKEY if absent).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn signing_public_key(&self, label: String) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("signingPublicKey", HsmJob::SigningPublicKey { label })
    }

    /// Creates an AES-256 key (sensitive, non-extractable).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn generate_secret_key(&self, label: String) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("generateSecretKey", HsmJob::GenerateSecretKey { label })
    }

    /// Whether a key of `kind` ('signing' | 'public' | 'secret') has `label`.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn has_key(&self, label: String, kind: String) -> napi::Result<AsyncTask<HsmTask>, String> {
        let kind = key_kind(&kind)?;
        self.task("hasKey", HsmJob::HasKey { label, kind })
    }

    /// ECDSA P-384 over SHA-384(data); resolves to r||s (96 bytes).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn sign(&self, label: String, data: &[u8]) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("sign", HsmJob::Sign { label, data: data.to_vec() })
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn verify(&self, label: String, data: &[u8], signature: &[u8]) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task(
            "verify",
            HsmJob::Verify { label, data: data.to_vec(), signature: signature.to_vec() },
        )
    }

    /// AES-256-GCM (12-byte IV, 16-byte tag); resolves to ciphertext||tag.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn encrypt(&self, label: String, iv: &[u8], aad: &[u8], data: &[u8]) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task(
            "encrypt",
            HsmJob::Encrypt { label, iv: iv.to_vec(), aad: aad.to_vec(), data: data.to_vec() },
        )
    }

    /// Inverse of encrypt; rejects with EHSM_AUTH on any mismatch.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn decrypt(&self, label: String, iv: &[u8], aad: &[u8], data: &[u8]) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task(
            "decrypt",
            HsmJob::Decrypt { label, iv: iv.to_vec(), aad: aad.to_vec(), data: data.to_vec() },
        )
    }

    /// `count` bytes from the token's generator.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn random(&self, count: u32) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("random", HsmJob::Random { count })
    }

    /// Stores `value` as a private data object on the token (refuses to
    /// replace one). For small blobs such as a sealed ML-DSA seed.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn put_data(&self, label: String, value: &[u8]) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("putData", HsmJob::PutData { label, value: value.to_vec() })
    }

    /// The value of the data object `label` (EHSM_NOKEY if absent).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn get_data(&self, label: String) -> napi::Result<AsyncTask<HsmTask>, String> {
        self.task("getData", HsmJob::GetData { label })
    }

    /// Attempts to take a key's value out (CKA_VALUE, then C_WrapKey under
    /// `wrappingLabel`). Rejects with EHSM_UNEXTRACTABLE for every key this
    /// device makes; exists to prove that.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn export_key(&self, label: String, kind: String, wrapping_label: String) -> napi::Result<AsyncTask<HsmTask>, String> {
        let kind = key_kind(&kind)?;
        self.task("exportKey", HsmJob::Export { label, kind, wrapping_label })
    }

    /// Drops this object's session; pending calls finish first.
    #[napi]
    pub fn close(&self) {
        self.token.replace(None);
    }

    fn live(&self, op: &str) -> napi::Result<Arc<Token>, String> {
        match &*self.token.borrow() {
            Some(token) => Ok(Arc::clone(token)),
            None => Err(IoFailure::closed(op, "hsm").into_napi()),
        }
    }

    fn task(&self, op: &str, job: HsmJob) -> napi::Result<AsyncTask<HsmTask>, String> {
        Ok(AsyncTask::new(HsmTask::new(self.live(op)?, job)))
    }
}
