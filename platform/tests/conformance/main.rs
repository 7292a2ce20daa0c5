//! One conformance suite per backend trait, run against every backend: the local directory and S3
//! (on the moto emulator) for storage; PostgreSQL and SQS (on moto) for the queue.

mod queue;
mod storage;
