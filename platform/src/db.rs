//! The PostgreSQL pool and the schema migrations (embedded in every binary).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::config::DatabaseSettings;

/// Every migration in `platform/migrations`, applied at start-up (`DATABASE_MIGRATE=apply`) or by
/// the migration step (`rising-stars-api migrate`, see [`crate::roles`]).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Opens a pool. Acquiring a connection gives up after a few seconds, so that readiness checks and
/// requests fail fast while the database is down instead of hanging for sqlx's default 30 s.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose().parse()?;
    let options = options.application_name("rising-stars");
    pool_options(settings).connect_with(options).await
}

/// Like [`connect`], but without touching the database until the first query.
pub fn connect_lazy(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose().parse()?;
    Ok(pool_options(settings).connect_lazy_with(options.application_name("rising-stars")))
}

/// A connection idle for longer than this is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// The pool's settings. By default sqlx pings every idle connection before handing it out: a
/// round trip before every statement, which on busy cores cost as much as the statement's own
/// (docs/benchmarks.md, "A round trip less"). Here a connection is pinged only when it may have
/// been dropped while it sat idle: when it sat idle for a while, or when it went idle before a
/// statement last found its connection dropped ([`note_failure`]; the server restarted, or
/// dropped every connection). Every other idle connection passed sqlx's ping when it was
/// returned to the pool. A statement that still meets a dropped connection fails once, and
/// [`retry_transient`] runs it again on a live one.
fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE || idle_since_before_a_drop(meta.idle_for) {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

/// The clock [`LAST_DROP`] counts from.
fn clock() -> Instant {
    static STARTED: OnceLock<Instant> = OnceLock::new();
    *STARTED.get_or_init(Instant::now)
}

/// When a statement of this process last found its connection dropped, in nanoseconds since
/// [`clock`]; zero when none has.
static LAST_DROP: AtomicU64 = AtomicU64::new(0);

fn nanos_since_clock() -> u64 {
    u64::try_from(clock().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Whether a connection idle for `idle_for` went idle before the last dropped connection was
/// noted: it may have been dropped with it.
fn idle_since_before_a_drop(idle_for: Duration) -> bool {
    let last_drop = LAST_DROP.load(Ordering::Relaxed);
    let idle_for = u64::try_from(idle_for.as_nanos()).unwrap_or(u64::MAX);
    last_drop != 0 && nanos_since_clock().saturating_sub(idle_for) <= last_drop
}

/// Whether `error` says the statement's connection was gone: closed by the server (SQLSTATE class
/// 08, or 57P01–57P03: terminated, crashed, restarting; it had not run the statement, or rolled
/// its transaction back) or by the network (then the statement may have taken effect and only
/// its answer been lost: a vote run again then answers `already_voted`, counted once).
pub fn connection_dropped(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&&*code)
        }),
        _ => false,
    }
}

/// Notes a failed statement: when its connection had been dropped, every connection that was
/// idle until now is pinged before it is next handed out, so that the rest of the pool's
/// dropped connections are replaced instead of failing a statement each.
pub fn note_failure(error: &sqlx::Error) {
    if connection_dropped(error) {
        note_drop();
    }
}

fn note_drop() {
    LAST_DROP.fetch_max(nanos_since_clock().max(1), Ordering::Relaxed);
}

/// The most times [`retry_transient`] runs a statement.
const TRIES: u32 = 3;

/// Runs a statement again (at most three times in all) when it failed without effect: its
/// connection had been dropped ([`connection_dropped`]; noted, so the next connection is
/// checked), or PostgreSQL chose it to break a deadlock (SQLSTATE 40P01; its transaction was
/// rolled back). Only for statements whose second run is harmless even if the first did take
/// effect and only its answer was lost (a vote, for one, is keyed by voter and video).
///
/// The one deadlock seen: a vote held after it raced past a burst and a vote for the same player
/// counting, each waiting for a row of the player's the other had taken (their statements'
/// data-modifying parts take the video's, the score's and the tallies' rows in orders PostgreSQL
/// does not promise). Forty new accounts behind one address voting the same videos met it about
/// once in 2,000 votes, as a 500 after a second (`tests/e2e/crawlers.rs`).
pub async fn retry_transient<T, F, Fut>(mut statement: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    const DEADLOCK_DETECTED: &str = "40P01";
    let mut tries = 1;
    loop {
        let error = match statement().await {
            Ok(answer) => return Ok(answer),
            Err(error) => error,
        };
        let dropped = connection_dropped(&error);
        if dropped {
            note_drop();
        }
        let deadlock = matches!(&error, sqlx::Error::Database(error)
            if error.code().as_deref() == Some(DEADLOCK_DETECTED));
        if tries == TRIES || !(deadlock || dropped) {
            return Err(error);
        }
        tracing::warn!(tries, %error, "a statement failed without effect: again");
        tries += 1;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reset() -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
    }

    /// Runs `retry_transient` over a statement that fails with `failures` in turn, then answers:
    /// the result, and how many times the statement ran.
    async fn run_failing(failures: Vec<sqlx::Error>) -> (Result<u32, sqlx::Error>, u64) {
        let failures = std::sync::Mutex::new(failures.into_iter());
        let runs = AtomicU64::new(0);
        let result = retry_transient(|| {
            runs.fetch_add(1, Ordering::Relaxed);
            let next = failures.lock().map(|mut failures| failures.next());
            async move {
                match next {
                    Ok(Some(error)) => Err(error),
                    _ => Ok(7),
                }
            }
        })
        .await;
        (result, runs.load(Ordering::Relaxed))
    }

    /// One test: the time of the last drop is the process's, and tests run side by side would
    /// move it under each other.
    #[tokio::test]
    async fn a_dropped_connection_runs_the_statement_again_and_suspects_every_idle_connection() {
        assert!(connection_dropped(&reset()));
        assert!(!connection_dropped(&sqlx::Error::RowNotFound));

        let (answer, runs) = run_failing(vec![reset(), reset()]).await;
        assert_eq!((answer.ok(), runs), (Some(7), 3));
        let (answer, runs) = run_failing(vec![reset(), reset(), reset()]).await;
        assert!(matches!(answer, Err(sqlx::Error::Io(_))), "{answer:?}");
        assert_eq!(runs, 3);
        // Any other failure is the statement's own answer: not run again.
        let (answer, runs) = run_failing(vec![sqlx::Error::RowNotFound]).await;
        assert!(
            matches!(answer, Err(sqlx::Error::RowNotFound)),
            "{answer:?}"
        );
        assert_eq!(runs, 1);

        // The retries noted the drop. Idle since a second ago: since before it.
        assert!(idle_since_before_a_drop(Duration::from_secs(1)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Idle since a millisecond ago: returned to the pool (and pinged then) after the drop.
        assert!(!idle_since_before_a_drop(Duration::from_millis(1)));
    }
}
