//! HTTP plumbing every route shares: problem documents and error answers, JSON and field parsing,
//! the `Allow` header, who a client is (its network), and the middleware around every request.

pub mod allow;
pub mod client;
pub mod errors;
pub mod fields;
pub mod json;
pub mod middleware;
pub mod problem;
