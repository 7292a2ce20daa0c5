//! The worker's line to PostgreSQL, and whether it is up. Every database call the consumer makes
//! goes through [`Database::call`] with a time limit, so a database that has gone away (an RDS
//! reboot; connections that hang half-open) fails a call in seconds instead of never. Such a
//! failure closes the gate: the receive loops wait at it ([`Database::wait_until_up`]) instead of
//! spending the queue's receives on jobs they cannot claim, and [`Database::watch`] probes until a
//! round trip works again.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

/// The longest one database call may take before the database counts as away. The worker's
/// statements take milliseconds; a pool that cannot hand out a connection gives up after 5 s.
pub const CALL_LIMIT: Duration = Duration::from_secs(10);

/// How often a closed gate probes the database.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The pool, with the gate.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
    up: watch::Sender<bool>,
    call_limit: Duration,
}

/// Why a database call did not answer.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The database could not be reached (no connection, no answer in time, shutting down).
    #[error("the database is away: {0}")]
    Away(String),
    /// The database answered with an error.
    #[error(transparent)]
    Failed(sqlx::Error),
}

impl Database {
    /// `call_limit` bounds each call; the consumer keeps it under a third of the visibility
    /// timeout so a hung call cannot outlast the heartbeat.
    pub fn new(pool: PgPool, call_limit: Duration) -> Self {
        Self {
            pool,
            up: watch::channel(true).0,
            call_limit,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs one database call within the limit; a failure to reach the database closes the gate.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, DatabaseError> {
        let failure = match tokio::time::timeout(self.call_limit, call).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) if !unreachable(&error) => return Err(DatabaseError::Failed(error)),
            Ok(Err(error)) => {
                // A dropped connection is one way of being unreachable.
                platform::db::note_failure(&error);
                error.to_string()
            }
            Err(_) => format!("no answer within {:?}", self.call_limit),
        };
        self.mark_away(&failure);
        Err(DatabaseError::Away(failure))
    }

    /// Whether the last call (or probe) reached the database.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Returns at once while the database is up; otherwise when it comes back or shutdown begins
    /// (`false` then).
    pub async fn wait_until_up(&self, shutdown: &watch::Receiver<bool>) -> bool {
        let mut up = self.up.subscribe();
        let mut shutdown = shutdown.clone();
        tokio::select! {
            reached = up.wait_for(|up| *up) => reached.is_ok(),
            _ = shutdown.wait_for(|stopping| *stopping) => false,
        }
    }

    /// Like [`Database::wait_until_up`], giving up after `limit` (`false` then).
    pub async fn wait_until_up_within(
        &self,
        limit: Duration,
        shutdown: &watch::Receiver<bool>,
    ) -> bool {
        tokio::time::timeout(limit, self.wait_until_up(shutdown))
            .await
            .unwrap_or(false)
    }

    /// While the gate is closed, probes the database every second and opens it when a round trip
    /// works; until shutdown.
    pub async fn watch(self, mut shutdown: watch::Receiver<bool>) {
        let mut down = self.up.subscribe();
        loop {
            tokio::select! {
                closed = down.wait_for(|up| !*up) => if closed.is_err() { return },
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let since = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    () = tokio::time::sleep(PROBE_EVERY) => {}
                    _ = shutdown.wait_for(|stopping| *stopping) => return,
                }
                let probe = tokio::time::timeout(self.call_limit, platform::db::check(&self.pool));
                if matches!(probe.await, Ok(Ok(()))) {
                    break;
                }
            }
            tracing::info!(
                away_for = ?since.elapsed(),
                "the database answers again: receiving jobs"
            );
            self.up.send_replace(true);
        }
    }

    fn mark_away(&self, failure: &str) {
        let was_up = self.up.send_replace(false);
        if was_up {
            tracing::warn!(
                failure,
                "the database is away: no new jobs until it answers again"
            );
        }
    }
}

/// Whether an error says the database could not be reached, rather than that it refused a
/// statement: I/O, TLS and pool errors, and the server's codes for a connection it will not take
/// or has dropped: SQLSTATE classes 08 (connection), 28 (authorization), 3D (no such database)
/// and 57P (shutting down), 53300 (too many connections) and 55000 (not accepting connections).
fn unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            ["08", "28", "3D", "57P"]
                .iter()
                .any(|class| code.starts_with(class))
                || code == "53300"
                || code == "55000"
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_count_as_away_and_refusals_do_not() {
        assert!(unreachable(&sqlx::Error::PoolTimedOut));
        assert!(unreachable(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(!unreachable(&sqlx::Error::RowNotFound));
        assert!(!unreachable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
