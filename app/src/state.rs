//! What every request handler can reach: connections, backends and the auth machinery.

use std::sync::Arc;
use std::time::Duration;

use showcase::queue::JobQueue;
use showcase::storage::Storage;
use sqlx::PgPool;

use crate::auth::password::PasswordHashing;
use crate::auth::throttle::LoginThrottle;
use crate::auth::token::TokenKeys;
use crate::rankings::Rankings;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub queue: Arc<dyn JobQueue>,
    pub tokens: Arc<TokenKeys>,
    pub passwords: PasswordHashing,
    pub throttle: LoginThrottle,
    pub signed_url_ttl: Duration,
    pub upload_dir: std::path::PathBuf,
    pub trust_forwarded_for: bool,
    pub rankings: Rankings,
}
