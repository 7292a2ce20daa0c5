//! The API's settings: the shared ones (see `showcase::config`) plus its own.
//!
//! Variables read here:
//! - `LISTEN_ADDR`: address and port to serve on (default `127.0.0.1:8080` in dev,
//!   `0.0.0.0:8080` in production, where the load balancer must reach it).
//! - `JWT_SECRET`: HS256 signing key, at least 32 bytes; required in production.
//! - `TOKEN_LIFETIME_SECONDS`: access token lifetime (default 3600).
//! - `SIGNED_URL_TTL_SECONDS`: lifetime of the file links in video details (default 3600).
//! - `UPLOAD_DIR`: where uploads are streamed before they are stored (default: the system temp dir).
//! - `LOGIN_MAX_FAILURES_PER_EMAIL` (default 5) and `LOGIN_MAX_FAILURES_PER_CLIENT` (default 20)
//!   failed logins per `LOGIN_WINDOW_SECONDS` (default 900) before answering 429.
//! - `TRUST_FORWARDED_FOR`: take the client address from the last `X-Forwarded-For` hop, as set by
//!   the load balancer (default false: the TCP peer).
//! - `PASSWORD_HASH_THREADS`: password hashes computed at once, off the request threads
//!   (default: the number of CPUs).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use showcase::config::{
    ConfigError, DatabaseSettings, QueueSettings, RunMode, Secret, StorageSettings, flag_or,
    parse_or, seconds_or, var,
};

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: RunMode,
    pub listen_addr: SocketAddr,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub queue: QueueSettings,
    pub auth: AuthSettings,
    pub signed_url_ttl: Duration,
    pub upload_dir: PathBuf,
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    pub token_lifetime: Duration,
    pub max_failures_per_email: u32,
    pub max_failures_per_client: u32,
    pub failure_window: Duration,
    pub hash_threads: usize,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = RunMode::from_env()?;
        let default_addr = match mode {
            RunMode::Dev => SocketAddr::from(([127, 0, 0, 1], 8080)),
            RunMode::Production => SocketAddr::from(([0, 0, 0, 0], 8080)),
        };
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let auth = AuthSettings {
            jwt_secret: mode.secret(
                "JWT_SECRET",
                "dev-only-jwt-secret-never-use-in-production",
                32,
            )?,
            token_lifetime: seconds_or("TOKEN_LIFETIME_SECONDS", Duration::from_secs(3600))?,
            max_failures_per_email: parse_or("LOGIN_MAX_FAILURES_PER_EMAIL", 5)?,
            max_failures_per_client: parse_or("LOGIN_MAX_FAILURES_PER_CLIENT", 20)?,
            failure_window: seconds_or("LOGIN_WINDOW_SECONDS", Duration::from_secs(900))?,
            hash_threads: parse_or("PASSWORD_HASH_THREADS", cpus)?.max(1),
        };
        if auth.token_lifetime.is_zero() {
            return Err(ConfigError::new(
                "TOKEN_LIFETIME_SECONDS",
                "must be at least 1",
            ));
        }
        Ok(Self {
            mode,
            listen_addr: parse_or("LISTEN_ADDR", default_addr)?,
            database: DatabaseSettings::from_env()?,
            storage: StorageSettings::from_env(mode)?,
            queue: QueueSettings::from_env()?,
            auth,
            signed_url_ttl: seconds_or("SIGNED_URL_TTL_SECONDS", Duration::from_secs(3600))?,
            upload_dir: var("UPLOAD_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
            trust_forwarded_for: flag_or("TRUST_FORWARDED_FOR", false)?,
        })
    }
}
