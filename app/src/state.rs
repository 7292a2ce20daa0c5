//! What every request handler can reach: connections, backends and the auth machinery.

use std::sync::Arc;
use std::time::Duration;

use platform::queue::JobQueue;
use platform::storage::Storage;
use sqlx::PgPool;

use crate::auth::password::PasswordHashing;
use crate::auth::throttle::LoginThrottle;
use crate::auth::token::TokenKeys;
use crate::rankings::Rankings;
use crate::verification::Verification;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub queue: Arc<dyn JobQueue>,
    pub tokens: Arc<TokenKeys>,
    pub passwords: PasswordHashing,
    pub throttle: LoginThrottle,
    /// Rate counters and the proof-of-work step-up for signups and votes.
    pub integrity: crate::integrity::Integrity,
    pub signed_url_ttl: Duration,
    pub upload_dir: std::path::PathBuf,
    /// One permit per upload being received (`UPLOAD_MAX_CONCURRENT`).
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// The uploads each account is sending, at most `UPLOAD_MAX_CONCURRENT_PER_ACCOUNT` at once.
    pub account_uploads: Arc<crate::lines::KeyedLines>,
    pub max_uploads_per_account: u32,
    /// Videos one account may have waiting for or in processing
    /// (`UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT`).
    pub max_in_flight_per_account: u32,
    /// The longest one upload's body may take to arrive (`UPLOAD_DEADLINE_SECONDS`).
    pub upload_deadline: Duration,
    /// The memory the probes' `moov` boxes may take at once (`UPLOAD_MOOV_BUDGET_MIB`).
    pub moov_budget: crate::upload::budget::MoovBudget,
    pub trust_forwarded_for: bool,
    /// A trusted proxy's client-address header, lower-cased (`CLIENT_ADDRESS_HEADER`).
    pub client_address_header: Option<String>,
    pub rankings: Rankings,
    /// Published videos as the public reads them (cached list pages).
    pub showcase: crate::showcase::Showcase,
    /// Voting rounds and their final standings as the public reads them (cached pages).
    pub results: crate::results::Results,
    /// Counting reports that hide a video (`REPORTS_TO_HIDE`).
    pub reports_to_hide: u32,
    /// Whether an account must verify its e-mail address (`EMAIL_VERIFICATION`).
    pub email_verification: bool,
    /// Links and their mail; `Some` exactly when `email_verification` is on.
    pub verification: Option<Arc<Verification>>,
    /// The last readiness checks and when they ran (`/health/ready` answers from it for a few
    /// seconds, so a busy load balancer costs one round of checks, not one per probe).
    pub readiness: Arc<tokio::sync::Mutex<Option<(std::time::Instant, DependencyChecks)>>>,
}

/// How each dependency answered its readiness check (the error text is for the logs).
#[derive(Debug, Clone)]
pub struct DependencyChecks {
    pub database: Result<(), String>,
    pub storage: Result<(), String>,
    pub queue: Result<(), String>,
}
