//! `rising-stars-api migrate`: applies the schema migrations as the database's owner, then creates
//! or updates the service roles and their grants (`platform::roles`). Idempotent, and safe to run
//! from several tasks at once.
//!
//! Variables read here: the database ones of `platform::config` (the owner's credentials) and the
//! roles' of `platform::roles`.

use anyhow::Context;
use platform::config::DatabaseSettings;
use platform::roles::ServiceRoles;

/// Runs the migration step to the end.
pub async fn run() -> anyhow::Result<()> {
    let database = DatabaseSettings::from_env()?;
    let roles = ServiceRoles::from_env()?;
    let pool = platform::db::connect(&database)
        .await
        .context("DATABASE_URL: cannot connect to the database")?;
    platform::db::migrate(&pool)
        .await
        .context("cannot apply the migrations")?;
    platform::roles::apply(&pool, &roles)
        .await
        .context("cannot set up the service roles")?;
    tracing::info!(
        api = %roles.api.name,
        worker = %roles.worker.name,
        migrations = platform::db::MIGRATOR.iter().count(),
        "migrations applied, service roles and grants up to date"
    );
    pool.close().await;
    Ok(())
}
