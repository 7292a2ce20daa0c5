//! Throttling of failed logins, which cost a password hash each: past too many failures for one
//! email or from one client within a window, a login needs a proof of work (`integrity::proof`),
//! harder with every further failure; without one it is answered 429 with `Retry-After` and the
//! challenge. Nobody can lock a player out: the player pays a few seconds of CPU at worst.
//! Counters live in PostgreSQL so every API task sees the same. (Signups count in
//! `integrity::counters`.)
//!
//! A login attempt is *admitted* before its password is hashed: for its email and its client,
//! the failures of the window plus the attempts still being checked must stay under the limit.
//! So however many wrong guesses arrive at once, at most the limit reach the hash. An attempt
//! that finds the limit taken only by attempts in flight (not by failures) waits for one of them
//! to finish instead of being refused: a correct password is refused only for failures. Once
//! checked, a wrong password becomes a failure; a right one frees its place, clears its email's
//! failures and forgives the failures its email made from this client (typos someone then got
//! right), so a few people who mistype behind one shared address never lock the rest out.
//!
//! Every statement touches one row and commits on its own: no lock is held across the hash, no
//! transaction holds two rows, so two attempts can never deadlock. Within one API process the
//! attempts waiting for a place queue on a per-key semaphore, so a burst of logins for one
//! account waits in line rather than polling the database. An attempt that ends without an
//! answer (the client went away, the hashing queue was full, an error) gives its place back;
//! places of a process that died are forgotten [`IN_FLIGHT_LEASE`] after the key's last
//! admission.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;

use crate::config::AuthSettings;
use crate::integrity::proof::{self, ProofOfWork};
use crate::lines::{KeyedLines, Turn};

/// How often counters whose window and lease have passed are dropped.
const PRUNE_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct LoginThrottle {
    pool: PgPool,
    max_per_email: u32,
    max_per_client: u32,
    window: Duration,
    lines: Arc<KeyedLines>,
    proofs: ProofOfWork,
}

/// How long the places of attempts in flight outlive the key's last admission when nobody gives
/// them back (the API process died mid-login). A hash is answered or refused within seconds.
pub const IN_FLIGHT_LEASE: Duration = Duration::from_secs(60);

/// How long an attempt may wait for a place before it is answered `busy` (503): CloudFront's
/// origin read timeout in the stack. A line moves as fast as the hashes: a burst of 200 logins
/// behind one address takes about 2 s on two idle cores, and ten times that on a crowded one.
const ADMISSION_WAIT: Duration = Duration::from_secs(60);

/// The first and the longest pause between two tries for a place taken by another API process.
const FIRST_RETRY: Duration = Duration::from_millis(10);
const LONGEST_RETRY: Duration = Duration::from_millis(200);

fn email_key(email: &str) -> String {
    format!("email:{email}")
}

fn client_key(client: &str) -> String {
    format!("client:{client}")
}

/// The failures one email made from one client, forgiven when that email then logs in there.
fn typo_key(client: &str, email: &str) -> String {
    format!("typos:{client} {email}")
}

/// What a login attempt is told before its password is hashed.
#[derive(Debug)]
pub enum LoginAdmission {
    /// Hash the password, then tell the attempt how it went.
    Admitted(LoginAttempt),
    /// The email or the client has used up its failures: wait this long, or send a proof of work
    /// this hard.
    Throttled { wait: Duration, difficulty: u64 },
    /// No place came free within [`ADMISSION_WAIT`]: try again shortly.
    Busy,
}

/// How one key's admission went.
enum KeyAdmission {
    Admitted,
    /// Its failures fill the limit: the window ends in `wait`.
    Throttled {
        wait: Duration,
        failures: u32,
    },
    /// Failures and attempts in flight fill the limit, failures alone do not.
    Full,
}

/// One key's window, as a refused attempt finds it.
#[derive(sqlx::FromRow)]
struct KeyWindow {
    failures: i32,
    /// Until the window ends.
    seconds_left: f64,
}

impl LoginThrottle {
    pub fn new(pool: PgPool, settings: &AuthSettings, proofs: ProofOfWork) -> Self {
        Self {
            pool,
            max_per_email: settings.max_failures_per_email,
            max_per_client: settings.max_failures_per_client,
            window: settings.failure_window,
            lines: Arc::default(),
            proofs,
        }
    }

    /// Admits a login attempt for `email` from `client`, waiting while the places are taken by
    /// attempts in flight. When either has used up its failures, only a proof of work (`proof`,
    /// the `Altcha` header) as hard as the worse of them asks admits it; one proof pays for both.
    pub async fn admit_login(
        &self,
        email: &str,
        client: &str,
        proof: Option<&str>,
    ) -> Result<LoginAdmission, sqlx::Error> {
        let deadline = Instant::now() + ADMISSION_WAIT;
        let mut attempt = LoginAttempt {
            throttle: self.clone(),
            email: email.to_owned(),
            client: client.to_owned(),
            places: Vec::new(),
            turns: Vec::new(),
        };
        // The difficulty a proof was accepted at, once one is spent.
        let mut paid: Option<u64> = None;
        for (key, limit) in [
            (email_key(email), self.max_per_email),
            (client_key(client), self.max_per_client),
        ] {
            // First in line in this process, then a place in the database (which another
            // process may hold).
            match self.lines.enter(&key, limit, deadline).await {
                Some(turn) => attempt.turns.push(turn),
                None => return Ok(LoginAdmission::Busy),
            }
            let mut pause = FIRST_RETRY;
            loop {
                match self.admit_key(&key, limit).await? {
                    KeyAdmission::Admitted => {
                        attempt.places.push(key);
                        break;
                    }
                    KeyAdmission::Throttled { wait, failures } => {
                        let difficulty = proof::difficulty(failures, limit, limit);
                        let covered = match (paid, proof) {
                            (Some(paid), _) => paid.saturating_mul(2) >= difficulty,
                            (None, Some(proof)) => {
                                let accepted = self.proofs.accept(proof, difficulty).await?;
                                if accepted.is_ok() {
                                    paid = Some(difficulty);
                                }
                                accepted.is_ok()
                            }
                            (None, None) => false,
                        };
                        if !covered {
                            return Ok(LoginAdmission::Throttled { wait, difficulty });
                        }
                        self.take_place(&key).await?;
                        attempt.places.push(key);
                        break;
                    }
                    KeyAdmission::Full if Instant::now() + pause >= deadline => {
                        return Ok(LoginAdmission::Busy);
                    }
                    KeyAdmission::Full => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(LONGEST_RETRY);
                    }
                }
            }
        }
        Ok(LoginAdmission::Admitted(attempt))
    }

    /// Takes a place for one attempt on `key` if its failures and attempts in flight leave one.
    async fn admit_key(&self, key: &str, limit: u32) -> Result<KeyAdmission, sqlx::Error> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let window = self.window.as_secs_f64();
        // A window that has passed counts no failures; a lease that has passed, no attempts.
        let admitted: Option<bool> = sqlx::query_scalar(
            "INSERT INTO login_failures AS f (key, window_start, failures, in_flight, in_flight_until)
             SELECT $1, now(), 0, 1, now() + make_interval(secs => $4) WHERE $3 > 0
             ON CONFLICT (key) DO UPDATE SET
                 window_start = CASE WHEN f.window_start > now() - make_interval(secs => $2)
                                     THEN f.window_start ELSE now() END,
                 failures = CASE WHEN f.window_start > now() - make_interval(secs => $2)
                                 THEN f.failures ELSE 0 END,
                 in_flight = CASE WHEN f.in_flight_until > now() THEN f.in_flight ELSE 0 END + 1,
                 in_flight_until = now() + make_interval(secs => $4)
             WHERE CASE WHEN f.window_start > now() - make_interval(secs => $2)
                        THEN f.failures ELSE 0 END
                 + CASE WHEN f.in_flight_until > now() THEN f.in_flight ELSE 0 END < $3
             RETURNING true",
        )
        .bind(key)
        .bind(window)
        .bind(limit)
        .bind(IN_FLIGHT_LEASE.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        if admitted.is_some() {
            return Ok(KeyAdmission::Admitted);
        }
        // Refused: by failures (wait for the window) or by attempts in flight (wait for them).
        Ok(match self.window_of(key).await? {
            Some(row) if row.failures >= limit => KeyAdmission::Throttled {
                wait: whole_seconds(row.seconds_left),
                failures: u32::try_from(row.failures).unwrap_or_default(),
            },
            None if limit <= 0 => KeyAdmission::Throttled {
                wait: self.window,
                failures: 0,
            },
            _ => KeyAdmission::Full,
        })
    }

    /// Takes a place on `key` whatever its failures (the attempt paid with a proof of work).
    async fn take_place(&self, key: &str) -> Result<(), sqlx::Error> {
        let window = self.window.as_secs_f64();
        sqlx::query(
            "INSERT INTO login_failures AS f (key, window_start, failures, in_flight, in_flight_until)
             VALUES ($1, now(), 0, 1, now() + make_interval(secs => $3))
             ON CONFLICT (key) DO UPDATE SET
                 window_start = CASE WHEN f.window_start > now() - make_interval(secs => $2)
                                     THEN f.window_start ELSE now() END,
                 failures = CASE WHEN f.window_start > now() - make_interval(secs => $2)
                                 THEN f.failures ELSE 0 END,
                 in_flight = CASE WHEN f.in_flight_until > now() THEN f.in_flight ELSE 0 END + 1,
                 in_flight_until = now() + make_interval(secs => $3)",
        )
        .bind(key)
        .bind(window)
        .bind(IN_FLIGHT_LEASE.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How hard a proof of work a login from `client` needs now (zero: none), for
    /// `GET /api/auth/challenge`.
    pub async fn client_difficulty(&self, client: &str) -> Result<u64, sqlx::Error> {
        let failures = self
            .window_of(&client_key(client))
            .await?
            .map_or(0, |row| u32::try_from(row.failures).unwrap_or_default());
        Ok(proof::difficulty(
            failures,
            self.max_per_client,
            self.max_per_client,
        ))
    }

    /// `key`'s window as a refused attempt finds it.
    async fn window_of(&self, key: &str) -> Result<Option<KeyWindow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT CASE WHEN window_start > now() - make_interval(secs => $2)
                         THEN failures ELSE 0 END AS failures,
                    extract(epoch FROM window_start + make_interval(secs => $2) - now())::float8
                        AS seconds_left
             FROM login_failures WHERE key = $1",
        )
        .bind(key)
        .bind(self.window.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
    }

    /// Drops counters whose window and lease have both passed (called periodically).
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(
            "DELETE FROM login_failures
             WHERE window_start < now() - make_interval(secs => $1) AND in_flight_until < now()",
        )
        .bind(self.window.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Prunes every [`PRUNE_INTERVAL`] until the process ends (started beside the outbox relay).
    pub fn spawn_pruning(&self) {
        let throttle = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(PRUNE_INTERVAL);
            loop {
                ticker.tick().await;
                if let Err(error) = throttle.prune().await {
                    tracing::warn!(%error, "pruning login failures failed");
                }
            }
        });
    }

    /// Frees the place an attempt held on `key`.
    async fn release(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE login_failures SET in_flight = greatest(in_flight - 1, 0) WHERE key = $1",
        )
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Turns the place an attempt held on `key` into a failure of the current window.
    async fn fail(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE login_failures SET
                 in_flight = greatest(in_flight - 1, 0),
                 failures = CASE WHEN window_start > now() - make_interval(secs => $2)
                                 THEN failures + 1 ELSE 1 END,
                 window_start = CASE WHEN window_start > now() - make_interval(secs => $2)
                                     THEN window_start ELSE now() END
             WHERE key = $1",
        )
        .bind(key)
        .bind(self.window.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts one more failure of `email` from `client`, to forgive if it logs in there.
    async fn note_typo(&self, client: &str, email: &str) -> Result<(), sqlx::Error> {
        let window = self.window.as_secs_f64();
        sqlx::query(
            "INSERT INTO login_failures AS f (key, window_start, failures) VALUES ($1, now(), 1)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN f.window_start > now() - make_interval(secs => $2)
                                 THEN f.failures + 1 ELSE 1 END,
                 window_start = CASE WHEN f.window_start > now() - make_interval(secs => $2)
                                     THEN f.window_start ELSE now() END",
        )
        .bind(typo_key(client, email))
        .bind(window)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A successful login: its email's failures are cleared, and the client's failures lose
    /// those this email made from it.
    async fn succeed(&self, email: &str, client: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE login_failures SET in_flight = greatest(in_flight - 1, 0), failures = 0
             WHERE key = $1",
        )
        .bind(email_key(email))
        .execute(&self.pool)
        .await?;
        let typos: Option<i32> =
            sqlx::query_scalar("DELETE FROM login_failures WHERE key = $1 RETURNING failures")
                .bind(typo_key(client, email))
                .fetch_optional(&self.pool)
                .await?;
        sqlx::query(
            "UPDATE login_failures SET in_flight = greatest(in_flight - 1, 0),
                                       failures = greatest(failures - $2, 0)
             WHERE key = $1",
        )
        .bind(client_key(client))
        .bind(typos.unwrap_or(0))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A wait in whole seconds, at least one.
fn whole_seconds(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds.max(1.0).ceil())
}

/// An admitted login attempt: it holds a place on its email and its client until it is told how
/// the password check went. Dropped untold (the request was abandoned), it gives its places back.
#[derive(Debug)]
pub struct LoginAttempt {
    throttle: LoginThrottle,
    email: String,
    client: String,
    /// The keys whose places this attempt holds in the database.
    places: Vec<String>,
    /// Its turns in this process's lines, released with it.
    turns: Vec<Turn>,
}

impl LoginAttempt {
    /// The password was wrong (or the email unknown): the places become failures.
    pub async fn failed(mut self) -> Result<(), sqlx::Error> {
        for key in std::mem::take(&mut self.places) {
            self.throttle.fail(&key).await?;
        }
        self.throttle.note_typo(&self.client, &self.email).await
    }

    /// The password was right.
    pub async fn succeeded(mut self) -> Result<(), sqlx::Error> {
        self.places.clear();
        self.throttle.succeed(&self.email, &self.client).await
    }

    /// The password was never checked (the hashing queue was full): the places are freed.
    pub async fn abandoned(mut self) -> Result<(), sqlx::Error> {
        for key in std::mem::take(&mut self.places) {
            self.throttle.release(&key).await?;
        }
        Ok(())
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        let places = std::mem::take(&mut self.places);
        if places.is_empty() {
            return;
        }
        let throttle = self.throttle.clone();
        // Outside a runtime (a shutdown) the lease frees them instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for key in places {
                    if let Err(error) = throttle.release(&key).await {
                        tracing::warn!(%error, "could not free an abandoned login attempt's place");
                    }
                }
            });
        }
    }
}
