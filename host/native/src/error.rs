//! Errors of the block addon, as the host sees them.
//!
//! Every failure becomes a JavaScript `Error` whose `code` is an errno-style
//! name ("ENOSPC", "EIO", ...) or one of the addon's own codes below, and
//! whose message names the operation and the path, then the OS text:
//! `fdatasync /x/log.qxl: No space left on device (os error 28)`.
//! napi 3 lets us pick the `code`: `napi::Error<S>` is generic over its status
//! and `napi_create_error` receives `status.as_ref()` as the code. So callers
//! test `err.code === 'ENOSPC'`; the message does not need a prefix.
#![deny(unsafe_code)]

use std::io;

use crate::sys;

/// The lock is held by another open file description (another process, or
/// this one through a second open).
pub const CODE_LOCKED: &str = "ELOCKED";
/// An operation on a `BlockFile` after `close()`.
pub const CODE_CLOSED: &str = "ECLOSED";
/// A write on a file opened read-only; EBADF is what the OS itself would say.
pub const CODE_READ_ONLY: &str = "EBADF";
/// An argument the host should never have passed; mirrors Node's own code.
pub const CODE_BAD_ARGUMENT: &str = "ERR_INVALID_ARG_VALUE";

/// A failure that can cross threads (it holds no JavaScript value), built on
/// the libuv worker and turned into a JavaScript error on the main thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoFailure {
    pub code: &'static str,
    pub message: String,
}

impl IoFailure {
    pub fn os(op: &str, path: &str, err: &io::Error) -> Self {
        IoFailure {
            code: sys::errno_code(err),
            message: format!("{op} {path}: {err}"),
        }
    }

    pub fn locked(path: &str) -> Self {
        IoFailure {
            code: CODE_LOCKED,
            message: format!(
                "open {path}: the data file is locked by another qenex process \
                 (flock LOCK_EX|LOCK_NB refused); stop that process or use another data directory"
            ),
        }
    }

    pub fn closed(op: &str, path: &str) -> Self {
        IoFailure {
            code: CODE_CLOSED,
            message: format!("{op} {path}: the block file is closed"),
        }
    }

    pub fn read_only(op: &str, path: &str) -> Self {
        IoFailure {
            code: CODE_READ_ONLY,
            message: format!("{op} {path}: the block file was opened readOnly"),
        }
    }

    pub fn bad_argument(op: &str, path: &str, what: &str) -> Self {
        IoFailure {
            code: CODE_BAD_ARGUMENT,
            message: format!("{op} {path}: {what}"),
        }
    }

    /// For synchronous methods: napi-derive throws this with `code` set.
    pub fn into_napi(self) -> napi::Error<String> {
        napi::Error::new(self.code.to_string(), self.message)
    }

    /// For promises: `Task::resolve` can only return `napi::Error<Status>`,
    /// whose code would be the generic "GenericFailure". We therefore build
    /// the JavaScript error ourselves (with our code) and hand napi an error
    /// that references it; napi rejects the promise with that exact object.
    pub fn into_rejection(self, env: napi::Env) -> napi::Error {
        let js_error = napi::JsError::from(self.into_napi()).into_unknown(env);
        napi::Error::from(js_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 28 is ENOSPC on Linux; other systems number their errors differently.
    #[cfg(target_os = "linux")]
    #[test]
    fn os_errors_name_operation_path_and_errno() {
        // Proves the message layout and that ENOSPC is recognisable by code.
        let err = io::Error::from_raw_os_error(28);
        let failure = IoFailure::os("fdatasync", "/x/log.qxl", &err);
        assert_eq!(failure.code, "ENOSPC");
        assert!(failure.message.starts_with("fdatasync /x/log.qxl: "));
        assert!(failure.message.contains("os error 28"));
    }
}
