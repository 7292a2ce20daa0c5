//! Upload intake: the multipart body streamed to a temporary file under a hard size cap, and the
//! pure-Rust MP4 probe that decides whether the file is acceptable.

pub mod framing;
pub mod multipart;
pub mod probe;

pub use multipart::{ReceivedUpload, UploadForm, UploadRejection};

/// The most an upload may weigh: 100 MiB.
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;
