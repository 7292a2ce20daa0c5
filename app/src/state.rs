//! What every request handler can reach: the database pool, storage and queue.

use std::sync::Arc;

use showcase::queue::JobQueue;
use showcase::storage::Storage;
use sqlx::PgPool;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub queue: Arc<dyn JobQueue>,
}
