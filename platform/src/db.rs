//! The PostgreSQL pool and the schema migrations (embedded in every binary).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseSettings;

/// Every migration in `platform/migrations`, applied at start-up (`DATABASE_MIGRATE=apply`) or by
/// the migration step (`rising-stars-api migrate`, see [`crate::roles`]).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Opens a pool. Acquiring a connection gives up after a few seconds, so that readiness checks and
/// requests fail fast while the database is down instead of hanging for sqlx's default 30 s.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose().parse()?;
    let options = options.application_name("rising-stars");
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
}

/// Like [`connect`], but without touching the database until the first query.
pub fn connect_lazy(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose().parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.application_name("rising-stars")))
}

/// Applies pending migrations; safe to run from several processes at once (sqlx takes a lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Checks that every migration this binary embeds was applied, without changing anything: what a
/// service whose role has no DDL rights does at start-up (`DATABASE_MIGRATE=check`).
pub async fn check_migrated(pool: &PgPool) -> anyhow::Result<()> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot read the applied migrations (run the migration step): {error}"
                )
            })?;
    let missing: Vec<String> = MIGRATOR
        .iter()
        .filter(|migration| !applied.contains(&migration.version))
        .map(|migration| format!("{:04}", migration.version))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "the database lacks migration(s) {}: run the migration step (`rising-stars-api migrate`) first",
        missing.join(", ")
    );
    Ok(())
}

/// Readiness: one round trip to the database.
pub async fn check(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// A short fingerprint of the embedded migrations: changes whenever a migration is added or edited.
pub fn migrations_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for migration in MIGRATOR.iter() {
        hash.update(migration.version.to_le_bytes());
        hash.update(&*migration.checksum);
    }
    hex::encode(hash.finalize())[..16].to_owned()
}
