//! Test-only helpers: a private database per test, the AWS emulator's buckets and queues, generated files,
//! a TCP proxy that can fall silent, a proof-of-work solver.
//!
//! `cargo xtask test` starts PostgreSQL and the `moto` AWS emulator and exports where they are:
//! `TEST_DATABASE_URL` (an administrative connection; default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and `AWS_ENDPOINT_URL` (the emulator; no default, as a test must never reach real AWS).

mod aws;
mod database;
mod files;
pub mod media;
pub mod proof;
pub mod proxy;

pub use aws::{aws_config, s3_bucket, sqs_queue_with_dead_letter};
pub use database::TestDatabase;
pub use files::{peak_rss_bytes, peak_rss_bytes_of, random_file, same_contents};
