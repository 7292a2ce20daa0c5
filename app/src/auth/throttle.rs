//! Login throttling: too many failed logins for one email or from one client within a window
//! answer 429 with `Retry-After`. Counters live in PostgreSQL so every API task sees the same.
//!
//! Only failures count and only a throttled key waits: a correct login is as fast as ever, and a
//! success clears its email's counter.

use std::time::Duration;

use sqlx::PgPool;

use crate::config::AuthSettings;

#[derive(Debug, Clone)]
pub struct LoginThrottle {
    pool: PgPool,
    max_per_email: u32,
    max_per_client: u32,
    window: Duration,
}

pub fn email_key(email: &str) -> String {
    format!("email:{email}")
}

pub fn client_key(client: &str) -> String {
    format!("client:{client}")
}

impl LoginThrottle {
    pub fn new(pool: PgPool, settings: &AuthSettings) -> Self {
        Self {
            pool,
            max_per_email: settings.max_failures_per_email,
            max_per_client: settings.max_failures_per_client,
            window: settings.failure_window,
        }
    }

    /// How long to wait when the email or the client has used up its failures, else `None`.
    pub async fn retry_after(
        &self,
        email: &str,
        client: &str,
    ) -> Result<Option<Duration>, sqlx::Error> {
        let rows: Vec<(String, i32, f64)> = sqlx::query_as(
            "SELECT key, failures,
                    extract(epoch FROM window_start + make_interval(secs => $2) - now())::float8
             FROM login_failures
             WHERE key = ANY($1) AND window_start > now() - make_interval(secs => $2)",
        )
        .bind(vec![email_key(email), client_key(client)])
        .bind(self.window.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(key, failures, _)| {
                let limit = if key.starts_with("email:") {
                    self.max_per_email
                } else {
                    self.max_per_client
                };
                u32::try_from(*failures).unwrap_or(0) >= limit
            })
            .map(|(_, _, seconds_left)| Duration::from_secs_f64(seconds_left.max(1.0).ceil()))
            .max())
    }

    /// Counts one failure for the email and for the client.
    pub async fn record_failure(&self, email: &str, client: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO login_failures (key, window_start, failures)
             SELECT unnest($1::text[]), now(), 1
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_failures.window_start > now() - make_interval(secs => $2)
                                 THEN login_failures.failures + 1 ELSE 1 END,
                 window_start = CASE WHEN login_failures.window_start > now() - make_interval(secs => $2)
                                     THEN login_failures.window_start ELSE now() END",
        )
        .bind(vec![email_key(email), client_key(client)])
        .bind(self.window.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A successful login forgets the email's failures (the client's stay: one client trying many
    /// accounts is still throttled).
    pub async fn clear(&self, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(email_key(email))
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
