//! Fixed-window rate counters in PostgreSQL (`rate_counters`), so every API instance sees the
//! same: signups per network, votes per account and per network.

use std::time::Duration;

use sqlx::PgPool;

/// How often counters whose window has passed are dropped.
const PRUNE_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct RateCounters {
    pool: PgPool,
}

/// What counting one hit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Counted, within the limit.
    Within,
    /// The window already holds `hits` (at least the limit): nothing was counted. It ends in
    /// `wait`.
    Over { hits: u32, wait: Duration },
}

/// A store of fixed-window counters: the database's ([`RateCounters`]) or the instance's, shared
/// every second (`super::synced::SyncedCounters`). The step-up past a limit works on either.
pub(crate) trait Windows {
    /// Counts one hit on `key` if its window holds fewer than `limit`.
    async fn count(&self, key: &str, limit: u32, window: Duration) -> Result<Count, sqlx::Error>;
    /// Counts one hit on `key` past its limit (the request paid with a proof of work).
    async fn count_over(&self, key: &str, window: Duration) -> Result<(), sqlx::Error>;
    /// Takes back one hit (the request it counted never did its work).
    async fn give_back(&self, key: &str) -> Result<(), sqlx::Error>;
}

impl Windows for RateCounters {
    async fn count(&self, key: &str, limit: u32, window: Duration) -> Result<Count, sqlx::Error> {
        RateCounters::count(self, key, limit, window).await
    }

    async fn count_over(&self, key: &str, window: Duration) -> Result<(), sqlx::Error> {
        RateCounters::count_over(self, key, window).await
    }

    async fn give_back(&self, key: &str) -> Result<(), sqlx::Error> {
        RateCounters::give_back(self, key).await
    }
}

#[derive(sqlx::FromRow)]
struct Window {
    hits: i32,
    seconds_left: f64,
}

impl RateCounters {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Counts one hit on `key` if its window holds fewer than `limit`; a window that has passed
    /// starts again at one.
    pub async fn count(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Count, sqlx::Error> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let counted: Option<i32> = sqlx::query_scalar(
            "INSERT INTO rate_counters AS c (key, window_end, hits)
             SELECT $1, now() + make_interval(secs => $2), 1 WHERE $3 > 0
             ON CONFLICT (key) DO UPDATE SET
                 hits = CASE WHEN c.window_end > now() THEN c.hits ELSE 0 END + 1,
                 window_end = CASE WHEN c.window_end > now() THEN c.window_end
                                   ELSE now() + make_interval(secs => $2) END,
                 changed_at = clock_timestamp()
             WHERE CASE WHEN c.window_end > now() THEN c.hits ELSE 0 END < $3
             RETURNING hits",
        )
        .bind(key)
        .bind(window.as_secs_f64())
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        if counted.is_some() {
            return Ok(Count::Within);
        }
        let found: Option<Window> = sqlx::query_as(
            "SELECT hits, extract(epoch FROM window_end - now())::float8 AS seconds_left
             FROM rate_counters WHERE key = $1 AND window_end > now()",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match found {
            Some(found) => Count::Over {
                hits: u32::try_from(found.hits).unwrap_or_default(),
                wait: whole_seconds(found.seconds_left),
            },
            // The window ended in between (or the limit is zero): the whole window.
            None => Count::Over {
                hits: u32::try_from(limit).unwrap_or_default(),
                wait: window,
            },
        })
    }

    /// How long `key`'s window has left (`whole` when it has none).
    pub async fn window_left(&self, key: &str, whole: Duration) -> Result<Duration, sqlx::Error> {
        let left: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM window_end - now())::float8 FROM rate_counters
             WHERE key = $1 AND window_end > now()",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(left.map_or(whole, whole_seconds))
    }

    /// The hits `key`'s current window holds.
    pub async fn hits(&self, key: &str) -> Result<u32, sqlx::Error> {
        let hits: Option<i32> = sqlx::query_scalar(
            "SELECT hits FROM rate_counters WHERE key = $1 AND window_end > now()",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hits.map_or(0, |hits| u32::try_from(hits).unwrap_or_default()))
    }

    /// Counts one hit on `key` past its limit (the request paid with a proof of work).
    pub async fn count_over(&self, key: &str, window: Duration) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO rate_counters AS c (key, window_end, hits)
             VALUES ($1, now() + make_interval(secs => $2), 1)
             ON CONFLICT (key) DO UPDATE SET
                 hits = CASE WHEN c.window_end > now() THEN c.hits ELSE 0 END + 1,
                 window_end = CASE WHEN c.window_end > now() THEN c.window_end
                                   ELSE now() + make_interval(secs => $2) END,
                 changed_at = clock_timestamp()",
        )
        .bind(key)
        .bind(window.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes back one hit (the request it counted never did its work).
    pub async fn give_back(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE rate_counters SET hits = greatest(hits - 1, 0), changed_at = clock_timestamp()
             WHERE key = $1",
        )
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops counters whose window has passed, and spent proofs whose challenge has expired.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let counters = sqlx::query("DELETE FROM rate_counters WHERE window_end < now()")
            .execute(&self.pool)
            .await?
            .rows_affected();
        let proofs = sqlx::query("DELETE FROM spent_proofs WHERE expires_at < now()")
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(counters + proofs)
    }

    /// Prunes every [`PRUNE_INTERVAL`] until the process ends.
    pub fn spawn_pruning(&self) {
        let counters = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(PRUNE_INTERVAL);
            loop {
                ticker.tick().await;
                if let Err(error) = counters.prune().await {
                    tracing::warn!(%error, "pruning rate counters failed");
                }
            }
        });
    }
}

/// A wait in whole seconds, at least one.
pub fn whole_seconds(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds.max(1.0).ceil())
}
