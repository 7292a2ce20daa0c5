//! Authentication: argon2id password hashes, HS256 access tokens, the bearer extractor, login throttling.

pub mod bearer;
pub mod password;
pub mod throttle;
pub mod token;

pub use bearer::{BearerAuth, StaffAuth};
