//! Opening everything a binary works with, in one place: the database (migrated, or checked to be
//! when `DATABASE_MIGRATE=check`), the storage and the queue, each failure naming the variable to
//! fix.

use std::sync::Arc;

use anyhow::Context;
use sqlx::PgPool;

use crate::config::{DatabaseSettings, Migrations, QueueSettings, StorageSettings};
use crate::queue::JobQueue;
use crate::storage::Storage;

/// The three backends of a running binary.
pub struct Backends {
    pub pool: PgPool,
    pub storage: Arc<dyn Storage>,
    pub queue: Arc<dyn JobQueue>,
}

/// Connects to the database and applies pending migrations (safe from several processes at
/// once), or with [`Migrations::Check`] only checks that they were applied; then opens the
/// storage and the queue the settings name.
pub async fn connect(
    database: &DatabaseSettings,
    storage: &StorageSettings,
    queue: &QueueSettings,
) -> anyhow::Result<Backends> {
    let pool = crate::db::connect(database)
        .await
        .context("DATABASE_URL: cannot connect to the database")?;
    match database.migrations {
        Migrations::Apply => crate::db::migrate(&pool)
            .await
            .context("DATABASE_URL: cannot apply the migrations")?,
        Migrations::Check => crate::db::check_migrated(&pool)
            .await
            .context("DATABASE_MIGRATE=check")?,
    }
    let aws = crate::aws::load_config_for(storage, queue).await;
    let storage = crate::storage::from_settings(storage, &aws)
        .await
        .context("STORAGE_URL: cannot open the storage")?;
    let queue = crate::queue::from_settings(queue, &pool, &aws);
    Ok(Backends {
        pool,
        storage,
        queue,
    })
}

/// Resolves on SIGTERM (what ECS sends) or Ctrl-C.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
}
