//! Upload intake: the multipart body streamed to a temporary file under a hard size cap, and the
//! pure-Rust MP4 probe that decides whether the file is acceptable; and upload sessions, whose
//! parts arrive one by one (straight to S3, or through the API) and are probed where they are
//! stored.

pub mod budget;
pub mod framing;
pub mod intake;
pub mod multipart;
pub mod probe;
pub mod sessions;
pub mod stored;

pub use multipart::{MAX_UPLOAD_BYTES, ReceivedUpload, UploadForm, UploadRejection};
