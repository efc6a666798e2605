//! Platform layer of the block addon.
//!
//! Every `cfg(target_os)`, every call into libc and every `unsafe` block of
//! the addon lives in this module, so porting the addon to a new operating
//! system means reading and changing this file only. The rest of the crate
//! calls the small functions below and never sees a raw file descriptor.
//!
//! Locking uses `std::fs::File::try_lock` (stable since Rust 1.89): on Linux
//! and the BSDs/macOS that is `flock(LOCK_EX | LOCK_NB)`, on Windows it is
//! `LockFileEx(LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY)`. flock
//! locks belong to the open file description, so a second `open` of the same
//! file in the same process is refused too, exactly like one from another
//! process.

use std::fs::File;
use std::io;

/// Reads up to `buffer.len()` bytes at `offset_bytes` without moving any
/// shared file cursor (pread). May return fewer bytes than asked.
pub fn read_at(file: &File, buffer: &mut [u8], offset_bytes: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buffer, offset_bytes)
    }
    #[cfg(windows)]
    {
        // seek_read moves the handle's cursor, which we never rely on: every
        // access of this crate names its offset.
        std::os::windows::fs::FileExt::seek_read(file, buffer, offset_bytes)
    }
}

/// Writes some of `data` at `offset_bytes` (pwrite). May write fewer bytes.
pub fn write_at(file: &File, data: &[u8], offset_bytes: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_at(file, data, offset_bytes)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_write(file, data, offset_bytes)
    }
}

/// Takes an exclusive lock without waiting. `Ok(false)` means another open
/// file description (in this process or another one) already holds it.
pub fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(err)) => Err(err),
    }
}

/// What `allocate_zeroed` managed to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Allocation {
    /// Blocks are reserved and the file is at least the asked length.
    Reserved,
    /// The platform or file system cannot reserve blocks; the caller extends
    /// the file with `set_len` instead (a sparse extension, still zeros).
    Unsupported,
}

/// Reserves disk blocks for bytes [0, length_bytes) with fallocate mode 0,
/// which also grows the file size and makes the new range read as zeros.
/// Reserving up front turns a later ENOSPC in the middle of a log append into
/// an ENOSPC at boot, where the operator can act on it.
#[cfg(target_os = "linux")]
pub fn allocate_zeroed(file: &File, length_bytes: u64) -> io::Result<Allocation> {
    use std::os::fd::AsRawFd;
    assert!(length_bytes > 0, "fallocate rejects a zero length");
    let length = libc::off_t::try_from(length_bytes)
        .map_err(|_| io::Error::from(io::ErrorKind::FileTooLarge))?;
    loop {
        // SAFETY: the descriptor is owned by `file`, which the borrow keeps
        // open for the duration of the call; fallocate reads no memory of
        // ours, it only takes integers.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, length) };
        if rc == 0 {
            return Ok(Allocation::Reserved);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            // tmpfs on old kernels, some FUSE and network file systems.
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => return Ok(Allocation::Unsupported),
            _ => return Err(err),
        }
    }
}

/// Non-Linux systems have no portable "reserve and zero" call (macOS needs
/// F_PREALLOCATE plus ftruncate, Windows SetFileInformationByHandle); until
/// QENEX runs in production there, the caller's `set_len` is enough.
#[cfg(not(target_os = "linux"))]
pub fn allocate_zeroed(_file: &File, length_bytes: u64) -> io::Result<Allocation> {
    assert!(length_bytes > 0, "a zero-length reservation is meaningless");
    Ok(Allocation::Unsupported)
}

/// The errno-style name of an I/O error ("ENOSPC", "EIO", ...), which the
/// host uses as the JavaScript error's `code`, the same field Node's own fs
/// errors carry. Unknown errors are "UNKNOWN", as in libuv.
#[cfg(unix)]
pub fn errno_code(err: &io::Error) -> &'static str {
    // EAGAIN/EWOULDBLOCK and ENOTSUP/EOPNOTSUPP share values on Linux, so
    // only one of each pair is listed.
    match err.raw_os_error() {
        Some(libc::ENOSPC) => "ENOSPC",
        Some(libc::EDQUOT) => "EDQUOT",
        Some(libc::EIO) => "EIO",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        Some(libc::ENOENT) => "ENOENT",
        Some(libc::EEXIST) => "EEXIST",
        Some(libc::EROFS) => "EROFS",
        Some(libc::EBADF) => "EBADF",
        Some(libc::EINVAL) => "EINVAL",
        Some(libc::EISDIR) => "EISDIR",
        Some(libc::ENOTDIR) => "ENOTDIR",
        Some(libc::EFBIG) => "EFBIG",
        Some(libc::EAGAIN) => "EAGAIN",
        Some(libc::EMFILE) => "EMFILE",
        Some(libc::ENFILE) => "ENFILE",
        Some(libc::ENAMETOOLONG) => "ENAMETOOLONG",
        Some(libc::ELOOP) => "ELOOP",
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
        Some(libc::ENOSYS) => "ENOSYS",
        _ => kind_code(err.kind()),
    }
}

/// Windows has no errno; the portable error kind is the best name we have.
#[cfg(not(unix))]
pub fn errno_code(err: &io::Error) -> &'static str {
    kind_code(err.kind())
}

fn kind_code(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::StorageFull => "ENOSPC",
        io::ErrorKind::QuotaExceeded => "EDQUOT",
        io::ErrorKind::NotFound => "ENOENT",
        io::ErrorKind::PermissionDenied => "EACCES",
        io::ErrorKind::AlreadyExists => "EEXIST",
        io::ErrorKind::ReadOnlyFilesystem => "EROFS",
        io::ErrorKind::IsADirectory => "EISDIR",
        io::ErrorKind::NotADirectory => "ENOTDIR",
        io::ErrorKind::FileTooLarge => "EFBIG",
        io::ErrorKind::InvalidInput => "EINVAL",
        io::ErrorKind::WouldBlock => "EAGAIN",
        io::ErrorKind::Unsupported => "ENOTSUP",
        _ => "UNKNOWN",
    }
}
