//! Upload intake: the multipart body streamed to a temporary file under a hard size cap, and the
//! pure-Rust MP4 probe that decides whether the file is acceptable.

pub mod budget;
pub mod framing;
pub mod intake;
pub mod multipart;
pub mod probe;

pub use multipart::{MAX_UPLOAD_BYTES, ReceivedUpload, UploadForm, UploadRejection};
