//! Rate counters kept in the instance and shared through PostgreSQL every second: the vote's
//! pace and its network's hour are decided in memory, with no statement on the vote's path.
//!
//! Each window holds what the database last said (`known`: every instance's hits, this one's
//! flushed ones included) and this instance's hits since (`pending`). A hit counts when
//! `known + pending` is under the limit. Every [`SYNC_INTERVAL`] an instance adds its pending
//! hits to `rate_counters` in one statement, then reads the counters any instance changed since
//! its last look (`changed_at`, with [`OVERLAP`] to spare for commits that landed late) into the
//! windows it holds. A key this instance has not seen in its window is read from the database
//! first, so an instance that starts (or a key that moves to another instance) starts from the
//! shared count. Other instances' hits are seen within a sync or two: with N instances, a window
//! can go past its limit by at most what the other N − 1 admitted in that time.
//!
//! Bounded: at most [`MAX_WINDOWS`] windows are kept; past that, a key not held is counted in
//! the database directly (`RateCounters::count`), as signups are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;

use super::counters::{Count, RateCounters, Windows, whole_seconds};

/// How often pending hits are shared.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Windows kept in memory at most (about 150 bytes each with their keys: some 30 MB in all).
pub const MAX_WINDOWS: usize = 200_000;

/// How far back each sync reads changes before the previous one.
const OVERLAP: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Window {
    /// When the window ends.
    ends: Instant,
    /// Its length (a window that has ended starts again with it).
    length: Duration,
    /// Hits in the database at the last sync, this instance's flushed ones included.
    known: i64,
    /// This instance's hits since (negative: hits given back).
    pending: i64,
}

impl Window {
    fn hits(&self) -> i64 {
        (self.known + self.pending).max(0)
    }

    fn left(&self, now: Instant) -> Duration {
        self.ends.saturating_duration_since(now)
    }
}

#[derive(Debug, Clone)]
pub struct SyncedCounters {
    database: RateCounters,
    pool: PgPool,
    windows: Arc<Mutex<HashMap<String, Window>>>,
    /// The database's clock at the start of the last sync's read of changes.
    last_look: Arc<Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
}

/// The row a sync or a first read returns.
#[derive(sqlx::FromRow)]
struct Shared {
    key: String,
    hits: i32,
    seconds_left: f64,
}

impl Shared {
    /// The database's count and end of the window, into the window held here.
    fn apply_to(&self, entry: &mut Window, now: Instant) {
        entry.known = i64::from(self.hits);
        entry.ends = now + Duration::from_secs_f64(self.seconds_left.clamp(0.0, 86_400.0));
    }
}

impl SyncedCounters {
    pub fn new(database: RateCounters) -> Self {
        Self {
            pool: database.pool().clone(),
            database,
            windows: Arc::new(Mutex::new(HashMap::new())),
            last_look: Arc::default(),
        }
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        // A panic elsewhere while holding the lock leaves counts, never a broken invariant.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one hit on `key` if its window holds fewer than `limit`, as
    /// [`RateCounters::count`] does.
    pub async fn count(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Count, sqlx::Error> {
        if let Some(count) = self.count_held(key, limit) {
            return Ok(count);
        }
        // Not held here (or its window has ended): read from the database first. With no room
        // to hold it, or dropped in between by a sync, the database counts it.
        if self.load(key, window).await?
            && let Some(count) = self.count_held(key, limit)
        {
            return Ok(count);
        }
        self.database.count(key, limit, window).await
    }

    /// Counts on `key`'s window if it is held here and has not ended.
    fn count_held(&self, key: &str, limit: u32) -> Option<Count> {
        let now = Instant::now();
        let mut windows = self.windows();
        let entry = windows.get_mut(key).filter(|entry| entry.ends > now)?;
        Some(if entry.hits() < i64::from(limit) {
            entry.pending += 1;
            Count::Within
        } else {
            Count::Over {
                hits: u32::try_from(entry.hits()).unwrap_or(u32::MAX),
                wait: whole_seconds(entry.left(now).as_secs_f64()),
            }
        })
    }

    /// Counts one hit on `key` past its limit (the request paid with a proof of work).
    pub async fn count_over(&self, key: &str, window: Duration) -> Result<(), sqlx::Error> {
        if self.add(key, 1) {
            return Ok(());
        }
        self.database.count_over(key, window).await
    }

    /// Takes back one hit (the request it counted never did its work).
    pub async fn give_back(&self, key: &str) -> Result<(), sqlx::Error> {
        if self.add(key, -1) {
            return Ok(());
        }
        self.database.give_back(key).await
    }

    /// The hits `key`'s current window holds.
    pub async fn hits(&self, key: &str, window: Duration) -> Result<u32, sqlx::Error> {
        if let Some(hits) = self.hits_held(key) {
            return Ok(hits);
        }
        if self.load(key, window).await?
            && let Some(hits) = self.hits_held(key)
        {
            return Ok(hits);
        }
        self.database.hits(key).await
    }

    /// The hits of `key`'s window if it is held here and has not ended.
    fn hits_held(&self, key: &str) -> Option<u32> {
        let now = Instant::now();
        self.windows()
            .get(key)
            .filter(|entry| entry.ends > now)
            .map(|entry| u32::try_from(entry.hits()).unwrap_or(u32::MAX))
    }

    /// How long `key`'s window has left (`whole` when it has none).
    pub fn window_left(&self, key: &str, whole: Duration) -> Duration {
        let now = Instant::now();
        self.windows()
            .get(key)
            .filter(|entry| entry.ends > now)
            .map_or(whole, |entry| whole_seconds(entry.left(now).as_secs_f64()))
    }

    /// Adds `delta` to a window held here; false when it is not held.
    fn add(&self, key: &str, delta: i64) -> bool {
        let now = Instant::now();
        match self.windows().get_mut(key) {
            Some(entry) if entry.ends > now => {
                entry.pending += delta;
                true
            }
            _ => false,
        }
    }

    /// Reads `key`'s shared window into memory; false when no room is left for it.
    async fn load(&self, key: &str, window: Duration) -> Result<bool, sqlx::Error> {
        if self.windows().len() >= MAX_WINDOWS {
            return Ok(false);
        }
        // Only reads: run again when it met a dropped connection.
        let shared: Option<Shared> = platform::db::retry_transient(|| {
            sqlx::query_as(
                "SELECT key, hits, extract(epoch FROM window_end - now())::float8 AS seconds_left
                 FROM rate_counters WHERE key = $1 AND window_end > now()",
            )
            .bind(key)
            .fetch_optional(&self.pool)
        })
        .await?;
        let now = Instant::now();
        let mut windows = self.windows();
        // Another request of this key may have loaded it meanwhile (and counted on it).
        if windows.get(key).is_some_and(|entry| entry.ends > now) {
            return Ok(true);
        }
        let mut entry = fresh(now, window);
        if let Some(shared) = shared {
            shared.apply_to(&mut entry, now);
        }
        windows.insert(key.to_owned(), entry);
        Ok(true)
    }

    /// Shares this instance's pending hits, then reads the counters changed since the last
    /// look into the windows held here; drops the windows that have ended. Returns how many
    /// windows it updated.
    pub async fn sync(&self) -> Result<usize, sqlx::Error> {
        let flushed = self.flush().await?;
        let since = *self
            .last_look
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (looked, changed): (chrono::DateTime<chrono::Utc>, Vec<Shared>) = {
            let mut connection = self.pool.acquire().await?;
            let looked = sqlx::query_scalar("SELECT now()")
                .fetch_one(&mut *connection)
                .await?;
            let changed = sqlx::query_as(
                "SELECT key, hits, extract(epoch FROM window_end - now())::float8 AS seconds_left
                 FROM rate_counters
                 WHERE changed_at > coalesce($1, now()) - make_interval(secs => $2)
                   AND window_end > now()",
            )
            .bind(since)
            .bind(OVERLAP.as_secs_f64())
            .fetch_all(&mut *connection)
            .await?;
            (looked, changed)
        };
        *self
            .last_look
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(looked);
        let now = Instant::now();
        let mut windows = self.windows();
        let mut updated = flushed;
        for row in &changed {
            if let Some(entry) = windows.get_mut(&row.key) {
                row.apply_to(entry, now);
                updated += 1;
            }
        }
        Ok(updated)
    }

    /// Adds the pending hits to the shared counters and takes their totals back.
    async fn flush(&self) -> Result<usize, sqlx::Error> {
        let now = Instant::now();
        let (keys, deltas, lengths) = {
            let mut windows = self.windows();
            windows.retain(|_, entry| entry.ends > now);
            let mut keys = Vec::new();
            let mut deltas = Vec::new();
            let mut lengths = Vec::new();
            for (key, entry) in windows.iter().filter(|(_, entry)| entry.pending != 0) {
                keys.push(key.clone());
                deltas.push(i32::try_from(entry.pending).unwrap_or_default());
                lengths.push(entry.length.as_secs_f64());
            }
            (keys, deltas, lengths)
        };
        if keys.is_empty() {
            return Ok(0);
        }
        let shared: Vec<Shared> = sqlx::query_as(
            // Rows locked in key order, so instances syncing the same keys wait for each other
            // instead of deadlocking; a key another instance creates meanwhile is added to.
            "WITH t AS (
                 SELECT * FROM unnest($1::text[], $2::int4[], $3::float8[]) AS t(key, delta, length)
             ), locked AS (
                 SELECT key FROM rate_counters WHERE key = ANY($1) ORDER BY key FOR UPDATE
             ), updated AS (
                 UPDATE rate_counters c SET
                     hits = greatest(CASE WHEN c.window_end > now() THEN c.hits ELSE 0 END
                                     + t.delta, 0),
                     window_end = CASE WHEN c.window_end > now() THEN c.window_end
                                       ELSE now() + make_interval(secs => t.length) END,
                     changed_at = clock_timestamp()
                 FROM t JOIN locked USING (key) WHERE c.key = t.key
                 RETURNING c.key, c.hits, c.window_end
             ), inserted AS (
                 INSERT INTO rate_counters AS c (key, window_end, hits)
                 SELECT key, now() + make_interval(secs => length), greatest(delta, 0) FROM t
                 WHERE key NOT IN (SELECT key FROM locked)
                 ON CONFLICT (key) DO UPDATE SET
                     hits = c.hits + EXCLUDED.hits, changed_at = clock_timestamp()
                 RETURNING c.key, c.hits, c.window_end
             )
             SELECT key, hits, extract(epoch FROM window_end - now())::float8 AS seconds_left
             FROM updated UNION ALL
             SELECT key, hits, extract(epoch FROM window_end - now())::float8 FROM inserted",
        )
        .bind(&keys)
        .bind(&deltas)
        .bind(&lengths)
        .fetch_all(&self.pool)
        .await?;
        let flushed: HashMap<&str, i32> = keys
            .iter()
            .map(String::as_str)
            .zip(deltas.iter().copied())
            .collect();
        let now = Instant::now();
        let mut windows = self.windows();
        for row in &shared {
            if let Some(entry) = windows.get_mut(&row.key) {
                entry.pending -= i64::from(flushed.get(row.key.as_str()).copied().unwrap_or(0));
                row.apply_to(entry, now);
            }
        }
        Ok(shared.len())
    }

    /// Syncs every [`SYNC_INTERVAL`] until the process ends.
    pub fn spawn_syncing(&self) {
        let counters = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SYNC_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = counters.sync().await {
                    platform::db::note_failure(&error);
                    tracing::warn!(%error, "sharing the rate counters failed");
                }
            }
        });
    }
}

fn fresh(now: Instant, length: Duration) -> Window {
    Window {
        ends: now + length,
        length,
        known: 0,
        pending: 0,
    }
}

impl Windows for SyncedCounters {
    async fn count(&self, key: &str, limit: u32, window: Duration) -> Result<Count, sqlx::Error> {
        SyncedCounters::count(self, key, limit, window).await
    }

    async fn count_over(&self, key: &str, window: Duration) -> Result<(), sqlx::Error> {
        SyncedCounters::count_over(self, key, window).await
    }

    async fn give_back(&self, key: &str) -> Result<(), sqlx::Error> {
        SyncedCounters::give_back(self, key).await
    }
}
