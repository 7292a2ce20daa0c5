//! The worker's settings: the shared ones (see `platform::config`) plus its own.
//!
//! Variables read here:
//! - `WORKER_CONCURRENCY`: jobs processed at once by this process (default 1).
//! - `WORKER_VISIBILITY_TIMEOUT_SECONDS`: how long a received job stays invisible; the worker
//!   extends it every third of that while it works (default 120).
//! - `WORKER_ENCODE_TIMEOUT_SECONDS`: the longest one render may take (default 600).
//! - `WORKER_SHUTDOWN_GRACE_SECONDS`: after SIGTERM, how long a running job may go on before it is
//!   cancelled and released for immediate redelivery (default 90; ECS waits up to 120).
//! - `WORKER_POLL_WAIT_SECONDS`: long-poll wait of each receive (default 20).
//! - `WORKER_RETRY_DELAY_SECONDS`: how long a job that failed for a passing reason waits before it
//!   is delivered again (default 10).
//! - `WORKER_DATABASE_WAIT_SECONDS`: how long a finished render (or a decided failure) waits for
//!   an absent database to record it, holding its job, before giving the job back (default 600).
//! - `WORKER_WORK_DIR`: where jobs download and render (default: the system temp dir).
//! - `WORKER_SWEEP_INTERVAL_SECONDS`: how often the worker looks for videos whose every allowed
//!   attempt was interrupted, to fail them (default 60).
//! - `WORKER_RECONCILE_INTERVAL_SECONDS` (default 3600) and `WORKER_ORPHAN_GRACE_SECONDS`
//!   (default 3600): how often the worker deletes stored files no video owns, and how old such a
//!   file must be (uploads and attempts in flight are younger).
//! - `WORKER_X264_PRESET` (default `veryfast`), `WORKER_X264_CRF` (default 23),
//!   `WORKER_THREADS` (FFmpeg threads per job, default 0 = one per core),
//!   `WORKER_LOGO_PATH` (a PNG replacing the built-in ANB logo).

use std::path::PathBuf;
use std::time::Duration;

use platform::config::{
    ConfigError, DatabaseSettings, QueueSettings, RunMode, StorageSettings, parse_or, seconds_or,
    var,
};

use crate::pipeline::PipelineSettings;

/// The shortest orphan grace production accepts: ten minutes, well past the longest an upload
/// takes to be stored and recorded.
pub const MIN_ORPHAN_GRACE: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub queue: QueueSettings,
    pub concurrency: usize,
    pub visibility_timeout: Duration,
    pub encode_timeout: Duration,
    pub shutdown_grace: Duration,
    pub poll_wait: Duration,
    pub retry_delay: Duration,
    pub database_wait: Duration,
    pub work_dir: PathBuf,
    pub sweep_interval: Duration,
    pub reconcile_interval: Duration,
    pub orphan_grace: Duration,
    /// Re-check the upload rules (shorter side ≥ 1080 px, at least 20 s) on the decoded frames.
    /// Always on for the service; tests of the machinery may turn it off to use small clips.
    pub enforce_upload_rules: bool,
    pub pipeline: PipelineSettings,
}

impl WorkerSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = RunMode::from_env()?;
        let visibility_timeout = seconds_or(
            "WORKER_VISIBILITY_TIMEOUT_SECONDS",
            Duration::from_secs(120),
        )?;
        if visibility_timeout < Duration::from_secs(3) {
            return Err(ConfigError::new(
                "WORKER_VISIBILITY_TIMEOUT_SECONDS",
                "must be at least 3 (the heartbeat runs every third of it)",
            ));
        }
        let crf: u8 = parse_or("WORKER_X264_CRF", 23)?;
        if crf > 51 {
            return Err(ConfigError::new("WORKER_X264_CRF", "must be 0–51"));
        }
        let preset = var("WORKER_X264_PRESET").unwrap_or_else(|| "veryfast".to_owned());
        const PRESETS: &[&str] = &[
            "ultrafast",
            "superfast",
            "veryfast",
            "faster",
            "fast",
            "medium",
            "slow",
            "slower",
            "veryslow",
            "placebo",
        ];
        if !PRESETS.contains(&preset.as_str()) {
            return Err(ConfigError::new(
                "WORKER_X264_PRESET",
                format!("unknown preset {preset:?}: one of {}", PRESETS.join(", ")),
            ));
        }
        let logo_path = var("WORKER_LOGO_PATH").map(PathBuf::from);
        if let Some(logo) = &logo_path
            && !logo.is_file()
        {
            return Err(ConfigError::new(
                "WORKER_LOGO_PATH",
                format!("{} is not a file", logo.display()),
            ));
        }
        let orphan_grace = seconds_or("WORKER_ORPHAN_GRACE_SECONDS", Duration::from_secs(3600))?;
        // Shorter, and an upload still being stored or an attempt still writing could lose its
        // files; the tests (dev mode) shorten it to see a pass at once.
        if mode == RunMode::Production && orphan_grace < MIN_ORPHAN_GRACE {
            return Err(ConfigError::new(
                "WORKER_ORPHAN_GRACE_SECONDS",
                format!(
                    "must be at least {} in production (files younger than that may belong to an \
                     upload or an attempt still in flight)",
                    MIN_ORPHAN_GRACE.as_secs()
                ),
            ));
        }
        Ok(Self {
            database: DatabaseSettings::from_env()?,
            storage: StorageSettings::from_env(mode)?,
            queue: QueueSettings::from_env()?,
            concurrency: parse_or("WORKER_CONCURRENCY", 1_usize)?.max(1),
            visibility_timeout,
            encode_timeout: seconds_or("WORKER_ENCODE_TIMEOUT_SECONDS", Duration::from_secs(600))?,
            shutdown_grace: seconds_or("WORKER_SHUTDOWN_GRACE_SECONDS", Duration::from_secs(90))?,
            poll_wait: seconds_or("WORKER_POLL_WAIT_SECONDS", Duration::from_secs(20))?,
            retry_delay: seconds_or("WORKER_RETRY_DELAY_SECONDS", Duration::from_secs(10))?,
            database_wait: seconds_or("WORKER_DATABASE_WAIT_SECONDS", Duration::from_secs(600))?,
            work_dir: var("WORKER_WORK_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
            sweep_interval: seconds_or("WORKER_SWEEP_INTERVAL_SECONDS", Duration::from_secs(60))?,
            reconcile_interval: seconds_or(
                "WORKER_RECONCILE_INTERVAL_SECONDS",
                Duration::from_secs(3600),
            )?,
            orphan_grace,
            enforce_upload_rules: true,
            pipeline: PipelineSettings {
                preset,
                crf,
                logo_path,
                threads: parse_or("WORKER_THREADS", 0_usize)?,
            },
        })
    }
}
