//! What the app and the worker share: configuration, database, storage and queue backends, the job message.
//!
//! No HTTP and no ffmpeg here: each binary adds its own job on top of these building blocks.

pub mod audit;
pub mod aws;
pub mod backends;
pub mod config;
pub mod db;
pub mod job;
pub mod queue;
pub mod roles;
pub mod rounds;
pub mod staff;
pub mod storage;
pub mod telemetry;
pub mod videos;
