//! A fresh database per test, cloned from a migrated template and dropped when the test ends.

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Any constant: serialises template creation across the test processes.
const TEMPLATE_LOCK: i64 = 0x7269_7369_6e67;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database of its own for one test; dropped (forcibly) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    pub pool: PgPool,
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a new database with the whole schema applied.
    pub async fn new() -> anyhow::Result<Self> {
        let template = ensure_template().await?;
        let name = format!("rs_test_{}", Uuid::new_v4().simple());
        let mut admin = admin_connection().await?;
        // Concurrent clones of one template can briefly collide; retry those.
        let mut attempts = 0;
        loop {
            let created = admin
                .execute(AssertSqlSafe(format!(
                    r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#
                )))
                .await;
            match created {
                Ok(_) => break,
                Err(error) if attempts < 20 && error.to_string().contains("being accessed") => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
        let url = database_url(&name)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await?;
        Ok(Self { pool, url, name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Async drop does not exist: drop the database from a helper thread with its own runtime.
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = admin_connection().await {
                    let _ = admin
                        .execute(AssertSqlSafe(format!(
                            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                        )))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}

async fn admin_connection() -> anyhow::Result<PgConnection> {
    let url = admin_url();
    PgConnection::connect(&url).await.map_err(|error| {
        anyhow::anyhow!(
            "cannot reach PostgreSQL at TEST_DATABASE_URL={url} ({error}); run the tests with `cargo xtask test`, which starts it"
        )
    })
}

fn database_url(name: &str) -> anyhow::Result<String> {
    let admin = admin_url();
    let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let (server, _) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("TEST_DATABASE_URL has no database path: {admin}"))?;
    Ok(if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    })
}

/// The migrated template for the current migrations, created once across all test processes.
async fn ensure_template() -> anyhow::Result<String> {
    let fingerprint = platform::db::migrations_fingerprint();
    let template = format!("rs_template_{fingerprint}");
    let mut admin = admin_connection().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await?;
    let result = create_template_if_missing(&mut admin, &template).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await?;
    result.map(|()| template)
}

async fn create_template_if_missing(
    admin: &mut PgConnection,
    template: &str,
) -> anyhow::Result<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(template)
            .fetch_one(&mut *admin)
            .await?;
    if exists {
        return Ok(());
    }
    // Build under a temporary name and rename: a half-migrated template is never visible.
    let building = format!("rs_building_{}", Uuid::new_v4().simple());
    admin
        .execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{building}""#)))
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&database_url(&building)?)
        .await?;
    platform::db::migrate(&pool).await?;
    pool.close().await;
    admin
        .execute(AssertSqlSafe(format!(
            r#"ALTER DATABASE "{building}" RENAME TO "{template}""#
        )))
        .await?;
    Ok(())
}
