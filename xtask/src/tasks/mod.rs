//! The tasks themselves, one file each (`deploy.rs` holds the five stack tasks); each is thin and
//! leans on the layers in `deploy/`, `env/` and `loadtest/`. `cargo xtask loadtest` lives in
//! `loadtest/`, with the machinery only it uses.

pub mod ballots;
pub mod bench;
pub mod demo;
pub mod deploy;
pub mod dev;
pub mod images;
pub mod openapi;
pub mod screens;
pub mod seed;
pub mod staff;
pub mod test;
pub mod web_suite;
