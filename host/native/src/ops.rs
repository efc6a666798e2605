//! The block file's operations in plain Rust, free of N-API types.
//!
//! `lib.rs` calls these on the JavaScript thread (reads, plain writes) and
//! `tasks.rs` calls them on a libuv worker (everything that waits for the
//! disk). Keeping them free of napi types lets `cargo test` exercise them.
#![deny(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;

use crate::error::IoFailure;
use crate::sys;

/// JavaScript numbers are exact integers only up to 2^53 - 1, so no offset
/// or length beyond it can reach us without having been rounded already.
pub const OFFSET_BYTES_MAX: u64 = (1 << 53) - 1;

pub struct OpenRequest {
    pub create: bool,
    pub lock: bool,
    pub read_only: bool,
}

/// An open block file. Shared (`Arc`) between the `BlockFile` object and any
/// task in flight, so the descriptor (and with it the flock) stays valid
/// until the last user is done, even if JavaScript calls `close()` first.
pub struct Handle {
    file: File,
    path: String,
    read_only: bool,
}

pub fn open(path: &str, request: &OpenRequest) -> Result<Handle, IoFailure> {
    if request.create && request.read_only {
        return Err(IoFailure::bad_argument(
            "open",
            path,
            "create and readOnly exclude each other",
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(!request.read_only)
        .create(request.create)
        .open(path)
        .map_err(|err| IoFailure::os("open", path, &err))?;
    let metadata = file
        .metadata()
        .map_err(|err| IoFailure::os("fstat", path, &err))?;
    if metadata.is_dir() {
        let err = io::Error::from(io::ErrorKind::IsADirectory);
        return Err(IoFailure::os("open", path, &err));
    }
    if request.lock {
        match sys::try_lock_exclusive(&file) {
            Ok(true) => {}
            Ok(false) => return Err(IoFailure::locked(path)),
            Err(err) => return Err(IoFailure::os("flock", path, &err)),
        }
    }
    Ok(Handle {
        file,
        path: path.to_string(),
        read_only: request.read_only,
    })
}

/// Converts a JavaScript number into an offset or length, refusing anything
/// that is not an exact non-negative integer: a fractional or negative
/// offset is a host bug, and silently truncating it would corrupt the log.
pub fn bytes_from_js(op: &str, path: &str, name: &str, value: f64) -> Result<u64, IoFailure> {
    let exact = value.is_finite() && value.fract() == 0.0;
    if !exact || value < 0.0 || value > OFFSET_BYTES_MAX as f64 {
        let what = format!("{name} must be an integer in [0, 2^53 - 1], got {value}");
        return Err(IoFailure::bad_argument(op, path, &what));
    }
    Ok(value as u64)
}

/// Checks that [offset, offset + length) stays within OFFSET_BYTES_MAX.
pub fn check_range(
    op: &str,
    path: &str,
    offset_bytes: u64,
    length_bytes: usize,
) -> Result<(), IoFailure> {
    let end_bytes = offset_bytes.checked_add(length_bytes as u64);
    match end_bytes {
        Some(end) if end <= OFFSET_BYTES_MAX => Ok(()),
        _ => Err(IoFailure::bad_argument(
            op,
            path,
            "offsetBytes + length exceeds 2^53 - 1",
        )),
    }
}

impl Handle {
    pub fn path(&self) -> &str {
        &self.path
    }

    /// pread until `buffer` is full or the file ends; returns bytes read.
    pub fn read_full_at(&self, offset_bytes: u64, buffer: &mut [u8]) -> Result<usize, IoFailure> {
        let mut done_bytes = 0usize;
        while done_bytes < buffer.len() {
            let at_bytes = offset_bytes + done_bytes as u64;
            match sys::read_at(&self.file, &mut buffer[done_bytes..], at_bytes) {
                Ok(0) => break,
                Ok(count) => done_bytes += count,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(IoFailure::os("pread", &self.path, &err)),
            }
        }
        assert!(done_bytes <= buffer.len());
        Ok(done_bytes)
    }

    /// pwrite the whole of `data`; a short write is retried, never reported.
    pub fn write_all_at(&self, op: &str, offset_bytes: u64, data: &[u8]) -> Result<(), IoFailure> {
        self.check_writable(op)?;
        let mut done_bytes = 0usize;
        while done_bytes < data.len() {
            let at_bytes = offset_bytes + done_bytes as u64;
            match sys::write_at(&self.file, &data[done_bytes..], at_bytes) {
                Ok(0) => {
                    let err = io::Error::from(io::ErrorKind::WriteZero);
                    return Err(IoFailure::os(op, &self.path, &err));
                }
                Ok(count) => done_bytes += count,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(IoFailure::os(op, &self.path, &err)),
            }
        }
        assert_eq!(done_bytes, data.len());
        Ok(())
    }

    /// fdatasync: the data and the metadata needed to read it back.
    pub fn sync_data(&self) -> Result<(), IoFailure> {
        self.file
            .sync_data()
            .map_err(|err| IoFailure::os("fdatasync", &self.path, &err))
    }

    /// Makes the file at least `length_bytes` long, reading as zeros, with
    /// its blocks reserved where the platform can, then fsyncs the new size.
    pub fn preallocate(&self, length_bytes: u64) -> Result<(), IoFailure> {
        self.check_writable("preallocate")?;
        if length_bytes > 0 {
            let outcome = sys::allocate_zeroed(&self.file, length_bytes)
                .map_err(|err| IoFailure::os("fallocate", &self.path, &err))?;
            if outcome == sys::Allocation::Unsupported && self.size()? < length_bytes {
                self.set_len(length_bytes)?;
            }
        }
        self.sync_all()?;
        let size_bytes = self.size()?;
        assert!(
            size_bytes >= length_bytes,
            "preallocate left the file short"
        );
        Ok(())
    }

    /// Cuts (or extends with zeros) the file to exactly `length_bytes`, then
    /// fsyncs so the new end survives a crash.
    pub fn truncate(&self, length_bytes: u64) -> Result<(), IoFailure> {
        self.check_writable("truncate")?;
        self.set_len(length_bytes)?;
        self.sync_all()?;
        let size_bytes = self.size()?;
        assert_eq!(size_bytes, length_bytes, "ftruncate left another size");
        Ok(())
    }

    pub fn size(&self) -> Result<u64, IoFailure> {
        let metadata = self
            .file
            .metadata()
            .map_err(|err| IoFailure::os("fstat", &self.path, &err))?;
        Ok(metadata.len())
    }

    fn set_len(&self, length_bytes: u64) -> Result<(), IoFailure> {
        self.file
            .set_len(length_bytes)
            .map_err(|err| IoFailure::os("ftruncate", &self.path, &err))
    }

    /// fsync rather than fdatasync: a size change is the point of the call.
    fn sync_all(&self) -> Result<(), IoFailure> {
        self.file
            .sync_all()
            .map_err(|err| IoFailure::os("fsync", &self.path, &err))
    }

    fn check_writable(&self, op: &str) -> Result<(), IoFailure> {
        if self.read_only {
            return Err(IoFailure::read_only(op, &self.path));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory per test; returns it and the data file path in it.
    fn temp_path(name: &str) -> (std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("qenex-native-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.qxl").to_string_lossy().into_owned();
        (dir, path)
    }

    fn writer() -> OpenRequest {
        OpenRequest {
            create: true,
            lock: true,
            read_only: false,
        }
    }

    #[test]
    fn round_trip_preallocate_and_truncate() {
        // Proves the plain-Rust layer: data written comes back, preallocate
        // grows with zeros, truncate sets the exact size.
        let (dir, path) = temp_path("round-trip");
        let handle = open(&path, &writer()).unwrap();
        handle.write_all_at("pwrite", 4, b"qenex").unwrap();
        handle.preallocate(4096).unwrap();
        assert_eq!(handle.size().unwrap(), 4096);
        let mut buffer = [0xffu8; 16];
        assert_eq!(handle.read_full_at(0, &mut buffer).unwrap(), 16);
        assert_eq!(&buffer[..9], b"\0\0\0\0qenex");
        assert!(buffer[9..].iter().all(|&byte| byte == 0));
        handle.truncate(6).unwrap();
        assert_eq!(handle.read_full_at(0, &mut buffer).unwrap(), 6);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn second_locked_open_in_the_same_process_is_refused() {
        // Proves flock conflicts between two descriptions in one process.
        let (dir, path) = temp_path("lock");
        let first = open(&path, &writer()).unwrap();
        let refused = open(&path, &writer()).err().unwrap();
        assert_eq!(refused.code, crate::error::CODE_LOCKED);
        drop(first);
        assert!(open(&path, &writer()).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn offsets_must_be_exact_non_negative_integers() {
        // Proves that rounding, negatives and NaN never reach pread/pwrite.
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 9007199254740992.0] {
            assert!(bytes_from_js("pread", "/p", "offsetBytes", bad).is_err());
        }
        assert_eq!(
            bytes_from_js("pread", "/p", "offsetBytes", 4096.0).unwrap(),
            4096
        );
        assert!(check_range("pwrite", "/p", OFFSET_BYTES_MAX, 1).is_err());
    }
}
