//! The Rising Stars worker: the queue consumer and the in-process video pipeline that turns an
//! upload into a showcase clip.

pub mod config;
pub mod consumer;
pub mod database;
pub mod inspect;
pub mod pipeline;
pub mod reconciler;
pub mod self_check;
