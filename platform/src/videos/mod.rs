//! A video's life, owned here: every statement that changes `videos` or `job_outbox`, the storage
//! key layout, and the reads the app and the worker need to decide on a change.
//!
//! - [`status`]: the values of `videos.status`.
//! - [`keys`]: every storage key a video has ([`VideoKeys`]), and whether a row owns a key.
//! - [`intake`]: an accepted upload's row and job, in one transaction.
//! - [`outbox`]: publishing a recorded job, and the relay that re-publishes what is left.
//! - [`attempts`]: a worker's claim, lease, result and release; the sweeper.
//! - [`owned`]: the owner's reads, the row locked for publish and delete, and the delete.
//! - [`publish`]: publishing for voting; [`votes`]: casting a vote.
//! - [`review`]: reports, hiding and restoring (the moderation queue's reads and decisions).
//! - [`bulk`]: whole-table changes for the developer tools.
//! - [`rules`]: what an upload must be (size, length, resolution, codec), written once.
//! - [`sessions`]: resumable upload sessions, their claims and their expiry.
//!
//! `xtask`'s tidy test keeps every `INSERT`, `UPDATE` or `DELETE` on `videos` or `job_outbox`
//! inside this folder.

pub mod attempts;
pub mod bulk;
pub mod intake;
pub mod keys;
pub mod outbox;
pub mod owned;
mod publish;
pub mod review;
pub mod rules;
pub mod sessions;
mod status;
pub mod votes;

pub use keys::VideoKeys;
pub use publish::publish;
pub use status::{UnknownStatus, VideoStatus};
