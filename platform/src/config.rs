//! Typed configuration from the environment (12-factor), shared by every binary.
//!
//! Variables read here (each binary documents the ones it adds):
//! - `RUN_MODE`: `dev` (default) or `production`; production refuses dev-only defaults for secrets.
//! - `DATABASE_URL`, or `DATABASE_HOST` + `DATABASE_PORT` + `DATABASE_NAME` + `DATABASE_USER` +
//!   `DATABASE_PASSWORD` + `DATABASE_SSLMODE` (how ECS injects an RDS-managed secret), and
//!   `DATABASE_SSLROOTCERT` (the certificate authorities that `verify-full` checks against);
//!   `DATABASE_MAX_CONNECTIONS` (default 10); `DATABASE_MIGRATE`: `apply` (default: start-up
//!   applies pending migrations, as `cargo xtask dev` and the tests want) or `check` (start-up
//!   only checks that they were applied: a deployed service's role has no DDL rights, the
//!   migration step does that, see `platform::roles`).
//! - `STORAGE_URL`: `file:///absolute/dir` or `file:relative/dir` (local directory) or
//!   `s3://bucket/optional/prefix`; `S3_FORCE_PATH_STYLE` (`true` for emulators);
//!   `PUBLIC_BASE_URL` (where the app serves local files, default `http://127.0.0.1:8080`);
//!   `URL_SIGNING_SECRET` (HMAC key for local file links; required in production).
//! - `QUEUE_URL`: `postgres` or `postgres:queue-name` (a table in the database) or an SQS queue URL
//!   (`https://…` / `http://…`); `QUEUE_MAX_RECEIVES` (PostgreSQL queue: receives before
//!   dead-lettering, default 3; SQS takes it from the queue's redrive policy).
//! - `AWS_REGION`, `AWS_ENDPOINT_URL` and the standard AWS credential variables, read by the AWS SDK.
//! - `LOG_FORMAT` (`json` default, or `text`) and `RUST_LOG` (filter, default `info`), see `telemetry`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// A configuration problem, always naming the variable so that one line tells an operator what to fix.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// Reads a variable; empty counts as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Reads and parses a variable, falling back to `default` when it is unset.
pub fn parse_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|error| ConfigError::new(name, format!("cannot parse {raw:?}: {error}"))),
    }
}

/// Reads a boolean variable (`true`/`false`/`1`/`0`/`yes`/`no`).
pub fn flag_or(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|raw| raw.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(raw) => match raw.as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(
                name,
                format!("expected true or false, got {raw:?}"),
            )),
        },
    }
}

/// Reads a duration given in whole seconds.
pub fn seconds_or(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    parse_or(name, default.as_secs()).map(Duration::from_secs)
}

/// A value that must not be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Whether dev-only conveniences (built-in secrets, local defaults) are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Dev,
    Production,
}

/// Variables that only a deployed task has (ECS and Fargate set them): with one of them present
/// and no `RUN_MODE`, a binary refuses to start rather than run on the built-in dev secrets.
const DEPLOYED_SIGNALS: [&str; 3] = [
    "ECS_CONTAINER_METADATA_URI_V4",
    "ECS_CONTAINER_METADATA_URI",
    "AWS_EXECUTION_ENV",
];

impl RunMode {
    pub fn from_env() -> Result<Self, ConfigError> {
        match var("RUN_MODE").as_deref().map(str::trim) {
            None => match DEPLOYED_SIGNALS.iter().find(|name| var(name).is_some()) {
                Some(signal) => Err(ConfigError::new(
                    "RUN_MODE",
                    format!(
                        "must be set where {signal} says this is a deployed task \
                         (production, or dev to run on the built-in dev secrets on purpose)"
                    ),
                )),
                None => Ok(Self::Dev),
            },
            Some("dev") | Some("development") => Ok(Self::Dev),
            Some("production") | Some("prod") => Ok(Self::Production),
            Some(other) => Err(ConfigError::new(
                "RUN_MODE",
                format!("expected dev or production, got {other:?}"),
            )),
        }
    }

    /// Whether `RUN_MODE` was said, rather than dev assumed for a laptop.
    pub fn is_explicit() -> bool {
        var("RUN_MODE").is_some()
    }

    /// A secret variable: required in production, `dev_default` otherwise.
    pub fn secret(
        self,
        name: &'static str,
        dev_default: &str,
        min_bytes: usize,
    ) -> Result<Secret, ConfigError> {
        match (var(name), self) {
            (Some(value), _) if value.len() >= min_bytes => Ok(Secret::new(value)),
            (Some(_), _) => Err(ConfigError::new(
                name,
                format!("must be at least {min_bytes} bytes long"),
            )),
            (None, RunMode::Dev) => Ok(Secret::new(dev_default)),
            (None, RunMode::Production) => Err(ConfigError::new(
                name,
                "is required when RUN_MODE=production",
            )),
        }
    }
}

/// Where the database is and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
    pub migrations: Migrations,
}

/// What a binary does with the schema migrations at start-up (`DATABASE_MIGRATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Applies the pending ones: the connecting user owns the schema (local development, tests).
    Apply,
    /// Only checks that every migration this binary knows was applied, and refuses to start
    /// otherwise: the user is a service role without DDL rights (the deployed stack).
    Check,
}

impl Migrations {
    fn from_env() -> Result<Self, ConfigError> {
        match var("DATABASE_MIGRATE").as_deref().map(str::trim) {
            None | Some("apply") => Ok(Self::Apply),
            Some("check") => Ok(Self::Check),
            Some(other) => Err(ConfigError::new(
                "DATABASE_MIGRATE",
                format!("expected apply or check, got {other:?}"),
            )),
        }
    }
}

/// The database the dev stack and the tests use when nothing else is configured.
pub const DEV_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/rising_stars";

impl DatabaseSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let url = match (var("DATABASE_URL"), var("DATABASE_HOST")) {
            (Some(url), _) => {
                Url::parse(&url).map_err(|error| {
                    ConfigError::new("DATABASE_URL", format!("not a URL: {error}"))
                })?;
                url
            }
            (None, Some(host)) => Self::url_from_parts(&host)?,
            (None, None) => DEV_DATABASE_URL.to_owned(),
        };
        Ok(Self {
            url: Secret::new(url),
            max_connections: parse_or("DATABASE_MAX_CONNECTIONS", 10)?,
            migrations: Migrations::from_env()?,
        })
    }

    fn url_from_parts(host: &str) -> Result<String, ConfigError> {
        let port: u16 = parse_or("DATABASE_PORT", 5432)?;
        let name = var("DATABASE_NAME").unwrap_or_else(|| "rising_stars".to_owned());
        let user = var("DATABASE_USER")
            .ok_or_else(|| ConfigError::new("DATABASE_USER", "is required with DATABASE_HOST"))?;
        let password = var("DATABASE_PASSWORD").unwrap_or_default();
        let sslmode = var("DATABASE_SSLMODE").unwrap_or_else(|| "prefer".to_owned());
        let mut url = Url::parse("postgres://localhost")
            .map_err(|error| ConfigError::new("DATABASE_HOST", error.to_string()))?;
        url.set_host(Some(host))
            .map_err(|error| ConfigError::new("DATABASE_HOST", error.to_string()))?;
        // Setting these on a postgres:// URL with a host cannot fail.
        let _ = url.set_port(Some(port));
        let _ = url.set_username(&user);
        if !password.is_empty() {
            let _ = url.set_password(Some(&password));
        }
        url.set_path(&name);
        url.query_pairs_mut().append_pair("sslmode", &sslmode);
        if let Some(root_certificates) = var("DATABASE_SSLROOTCERT") {
            url.query_pairs_mut()
                .append_pair("sslrootcert", &root_certificates);
        }
        Ok(url.into())
    }
}

/// Which storage backend holds the videos.
#[derive(Debug, Clone)]
pub enum StorageSettings {
    Local {
        root: PathBuf,
        public_base_url: Url,
        signing_secret: Secret,
    },
    S3 {
        bucket: String,
        prefix: String,
        force_path_style: bool,
    },
}

/// The storage directory of the dev stack, relative to the working directory.
pub const DEV_STORAGE_URL: &str = "file:target/dev/storage";

/// The table queue `QUEUE_URL=postgres` names.
pub const DEFAULT_QUEUE_NAME: &str = "video-jobs";
/// Receives before a message is dead-lettered, unless `QUEUE_MAX_RECEIVES` says otherwise.
pub const DEFAULT_MAX_RECEIVES: u32 = 3;

impl StorageSettings {
    pub fn from_env(mode: RunMode) -> Result<Self, ConfigError> {
        let raw = var("STORAGE_URL").unwrap_or_else(|| DEV_STORAGE_URL.to_owned());
        Self::parse(&raw, mode)
    }

    fn parse(raw: &str, mode: RunMode) -> Result<Self, ConfigError> {
        const NAME: &str = "STORAGE_URL";
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(ConfigError::new(NAME, "s3:// needs a bucket name"));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                force_path_style: flag_or("S3_FORCE_PATH_STYLE", false)?,
            });
        }
        if let Some(path) = raw.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(ConfigError::new(NAME, "file: needs a directory"));
            }
            let base = var("PUBLIC_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
            let public_base_url = Url::parse(&base)
                .map_err(|error| ConfigError::new("PUBLIC_BASE_URL", error.to_string()))?;
            return Ok(Self::Local {
                root: PathBuf::from(path),
                public_base_url,
                signing_secret: mode.secret(
                    "URL_SIGNING_SECRET",
                    "dev-only-url-signing-secret-not-for-production",
                    32,
                )?,
            });
        }
        Err(ConfigError::new(
            NAME,
            format!("unknown scheme in {raw:?}: use file:<dir> or s3://<bucket>/<prefix>"),
        ))
    }
}

/// Which queue carries the processing jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueSettings {
    Postgres { name: String, max_receives: u32 },
    Sqs { url: String },
}

impl QueueSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw = var("QUEUE_URL").unwrap_or_else(|| "postgres".to_owned());
        let max_receives = parse_or("QUEUE_MAX_RECEIVES", DEFAULT_MAX_RECEIVES)?;
        Self::parse(&raw, max_receives)
    }

    fn parse(raw: &str, max_receives: u32) -> Result<Self, ConfigError> {
        const NAME: &str = "QUEUE_URL";
        if max_receives == 0 {
            return Err(ConfigError::new("QUEUE_MAX_RECEIVES", "must be at least 1"));
        }
        if raw == "postgres" {
            return Ok(Self::Postgres {
                name: DEFAULT_QUEUE_NAME.to_owned(),
                max_receives,
            });
        }
        if let Some(name) = raw.strip_prefix("postgres:") {
            if name.is_empty() || name.contains('/') {
                return Err(ConfigError::new(
                    NAME,
                    "postgres:<name> needs a plain queue name",
                ));
            }
            return Ok(Self::Postgres {
                name: name.to_owned(),
                max_receives,
            });
        }
        if raw.starts_with("https://") || raw.starts_with("http://") {
            Url::parse(raw).map_err(|error| ConfigError::new(NAME, error.to_string()))?;
            return Ok(Self::Sqs {
                url: raw.to_owned(),
            });
        }
        Err(ConfigError::new(
            NAME,
            format!("unknown queue {raw:?}: use postgres, postgres:<name> or an SQS queue URL"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_url_schemes_are_recognised() {
        let s3 = StorageSettings::parse("s3://bucket/videos/", RunMode::Production);
        assert!(
            matches!(s3, Ok(StorageSettings::S3 { ref bucket, ref prefix, .. }) if bucket == "bucket" && prefix == "videos")
        );
        let local = StorageSettings::parse("file:///var/lib/rs", RunMode::Dev);
        assert!(
            matches!(local, Ok(StorageSettings::Local { ref root, .. }) if root == &PathBuf::from("/var/lib/rs"))
        );
        let relative = StorageSettings::parse("file:target/x", RunMode::Dev);
        assert!(
            matches!(relative, Ok(StorageSettings::Local { ref root, .. }) if root == &PathBuf::from("target/x"))
        );
    }

    #[test]
    fn unknown_storage_scheme_names_the_variable() {
        let error = StorageSettings::parse("ftp://x", RunMode::Dev).err();
        assert_eq!(error.map(|e| e.variable), Some("STORAGE_URL"));
    }

    #[test]
    fn queue_urls_are_recognised() {
        assert_eq!(
            QueueSettings::parse("postgres", 3).ok(),
            Some(QueueSettings::Postgres {
                name: "video-jobs".into(),
                max_receives: 3
            })
        );
        assert_eq!(
            QueueSettings::parse("postgres:other", 5).ok(),
            Some(QueueSettings::Postgres {
                name: "other".into(),
                max_receives: 5
            })
        );
        assert!(matches!(
            QueueSettings::parse("https://sqs.us-east-1.amazonaws.com/1/q", 3),
            Ok(QueueSettings::Sqs { .. })
        ));
        assert_eq!(
            QueueSettings::parse("redis://x", 3)
                .err()
                .map(|e| e.variable),
            Some("QUEUE_URL")
        );
        assert_eq!(
            QueueSettings::parse("postgres", 0)
                .err()
                .map(|e| e.variable),
            Some("QUEUE_MAX_RECEIVES")
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
