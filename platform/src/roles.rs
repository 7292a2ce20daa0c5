//! The database roles of the deployed services and their grants, in one place: the migration step
//! (`rising-stars-api migrate`, the only holder of the master credentials) applies the migrations
//! and then this, so that the API and the worker connect as roles that own nothing and run no DDL.
//!
//! - The API's role reads and writes the rows of every table (it is the product), but cannot
//!   create, alter or drop anything, nor touch the migrations' bookkeeping, nor change or remove
//!   a row of the audit log (`staff_actions`) or of a closed round's frozen standings
//!   (`round_standings`): it may only read and append those.
//! - The worker's role (it decodes hostile files) sees only what processing needs: videos (read,
//!   update; never insert or delete), the id and city of users (publishing credits a player's city,
//!   never `password_hash` or e-mail), the ranking totals a publication adds to, the job outbox
//!   (it puts back a job the queue lost) and the table queue of local runs.
//!
//! Variables read here (by the migration step only): `DATABASE_API_USER` (default
//! `rising_stars_api`), `DATABASE_API_PASSWORD`, `DATABASE_WORKER_USER` (default
//! `rising_stars_worker`), `DATABASE_WORKER_PASSWORD`.

use sqlx::{AssertSqlSafe, Connection, Executor, PgPool};

use crate::config::{ConfigError, Secret, var};

/// Serialises concurrent migration steps (several web tasks starting at once) around role changes.
const ROLES_LOCK: i64 = 0x726f_6c65_7321;

/// The grants of both roles, applied in one transaction after every migration run. `%1$I` is the
/// API's role, `%2$I` the worker's (quoted by the server's `format`). Tables added by a later
/// migration are the API's at once (`ALL TABLES`); the worker gets a new table only by a line here.
const GRANTS: &[&str] = &[
    // PostgreSQL 15 and later already refuse this; older servers let every role create tables.
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "GRANT USAGE ON SCHEMA public TO %1$I, %2$I",
    // Start from nothing, so that a privilege dropped from this list is taken back.
    "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %1$I, %2$I",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %1$I",
    "REVOKE ALL ON _sqlx_migrations FROM %1$I",
    // The audit log of staff actions is append-only (a trigger refuses the rest for everyone).
    "REVOKE UPDATE, DELETE, TRUNCATE ON staff_actions FROM %1$I",
    // A closed round's standings are frozen (a trigger refuses changes for everyone, too).
    "REVOKE UPDATE, DELETE, TRUNCATE ON round_standings FROM %1$I",
    // Both services check at start-up that the schema has their migrations (DATABASE_MIGRATE=check).
    "GRANT SELECT ON _sqlx_migrations TO %1$I, %2$I",
    "GRANT SELECT, UPDATE ON videos TO %2$I",
    "GRANT SELECT (id, city) ON users TO %2$I",
    "GRANT SELECT, INSERT, UPDATE ON player_scores, listing_counts TO %2$I",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON queue_messages TO %2$I",
    // Putting back a job the queue lost (platform::videos::attempts::requeue_stranded) and
    // publishing it (the outbox relay).
    "GRANT SELECT, INSERT, UPDATE, DELETE ON job_outbox TO %2$I",
];

/// A login role: its name and password.
#[derive(Debug, Clone)]
pub struct Login {
    pub name: String,
    pub password: Secret,
}

/// The two service roles the migration step keeps up to date.
#[derive(Debug, Clone)]
pub struct ServiceRoles {
    pub api: Login,
    pub worker: Login,
}

impl ServiceRoles {
    pub fn from_env() -> Result<Self, ConfigError> {
        let login = |user: &'static str, default: &str, password: &'static str| {
            let name = var(user).unwrap_or_else(|| default.to_owned());
            if name.is_empty()
                || name.len() > 63
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(ConfigError::new(
                    user,
                    "must be 1-63 lower-case letters, digits or underscores",
                ));
            }
            let password = var(password)
                .ok_or_else(|| ConfigError::new(password, "is required by the migration step"))?;
            Ok(Login {
                name,
                password: Secret::new(password),
            })
        };
        let roles = Self {
            api: login(
                "DATABASE_API_USER",
                "rising_stars_api",
                "DATABASE_API_PASSWORD",
            )?,
            worker: login(
                "DATABASE_WORKER_USER",
                "rising_stars_worker",
                "DATABASE_WORKER_PASSWORD",
            )?,
        };
        if roles.api.name == roles.worker.name {
            return Err(ConfigError::new(
                "DATABASE_WORKER_USER",
                "must differ from DATABASE_API_USER",
            ));
        }
        Ok(roles)
    }
}

/// Creates the two roles (or sets their passwords when they exist) and applies [`GRANTS`], in one
/// transaction: running services see the old grants or the new, never none. Run it as the user
/// that owns the schema (the one the migrations ran as), after [`crate::db::migrate`].
pub async fn apply(pool: &PgPool, roles: &ServiceRoles) -> anyhow::Result<()> {
    let mut connection = pool.acquire().await?;
    let current: String = sqlx::query_scalar("SELECT current_user")
        .fetch_one(&mut *connection)
        .await?;
    for login in [&roles.api, &roles.worker] {
        anyhow::ensure!(
            login.name != current,
            "the service role {} is the migration user itself",
            login.name
        );
    }
    let mut tx = connection.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ROLES_LOCK)
        .execute(&mut *tx)
        .await?;
    for login in [&roles.api, &roles.worker] {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(&login.name)
                .fetch_one(&mut *tx)
                .await?;
        let template = if exists {
            "ALTER ROLE %I WITH LOGIN PASSWORD %L"
        } else {
            "CREATE ROLE %I WITH LOGIN PASSWORD %L"
        };
        // The server quotes the name and the password; nothing is spliced in here.
        let statement: String = sqlx::query_scalar("SELECT format($1, $2, $3)")
            .bind(template)
            .bind(&login.name)
            .bind(login.password.expose())
            .fetch_one(&mut *tx)
            .await?;
        (&mut *tx)
            .execute(AssertSqlSafe(statement))
            .await
            .map_err(|error| anyhow::anyhow!("setting up the role {}: {error}", login.name))?;
    }
    for grant in GRANTS {
        let statement: String = sqlx::query_scalar("SELECT format($1, $2, $3)")
            .bind(grant)
            .bind(&roles.api.name)
            .bind(&roles.worker.name)
            .fetch_one(&mut *tx)
            .await?;
        (&mut *tx)
            .execute(AssertSqlSafe(statement.clone()))
            .await
            .map_err(|error| anyhow::anyhow!("{statement}: {error}"))?;
    }
    tx.commit().await?;
    Ok(())
}
