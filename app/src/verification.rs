//! E-mail verification: single-use links that expire (only the SHA-256 of each token is stored),
//! the message that carries one, and how often one account may be sent one.
//!
//! A token is 32 random bytes, base64url in the link. Every link an account was sent works until
//! it is used or expires: a resend does not void the earlier ones (a person may open any of the
//! mails), and a link used on an account that is already verified still answers success.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::VerificationSettings;
use crate::mail::{MailError, Mailer, Message, Sent};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// The window `EMAIL_VERIFICATION_MAX_PER_DAY` counts over.
const DAY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The path of the web app's page that takes a link's token (`/verificar?token=…`).
pub const PAGE: &str = "/verificar";

/// Who a verification mail goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
}

/// What a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The account (verified now, or before) of a token that was valid and is now used.
    Account(Uuid),
    /// A token past its lifetime, never used.
    Expired,
    /// Unknown, malformed, or already used.
    Invalid,
}

/// What a request for a new link came to.
#[derive(Debug)]
pub enum Resend {
    Sent,
    AlreadyVerified,
    /// Past an account limit; asking again makes sense after this long.
    TooSoon(Duration),
    /// The mail service failed; nothing was kept, so the attempt does not count.
    MailFailed,
    /// The token's account no longer exists.
    NoAccount,
}

/// Why a link could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("no random bytes for a token: {0}")]
    Random(getrandom::Error),
}

/// Issues links and mails them.
#[derive(Debug)]
pub struct Verification {
    mailer: Mailer,
    /// `<PUBLIC_BASE_URL>/verificar?token=`
    link_prefix: String,
    token_lifetime: Duration,
    resend_interval: Duration,
    max_per_day: u32,
}

/// A fresh token: its text for the link, and the hash the database keeps.
fn new_token() -> Result<(String, [u8; 32]), getrandom::Error> {
    let mut bytes = [0_u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok((text, Sha256::digest(bytes).into()))
}

/// The stored hash of a link's token; `None` when the text cannot be a token.
fn token_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .ok()?;
    (bytes.len() == TOKEN_BYTES).then(|| Sha256::digest(&bytes).into())
}

impl Verification {
    /// Opens the mailer the settings name and logs where mail goes.
    pub async fn open(settings: &VerificationSettings) -> anyhow::Result<Self> {
        let mailer = Mailer::open(&settings.mail).await?;
        match &mailer {
            Mailer::Folder(folder) => tracing::info!(
                folder = %folder.dir().display(),
                "verification mail is written to a folder (MAIL_URL)"
            ),
            Mailer::Ses(_) => tracing::info!("verification mail is sent through Amazon SES"),
        }
        Ok(Self {
            mailer,
            link_prefix: format!("{}{PAGE}?token=", settings.public_base_url),
            token_lifetime: settings.token_lifetime,
            resend_interval: settings.resend_interval,
            max_per_day: settings.max_per_day.max(1),
        })
    }

    /// The message carrying `link` to `recipient`.
    fn message(&self, recipient: &Recipient, link: &str) -> Message {
        let hours = self.token_lifetime.as_secs().div_ceil(3600);
        let lifetime = match hours {
            1 => "1 hora".to_owned(),
            hours => format!("{hours} horas"),
        };
        Message {
            to: recipient.email.clone(),
            subject: "Confirma tu correo electrónico en Rising Stars".to_owned(),
            text: format!(
                "Hola, {name}:\n\
                 \n\
                 Gracias por registrarte en Rising Stars. Para que tus votos cuenten en el ranking,\n\
                 confirma tu correo electrónico abriendo este enlace:\n\
                 \n\
                 {link}\n\
                 \n\
                 El enlace vale {lifetime} y sirve una sola vez. Si no creaste esta cuenta, ignora\n\
                 este mensaje.\n\
                 \n\
                 Rising Stars · ANB\n",
                name = recipient.first_name,
            ),
        }
    }

    /// Stores a new token for `recipient` and mails its link; a failed send takes the token back,
    /// so it neither works nor counts against the limits.
    async fn issue_and_send(
        &self,
        pool: &PgPool,
        recipient: &Recipient,
    ) -> Result<Sent, SendError> {
        let hash = self.issue(pool, recipient.user_id).await?;
        self.send(pool, recipient, hash).await
    }

    /// Stores a new token for `user_id`; returns it with its hash.
    async fn issue<'c, E>(
        &self,
        executor: E,
        user_id: Uuid,
    ) -> Result<(String, [u8; 32]), SendError>
    where
        E: sqlx::PgExecutor<'c>,
    {
        let (text, hash) = new_token().map_err(SendError::Random)?;
        sqlx::query(
            "INSERT INTO email_verification_tokens (token_hash, user_id, expires_at)
             VALUES ($1, $2, now() + $3 * interval '1 second')",
        )
        .bind(&hash[..])
        .bind(user_id)
        .bind(self.token_lifetime.as_secs_f64())
        .execute(executor)
        .await?;
        Ok((text, hash))
    }

    /// Mails the link of the stored token `(text, hash)`; deletes the token when that fails.
    async fn send(
        &self,
        pool: &PgPool,
        recipient: &Recipient,
        (text, hash): (String, [u8; 32]),
    ) -> Result<Sent, SendError> {
        let link = format!("{}{text}", self.link_prefix);
        match self.mailer.send(&self.message(recipient, &link)).await {
            Ok(sent) => {
                match &sent {
                    // The file holds the link, not its name: the path may be logged.
                    Sent::File(path) => tracing::info!(
                        user_id = %recipient.user_id,
                        file = %path.display(),
                        "verification mail written"
                    ),
                    Sent::Ses { message_id } => tracing::info!(
                        user_id = %recipient.user_id,
                        message_id,
                        "verification mail sent"
                    ),
                }
                Ok(sent)
            }
            Err(error) => {
                sqlx::query("DELETE FROM email_verification_tokens WHERE token_hash = $1")
                    .bind(&hash[..])
                    .execute(pool)
                    .await?;
                Err(error.into())
            }
        }
    }

    /// Sends the first link of a new account, off the signup's answer: a failure is logged, and
    /// the person can ask for another link.
    pub fn send_after_signup(self: &Arc<Self>, pool: PgPool, recipient: Recipient) {
        let verification = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(error) = verification.issue_and_send(&pool, &recipient).await {
                tracing::warn!(
                    user_id = %recipient.user_id,
                    %error,
                    "verification mail not sent at signup (the person can ask for another)"
                );
            }
        });
    }

    /// A new link for the account `user_id`, within its limits.
    pub async fn resend(&self, pool: &PgPool, user_id: Uuid) -> Result<Resend, SendError> {
        let mut tx = pool.begin().await?;
        // The row lock makes concurrent requests of one account take turns, so each sees the
        // others' tokens when it counts.
        let account: Option<(String, String, bool)> = sqlx::query_as(
            "SELECT email, first_name, email_verified_at IS NOT NULL FROM users
             WHERE id = $1 FOR UPDATE",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, first_name, verified)) = account else {
            return Ok(Resend::NoAccount);
        };
        if verified {
            return Ok(Resend::AlreadyVerified);
        }
        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&mut *tx)
            .await?;
        let recent: Vec<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT created_at FROM email_verification_tokens
             WHERE user_id = $1 AND created_at > now() - interval '24 hours'
             ORDER BY created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(wait) = self.wait(now, &recent) {
            return Ok(Resend::TooSoon(wait));
        }
        let token = self.issue(&mut *tx, user_id).await?;
        tx.commit().await?;
        let recipient = Recipient {
            user_id,
            email,
            first_name,
        };
        match self.send(pool, &recipient, token).await {
            Ok(_) => Ok(Resend::Sent),
            Err(SendError::Mail(error)) => {
                tracing::warn!(user_id = %user_id, %error, "verification mail not sent");
                Ok(Resend::MailFailed)
            }
            Err(error) => Err(error),
        }
    }

    /// How long until another mail may go to an account that was sent mail at `recent` (newest
    /// first, the last 24 hours); `None`: now.
    fn wait(&self, now: DateTime<Utc>, recent: &[DateTime<Utc>]) -> Option<Duration> {
        let interval = chrono::TimeDelta::from_std(self.resend_interval).unwrap_or(DAY);
        let mut allowed = recent.first().map(|last| *last + interval);
        let limit = usize::try_from(self.max_per_day).unwrap_or(usize::MAX);
        if let Some(oldest_counted) = recent.get(limit.saturating_sub(1)) {
            allowed = allowed.max(Some(*oldest_counted + DAY));
        }
        allowed
            .filter(|allowed| *allowed > now)
            .and_then(|allowed| (allowed - now).to_std().ok())
    }
}

/// How long a link's row is kept after it expires: long enough that a late click is told the link
/// expired (rather than that it never existed), and the resend limits have long stopped counting
/// it.
const KEPT_AFTER_EXPIRY: &str = "30 days";

/// How often old links are dropped.
const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Drops the links that expired more than [`KEPT_AFTER_EXPIRY`] ago.
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM email_verification_tokens WHERE expires_at < now() - $1::text::interval",
    )
    .bind(KEPT_AFTER_EXPIRY)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Prunes at start-up and then every [`PRUNE_INTERVAL`] until the process ends.
pub fn spawn_pruning(pool: PgPool) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PRUNE_INTERVAL);
        loop {
            ticker.tick().await;
            match prune(&pool).await {
                Ok(0) => {}
                Ok(dropped) => tracing::info!(dropped, "old verification links dropped"),
                Err(error) => tracing::warn!(%error, "pruning verification links failed"),
            }
        }
    });
}

/// Uses the token of a link: marks it used and its account verified, in one statement.
pub async fn verify(pool: &PgPool, token: &str) -> Result<Verified, sqlx::Error> {
    let Some(hash) = token_hash(token) else {
        return Ok(Verified::Invalid);
    };
    // One statement: of two requests with one token, exactly one finds it unused.
    let account: Option<Uuid> = sqlx::query_scalar(
        "WITH used AS (
             UPDATE email_verification_tokens SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id
         )
         UPDATE users SET email_verified_at = coalesce(email_verified_at, now())
         FROM used WHERE users.id = used.user_id
         RETURNING users.id",
    )
    .bind(&hash[..])
    .fetch_optional(pool)
    .await?;
    if let Some(account) = account {
        return Ok(Verified::Account(account));
    }
    let expired: Option<bool> = sqlx::query_scalar(
        "SELECT used_at IS NULL AND expires_at <= now() FROM email_verification_tokens
         WHERE token_hash = $1",
    )
    .bind(&hash[..])
    .fetch_optional(pool)
    .await?;
    Ok(match expired {
        Some(true) => Verified::Expired,
        _ => Verified::Invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verification(resend_seconds: u64, max_per_day: u32) -> Verification {
        Verification {
            mailer: Mailer::Folder(crate::mail::folder::FolderMailer::at(std::env::temp_dir())),
            link_prefix: "http://127.0.0.1:8080/verificar?token=".to_owned(),
            token_lifetime: Duration::from_secs(24 * 3600),
            resend_interval: Duration::from_secs(resend_seconds),
            max_per_day,
        }
    }

    #[test]
    fn a_token_is_43_url_safe_characters_and_only_its_hash_is_kept() {
        let (text, hash) = new_token().unwrap();
        assert_eq!(text.len(), 43);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{text}"
        );
        assert_eq!(token_hash(&text), Some(hash));
        assert_ne!(new_token().unwrap().0, text);
        for wrong in [
            "",
            "abc",
            &text[..42],
            &format!("{text}A"),
            "not a token at all!",
        ] {
            assert_eq!(token_hash(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn the_resend_limits_name_the_wait() {
        let now = Utc::now();
        let ago = |seconds: i64| now - chrono::TimeDelta::seconds(seconds);
        let limits = verification(60, 3);
        assert_eq!(limits.wait(now, &[]), None);
        assert_eq!(limits.wait(now, &[ago(61)]), None);
        assert_eq!(limits.wait(now, &[ago(20)]), Some(Duration::from_secs(40)));
        // Three in the last day: the oldest of them leaves the window first.
        let full = [ago(3600), ago(7200), ago(10_800)];
        assert_eq!(
            limits.wait(now, &full),
            Some(Duration::from_secs(24 * 3600 - 10_800))
        );
        assert_eq!(limits.wait(now, &full[..2]), None);
    }

    #[test]
    fn the_message_has_the_link_on_its_own_line_and_the_lifetime() {
        let limits = verification(60, 5);
        let message = limits.message(
            &Recipient {
                user_id: Uuid::nil(),
                email: "ana@example.com".to_owned(),
                first_name: "Ana".to_owned(),
            },
            "http://127.0.0.1:8080/verificar?token=abc",
        );
        assert_eq!(message.to, "ana@example.com");
        assert!(message.text.starts_with("Hola, Ana:\n"));
        assert!(
            message
                .text
                .lines()
                .any(|line| line == "http://127.0.0.1:8080/verificar?token=abc")
        );
        assert!(message.text.contains("24 horas"), "{}", message.text);
    }
}
