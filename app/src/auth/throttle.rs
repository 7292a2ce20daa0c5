//! Throttling of what costs a password hash: too many failed logins for one email or from one
//! client, or too many signups from one client, within a window answer 429 with `Retry-After`.
//! Counters live in PostgreSQL so every API task sees the same.
//!
//! Every attempt reserves its place *before* the password is hashed, in one locked transaction,
//! so a burst of parallel attempts cannot all pass the check before the first is counted: at most
//! the limit reach the hash. A successful login gives its reservation back and clears its email's
//! counter, so only failed logins stay counted; every signup attempt counts.

use std::time::Duration;

use sqlx::PgPool;

use crate::config::AuthSettings;

#[derive(Debug, Clone)]
pub struct LoginThrottle {
    pool: PgPool,
    max_per_email: u32,
    max_per_client: u32,
    max_signups_per_client: u32,
    window: Duration,
}

/// A counter and its limit within the window.
type Limited = (String, u32);

pub fn email_key(email: &str) -> String {
    format!("email:{email}")
}

pub fn client_key(client: &str) -> String {
    format!("client:{client}")
}

pub fn signup_key(client: &str) -> String {
    format!("signup:{client}")
}

/// One throttle key's window, as an attempt finds it.
#[derive(sqlx::FromRow)]
struct KeyWindow {
    failures: i32,
    /// Failures the key may have in a window.
    allowed: i32,
    /// Until the window ends.
    seconds_left: f64,
}

impl LoginThrottle {
    pub fn new(pool: PgPool, settings: &AuthSettings) -> Self {
        Self {
            pool,
            max_per_email: settings.max_failures_per_email,
            max_per_client: settings.max_failures_per_client,
            max_signups_per_client: settings.max_signups_per_client,
            window: settings.failure_window,
        }
    }

    /// Counts this login attempt against the email and the client, unless either has used up its
    /// failures: then nothing is counted and the answer is how long to wait.
    pub async fn reserve_login(
        &self,
        email: &str,
        client: &str,
    ) -> Result<Option<Duration>, sqlx::Error> {
        self.reserve(&[
            (email_key(email), self.max_per_email),
            (client_key(client), self.max_per_client),
        ])
        .await
    }

    /// Counts this signup attempt against the client, unless it has used up its signups.
    pub async fn reserve_signup(&self, client: &str) -> Result<Option<Duration>, sqlx::Error> {
        self.reserve(&[(signup_key(client), self.max_signups_per_client)])
            .await
    }

    /// Gives back attempts that never reached the hash (the hashing queue was full).
    pub async fn give_back(&self, keys: &[String]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = ANY($1)",
        )
        .bind(keys)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reserve(&self, counters: &[Limited]) -> Result<Option<Duration>, sqlx::Error> {
        let keys: Vec<String> = counters.iter().map(|(key, _)| key.clone()).collect();
        let limits: Vec<i32> = counters
            .iter()
            .map(|(_, limit)| i32::try_from(*limit).unwrap_or(i32::MAX))
            .collect();
        let window = self.window.as_secs_f64();
        let mut tx = self.pool.begin().await?;
        // Rows for both keys (a window that has passed starts again), locked in key order so two
        // attempts never wait on each other's second row.
        let rows: Vec<KeyWindow> = sqlx::query_as(
            "WITH keyed AS (
                 INSERT INTO login_failures (key, window_start, failures)
                 SELECT unnest($1::text[]), now(), 0
                 ON CONFLICT (key) DO UPDATE SET
                     failures = CASE WHEN login_failures.window_start > now() - make_interval(secs => $3)
                                     THEN login_failures.failures ELSE 0 END,
                     window_start = CASE WHEN login_failures.window_start > now() - make_interval(secs => $3)
                                         THEN login_failures.window_start ELSE now() END
                 RETURNING key, failures, window_start
             )
             SELECT k.failures, l.limit_ AS allowed,
                    extract(epoch FROM k.window_start + make_interval(secs => $3) - now())::float8
                        AS seconds_left
             FROM keyed k JOIN unnest($1::text[], $2::int[]) AS l(key, limit_) ON l.key = k.key
             ORDER BY k.key",
        )
        .bind(&keys)
        .bind(&limits)
        .bind(window)
        .fetch_all(&mut *tx)
        .await?;
        let wait = rows
            .iter()
            .filter(|key| key.failures >= key.allowed)
            .map(|key| Duration::from_secs_f64(key.seconds_left.max(1.0).ceil()))
            .max();
        if wait.is_some() {
            tx.rollback().await?;
            return Ok(wait);
        }
        sqlx::query("UPDATE login_failures SET failures = failures + 1 WHERE key = ANY($1)")
            .bind(&keys)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// A successful login forgets the email's failures and gives the client back the attempt it
    /// reserved (the client's earlier failures stay: one client trying many accounts is still
    /// throttled).
    pub async fn succeeded(&self, email: &str, client: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "WITH cleared AS (DELETE FROM login_failures WHERE key = $1)
             UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = $2",
        )
        .bind(email_key(email))
        .bind(client_key(client))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops counters whose window has passed (called periodically).
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(
            "DELETE FROM login_failures WHERE window_start < now() - make_interval(secs => $1)",
        )
        .bind(self.window.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
