//! The API's settings: the shared ones (see `platform::config`) plus its own.
//!
//! Variables read here:
//! - `LISTEN_ADDR`: address and port to serve on (default `127.0.0.1:8080` in dev,
//!   `0.0.0.0:8080` in production, where the load balancer must reach it).
//! - `JWT_SECRET`: HS256 signing key, at least 32 bytes; required in production.
//! - `TOKEN_LIFETIME_SECONDS`: access token lifetime (default 3600).
//! - `SIGNED_URL_TTL_SECONDS`: lifetime of the file links in video details (default 3600).
//! - `UPLOAD_DIR`: where uploads are streamed before they are stored (default: the system temp dir).
//! - `UPLOAD_MAX_CONCURRENT_PER_ACCOUNT`: uploads one account sends to one instance at once
//!   (default 2); more are answered 429 with `Retry-After` before their body is read.
//! - `UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT`: videos one account may have waiting for or in processing
//!   (`uploaded` or `processing`, default 5); a further upload is answered 429
//!   `too_many_videos_in_flight` with `Retry-After` before its body is read, and nothing is stored.
//! - `UPLOAD_DEADLINE_SECONDS`: the longest one upload's body may take (default 1200: 100 MB at
//!   about 0.7 Mbit/s); past it the upload is refused (400) and its slot freed.
//! - `UPLOAD_MAX_CONCURRENT`: uploads one instance receives at once (default 16); more are answered
//!   503 with `Retry-After` before their body is read. Each holds up to 100 MiB of `UPLOAD_DIR`
//!   and well under 1 MiB of memory.
//! - `UPLOAD_MOOV_BUDGET_MIB`: the memory all uploads' `moov` boxes may take at once while they
//!   are probed (default 64; one `moov` may have up to 32 MiB, or the budget if smaller). An upload
//!   that finds no room waits up to 5 s, then is answered 503 `busy` with `Retry-After`.
//! - `UPLOAD_MAX_SESSIONS_PER_ACCOUNT`: upload sessions one account may have open (taking parts,
//!   or joined and not yet accepted) at once (default 3); a further one is answered 429
//!   `too_many_upload_sessions` with `Retry-After`. A session lasts 24 h at most.
//! - `UPLOAD_SESSION_SWEEP_SECONDS`: how often expired upload sessions and what they stored are
//!   removed (default 300).
//! - `LOGIN_MAX_FAILURES_PER_EMAIL` (default 5) and `LOGIN_MAX_FAILURES_PER_CLIENT` (default 20)
//!   failed logins, and `SIGNUP_MAX_PER_CLIENT` (default 30) signups, per `LOGIN_WINDOW_SECONDS`
//!   (default 900) before answering 429.
//! - `SIGNUP_MAX_PER_IPV4_24` (default 90): signups per `LOGIN_WINDOW_SECONDS` from all the IPv4
//!   addresses of one /24, a ceiling over `SIGNUP_MAX_PER_CLIENT`. Past either limit, or
//!   `LOGIN_MAX_FAILURES_PER_*`, a request needs a proof of work (`integrity::proof`), harder the
//!   further past; without one it is answered 429 with the challenge to solve.
//! - `VOTE_MAX_PER_ACCOUNT_PER_MINUTE` (default 10): votes one account casts a minute (human
//!   speed; past it, 429 until the minute ends).
//! - `VOTE_MAX_PER_NETWORK_PER_HOUR` (default 300): votes from one network an hour before each
//!   further vote needs a proof of work.
//! - `VOTE_YOUNG_ACCOUNT_HOURS` (default 24), `VOTE_YOUNG_BURST` (default 2),
//!   `VOTE_SIGNUP_NETWORK_BURST` (default 3), `VOTE_NETWORK_SHARE_PERCENT` (default 30),
//!   `VOTE_NETWORK_SHARE_FLOOR` (default 10): the rules that hold a vote out of the ranking for
//!   review (`platform::videos::votes`): more than the burst of votes from young accounts of one
//!   network for one player within the young-account time; more than the signup burst of counted
//!   votes for one player from accounts that signed up on one network; or one network giving more
//!   than the share of a player's votes once it gives the floor.
//!   `VOTE_YOUNG_ACCOUNT_HOURS=0` and `VOTE_NETWORK_SHARE_PERCENT=100` turn them off.
//! - `REPORTS_TO_HIDE` (default 5): reports from this many distinct accounts whose e-mail is
//!   verified (every account while `EMAIL_VERIFICATION` is off) hide a video at once, pending
//!   review by staff.
//! - `TRUST_FORWARDED_FOR`: take the client address from the last `X-Forwarded-For` hop, as set by
//!   the load balancer (default false: the TCP peer); and add HSTS to answers the load balancer
//!   received over HTTPS (`X-Forwarded-Proto: https`).
//! - `CLIENT_ADDRESS_HEADER`: a header that carries the client's address when a proxy in front
//!   of the load balancer sets it and no client can (the stack behind CloudFront sets
//!   `CloudFront-Viewer-Address`); it wins over `X-Forwarded-For` when present.
//! - `PASSWORD_HASH_THREADS`: password hashes computed at once, off the request threads
//!   (default: the number of CPUs).
//! - `PASSWORD_HASH_QUEUE`: hashes that may wait for a thread (default 32 per thread); past it a
//!   login or signup is answered 503 with `Retry-After`.
//! - `WEB_DIR`: the web app's static build, served at `/` (default `web/build`, relative to the
//!   working directory; the image sets it). When the variable is set the build must be there;
//!   when the default is missing the API runs alone and `/` answers 404.
//! - `EMAIL_VERIFICATION`: whether an account must verify its e-mail address (default true; the
//!   vote rules read it). Off, no mail is sent and `MAIL_URL` is not read.
//! - `MAIL_URL`: where mail goes: `ses:<sender address>` (Amazon SES, the sender a verified
//!   identity), or `file:<dir>` / `file:///abs/dir` (one `.eml` file per message). Default in dev:
//!   `rising-stars-mail` under the system temp dir (its path is logged at start-up); required in
//!   production while verification is on.
//! - `PUBLIC_BASE_URL` (also read by `platform::config`): the web app's public address; a
//!   verification link is `<PUBLIC_BASE_URL>/verificar?token=…`. Required in production while
//!   verification is on (default `http://127.0.0.1:8080`).
//! - `EMAIL_VERIFICATION_TOKEN_HOURS`: how long a verification link works (default 24).
//! - `EMAIL_VERIFICATION_RESEND_SECONDS` (default 60) and `EMAIL_VERIFICATION_MAX_PER_DAY`
//!   (default 5): the least time between two verification mails to one account, and the most in
//!   24 hours (the signup's mail counts); past them a resend is answered 429 with `Retry-After`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use platform::config::{
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
    pub max_concurrent_uploads: usize,
    pub max_uploads_per_account: u32,
    /// Videos one account may have not yet processed (`UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT`).
    pub max_in_flight_per_account: u32,
    pub upload_deadline: Duration,
    /// Upload sessions one account may have open (`UPLOAD_MAX_SESSIONS_PER_ACCOUNT`).
    pub max_sessions_per_account: u32,
    /// How often expired upload sessions are swept (`UPLOAD_SESSION_SWEEP_SECONDS`).
    pub session_sweep_interval: Duration,
    /// MiB of `moov` boxes in memory at once (`UPLOAD_MOOV_BUDGET_MIB`).
    pub moov_budget_mib: u32,
    pub trust_forwarded_for: bool,
    pub client_address_header: Option<String>,
    pub web: WebSettings,
    pub votes: VoteSettings,
    /// Counting reports that hide a video (`REPORTS_TO_HIDE`).
    pub reports_to_hide: u32,
    /// `None` when `EMAIL_VERIFICATION` is off.
    pub verification: Option<VerificationSettings>,
}

/// How fast votes may come, and when one is held for review.
#[derive(Debug, Clone)]
pub struct VoteSettings {
    pub max_per_account_per_minute: u32,
    pub max_per_network_per_hour: u32,
    pub hold_rules: platform::videos::votes::HoldRules,
}

impl VoteSettings {
    fn from_env() -> Result<Self, ConfigError> {
        let rules = platform::videos::votes::HoldRules::default();
        let young_hours: u64 = parse_or(
            "VOTE_YOUNG_ACCOUNT_HOURS",
            rules.young_account.as_secs() / 3600,
        )?;
        let share: u32 = parse_or("VOTE_NETWORK_SHARE_PERCENT", rules.network_share_percent)?;
        if share == 0 || share > 100 {
            return Err(ConfigError::new(
                "VOTE_NETWORK_SHARE_PERCENT",
                "must be 1 to 100",
            ));
        }
        Ok(Self {
            max_per_account_per_minute: parse_or("VOTE_MAX_PER_ACCOUNT_PER_MINUTE", 10)?,
            max_per_network_per_hour: parse_or("VOTE_MAX_PER_NETWORK_PER_HOUR", 300)?,
            hold_rules: platform::videos::votes::HoldRules {
                young_account: Duration::from_secs(young_hours.saturating_mul(3600)),
                young_burst: parse_or("VOTE_YOUNG_BURST", rules.young_burst)?,
                signup_burst: parse_or("VOTE_SIGNUP_NETWORK_BURST", rules.signup_burst)?,
                // At 100 % no share is too much: a network's votes never exceed the player's.
                network_share_percent: share,
                network_share_floor: parse_or(
                    "VOTE_NETWORK_SHARE_FLOOR",
                    rules.network_share_floor,
                )?,
            },
        })
    }
}

/// Where the web app's build is.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub dir: PathBuf,
    /// `WEB_DIR` was given, so a missing build is an error rather than an API-only run.
    pub required: bool,
}

/// E-mail verification: where mail goes, where links point, and the limits.
#[derive(Debug, Clone)]
pub struct VerificationSettings {
    pub mail: MailSettings,
    /// The web app's public address, without a trailing slash (`PUBLIC_BASE_URL`).
    pub public_base_url: String,
    pub token_lifetime: Duration,
    pub resend_interval: Duration,
    pub max_per_day: u32,
}

/// Where outgoing mail goes (`MAIL_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSettings {
    /// One file per message in `dir`.
    Folder { dir: PathBuf },
    /// Amazon SES, from `sender` (a verified identity, or an address of a verified domain).
    Ses { sender: String },
}

/// The folder dev mail goes to when `MAIL_URL` is unset, under the system temp dir.
pub const DEV_MAIL_FOLDER: &str = "rising-stars-mail";

impl MailSettings {
    fn from_env(mode: RunMode) -> Result<Self, ConfigError> {
        match var("MAIL_URL") {
            Some(raw) => Self::parse(raw.trim()),
            None if mode == RunMode::Dev => Ok(Self::Folder {
                dir: std::env::temp_dir().join(DEV_MAIL_FOLDER),
            }),
            None => Err(ConfigError::new(
                "MAIL_URL",
                "is required when RUN_MODE=production and EMAIL_VERIFICATION is on: \
                 ses:<sender address> (or file:<dir>)",
            )),
        }
    }

    fn parse(raw: &str) -> Result<Self, ConfigError> {
        const NAME: &str = "MAIL_URL";
        if let Some(sender) = raw.strip_prefix("ses:") {
            let sender = sender.trim();
            let plain = |part: &str| {
                !part.is_empty()
                    && !part
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
            };
            return match sender.split_once('@') {
                Some((local, domain))
                    if plain(local)
                        && plain(domain)
                        && !domain.contains('@')
                        && domain.contains('.') =>
                {
                    Ok(Self::Ses {
                        sender: sender.to_owned(),
                    })
                }
                _ => Err(ConfigError::new(
                    NAME,
                    format!(
                        "ses: needs the sender's address, e.g. ses:no-reply@example.com (got {raw:?})"
                    ),
                )),
            };
        }
        if let Some(path) = raw.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(ConfigError::new(NAME, "file: needs a directory"));
            }
            return Ok(Self::Folder {
                dir: PathBuf::from(path),
            });
        }
        Err(ConfigError::new(
            NAME,
            format!("unknown scheme in {raw:?}: use ses:<sender address> or file:<dir>"),
        ))
    }
}

impl VerificationSettings {
    /// `None` when `EMAIL_VERIFICATION` is off.
    fn from_env(mode: RunMode) -> Result<Option<Self>, ConfigError> {
        if !flag_or("EMAIL_VERIFICATION", true)? {
            return Ok(None);
        }
        let public_base_url = match (var("PUBLIC_BASE_URL"), mode) {
            (Some(url), _) => url,
            (None, RunMode::Dev) => "http://127.0.0.1:8080".to_owned(),
            (None, RunMode::Production) => {
                return Err(ConfigError::new(
                    "PUBLIC_BASE_URL",
                    "is required when RUN_MODE=production and EMAIL_VERIFICATION is on: \
                     verification links point at it",
                ));
            }
        };
        let public_base_url = public_base_url.trim().trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&public_base_url)
            .map_err(|error| ConfigError::new("PUBLIC_BASE_URL", error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(ConfigError::new(
                "PUBLIC_BASE_URL",
                format!("expected an http(s) address without a query, got {public_base_url:?}"),
            ));
        }
        let hours: u64 = parse_or("EMAIL_VERIFICATION_TOKEN_HOURS", 24)?;
        if hours == 0 {
            return Err(ConfigError::new(
                "EMAIL_VERIFICATION_TOKEN_HOURS",
                "must be at least 1",
            ));
        }
        Ok(Some(Self {
            mail: MailSettings::from_env(mode)?,
            public_base_url,
            token_lifetime: Duration::from_secs(hours * 3600),
            resend_interval: seconds_or(
                "EMAIL_VERIFICATION_RESEND_SECONDS",
                Duration::from_secs(60),
            )?,
            max_per_day: parse_or("EMAIL_VERIFICATION_MAX_PER_DAY", 5_u32)?.max(1),
        }))
    }
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    pub token_lifetime: Duration,
    pub max_failures_per_email: u32,
    pub max_failures_per_client: u32,
    pub max_signups_per_client: u32,
    pub max_signups_per_ipv4_24: u32,
    pub failure_window: Duration,
    pub hash_threads: usize,
    pub hash_queue: usize,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = RunMode::from_env()?;
        let default_addr = match mode {
            RunMode::Dev => SocketAddr::from(([127, 0, 0, 1], 8080)),
            RunMode::Production => SocketAddr::from(([0, 0, 0, 0], 8080)),
        };
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let hash_threads = parse_or("PASSWORD_HASH_THREADS", cpus)?.max(1);
        let auth = AuthSettings {
            jwt_secret: mode.secret(
                "JWT_SECRET",
                "dev-only-jwt-secret-never-use-in-production",
                32,
            )?,
            token_lifetime: seconds_or("TOKEN_LIFETIME_SECONDS", Duration::from_secs(3600))?,
            max_failures_per_email: parse_or("LOGIN_MAX_FAILURES_PER_EMAIL", 5)?,
            max_failures_per_client: parse_or("LOGIN_MAX_FAILURES_PER_CLIENT", 20)?,
            max_signups_per_client: parse_or("SIGNUP_MAX_PER_CLIENT", 30)?,
            max_signups_per_ipv4_24: parse_or("SIGNUP_MAX_PER_IPV4_24", 90)?,
            failure_window: seconds_or("LOGIN_WINDOW_SECONDS", Duration::from_secs(900))?,
            hash_threads,
            hash_queue: parse_or("PASSWORD_HASH_QUEUE", hash_threads * 32)?.max(1),
        };
        if auth.token_lifetime.is_zero() {
            return Err(ConfigError::new(
                "TOKEN_LIFETIME_SECONDS",
                "must be at least 1",
            ));
        }
        let listen_addr = parse_or("LISTEN_ADDR", default_addr)?;
        let storage = StorageSettings::from_env(mode)?;
        // Dev mode is assumed on a laptop; beyond loopback the published dev secrets would sign
        // tokens and links anyone could forge, so there it must be said.
        let dev_secrets = var("JWT_SECRET").is_none()
            || (matches!(storage, StorageSettings::Local { .. })
                && var("URL_SIGNING_SECRET").is_none());
        if mode == RunMode::Dev
            && !RunMode::is_explicit()
            && dev_secrets
            && !listen_addr.ip().is_loopback()
        {
            return Err(ConfigError::new(
                "LISTEN_ADDR",
                format!(
                    "{listen_addr} is reachable beyond this machine while the built-in dev secrets                      are in use: set RUN_MODE=production with JWT_SECRET and URL_SIGNING_SECRET,                      or RUN_MODE=dev to run on the dev secrets on purpose"
                ),
            ));
        }
        Ok(Self {
            mode,
            listen_addr,
            database: DatabaseSettings::from_env()?,
            storage,
            queue: QueueSettings::from_env()?,
            auth,
            signed_url_ttl: seconds_or("SIGNED_URL_TTL_SECONDS", Duration::from_secs(3600))?,
            upload_dir: var("UPLOAD_DIR").map_or_else(std::env::temp_dir, PathBuf::from),
            max_concurrent_uploads: parse_or("UPLOAD_MAX_CONCURRENT", 16_usize)?.max(1),
            max_uploads_per_account: parse_or("UPLOAD_MAX_CONCURRENT_PER_ACCOUNT", 2_u32)?.max(1),
            max_in_flight_per_account: parse_or("UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT", 5_u32)?.max(1),
            upload_deadline: seconds_or("UPLOAD_DEADLINE_SECONDS", Duration::from_secs(1200))?,
            max_sessions_per_account: parse_or("UPLOAD_MAX_SESSIONS_PER_ACCOUNT", 3_u32)?.max(1),
            session_sweep_interval: seconds_or(
                "UPLOAD_SESSION_SWEEP_SECONDS",
                Duration::from_secs(300),
            )?
            .max(Duration::from_secs(1)),
            moov_budget_mib: parse_or("UPLOAD_MOOV_BUDGET_MIB", 64_u32)?.max(1),
            trust_forwarded_for: flag_or("TRUST_FORWARDED_FOR", false)?,
            client_address_header: var("CLIENT_ADDRESS_HEADER")
                .map(|name| name.to_ascii_lowercase()),
            web: match var("WEB_DIR") {
                Some(dir) if !PathBuf::from(&dir).join("index.html").is_file() => {
                    return Err(ConfigError::new(
                        "WEB_DIR",
                        "has no index.html: point it at the web app's build (web/build)",
                    ));
                }
                Some(dir) => WebSettings {
                    dir: PathBuf::from(dir),
                    required: true,
                },
                None => WebSettings {
                    dir: PathBuf::from("web/build"),
                    required: false,
                },
            },
            votes: VoteSettings::from_env()?,
            reports_to_hide: match parse_or("REPORTS_TO_HIDE", 5_u32)? {
                0 => return Err(ConfigError::new("REPORTS_TO_HIDE", "must be at least 1")),
                reports => reports,
            },
            // Last: a configuration error about anything above is named first.
            verification: VerificationSettings::from_env(mode)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_urls_are_recognised() {
        assert_eq!(
            MailSettings::parse("ses:no-reply@example.com").ok(),
            Some(MailSettings::Ses {
                sender: "no-reply@example.com".to_owned()
            })
        );
        assert_eq!(
            MailSettings::parse("file:///var/mail/rs").ok(),
            Some(MailSettings::Folder {
                dir: PathBuf::from("/var/mail/rs")
            })
        );
        assert_eq!(
            MailSettings::parse("file:target/mail").ok(),
            Some(MailSettings::Folder {
                dir: PathBuf::from("target/mail")
            })
        );
        for wrong in [
            "ses:",
            "ses:example.com",
            "ses:a b@example.com",
            "ses:Rising <a@example.com>",
            "ses:a@localhost",
            "file:",
            "smtp://mail.example.com",
        ] {
            let error = MailSettings::parse(wrong).err();
            assert_eq!(error.map(|e| e.variable), Some("MAIL_URL"), "{wrong}");
        }
    }
}
