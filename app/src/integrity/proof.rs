//! The proof-of-work step-up (ALTCHA): past a network's normal rate, or an e-mail's failed
//! logins, a request must carry the solution of a challenge in the `Altcha` header. A person on
//! a quiet network never meets one; a crowd behind one address pays a little CPU per request; a
//! script pays more the further it goes past the limit.
//!
//! A challenge is `sha256(salt + n) = challenge` for a secret `n` below `maxnumber`, signed with a
//! key derived from `JWT_SECRET`. Its salt carries its difficulty (`<random>-<maxnumber>`) and its
//! expiry (`?expires=<unix time>&`), both covered by the signature. A solution is good for one
//! request: its signature is recorded as spent until the challenge expires.

use std::time::Duration;

use altcha_lib_rs::algorithm::AltchaAlgorithm;
use altcha_lib_rs::{ChallengeOptions, Payload};
use base64::Engine;
use chrono::Utc;
use hmac::{KeyInit, Mac};
use platform::config::Secret;
use poem_openapi::Object;
use sqlx::PgPool;

/// The difficulty of a first step past the limit: about 25,000 hashes on average, a few
/// hundredths of a second in a phone's browser.
pub const BASE_DIFFICULTY: u64 = 50_000;

/// The hardest challenge: about 2.5 million hashes on average, a few seconds in a phone's browser.
pub const MAX_DIFFICULTY: u64 = 5_000_000;

/// How long a challenge may be solved and used.
const CHALLENGE_LIFETIME: Duration = Duration::from_secs(600);

/// A challenge, as the ALTCHA widget (`challengejson`) and any client read it: find the `n` in
/// `0..=maxnumber` with `sha256(salt + n)` (hex) equal to `challenge`, then send
/// base64(JSON {algorithm, challenge, number, salt, signature}) in the `Altcha` header.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ProofChallenge {
    /// Always "SHA-256".
    pub algorithm: String,
    /// The hash to find, lower-case hex.
    pub challenge: String,
    /// The largest number to try.
    pub maxnumber: u64,
    pub salt: String,
    pub signature: String,
}

/// Why a solution was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not base64 of a JSON solution, or not ours.
    Invalid,
    /// Its challenge expired.
    Expired,
    /// Its challenge was easier than the request now needs.
    TooEasy,
    /// Already used for another request.
    Spent,
}

#[derive(Clone)]
pub struct ProofOfWork {
    key: Secret,
    pool: PgPool,
}

impl std::fmt::Debug for ProofOfWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofOfWork").finish_non_exhaustive()
    }
}

/// How hard the next request is made: nothing below the limit; from there the base, doubling
/// every `step` further hits (every 10 at least), up to [`MAX_DIFFICULTY`].
pub fn difficulty(hits: u32, limit: u32, step: u32) -> u64 {
    if hits < limit {
        return 0;
    }
    let doublings = (hits - limit) / step.max(10);
    BASE_DIFFICULTY
        .checked_shl(doublings)
        .unwrap_or(MAX_DIFFICULTY)
        .min(MAX_DIFFICULTY)
}

impl ProofOfWork {
    /// Challenges are signed with a key derived from the token secret, so no new secret has to be
    /// managed.
    pub fn new(pool: PgPool, token_secret: &Secret) -> anyhow::Result<Self> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token_secret.expose().as_bytes())
            .map_err(|error| anyhow::anyhow!("the proof-of-work key: {error}"))?;
        mac.update(b"rising-stars proof-of-work challenges");
        let key = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        Ok(Self {
            key: Secret::new(key),
            pool,
        })
    }

    /// A new challenge of `difficulty` (at least the base); `None` (logged) only if the system's
    /// random numbers fail.
    pub fn challenge(&self, difficulty: u64) -> Option<Box<ProofChallenge>> {
        let maxnumber = difficulty.clamp(BASE_DIFFICULTY, MAX_DIFFICULTY);
        let random = uuid::Uuid::new_v4();
        let expires = Utc::now().timestamp() + CHALLENGE_LIFETIME.as_secs().cast_signed();
        let salt = format!(
            "{}-{maxnumber}?expires={expires}&",
            hex_lower(&random.as_bytes()[..12])
        );
        let challenge = altcha_lib_rs::create_challenge(ChallengeOptions {
            algorithm: Some(AltchaAlgorithm::Sha256),
            max_number: Some(maxnumber),
            hmac_key: self.key.expose(),
            salt: Some(salt),
            ..Default::default()
        })
        .inspect_err(|error| tracing::error!(%error, "cannot make a proof-of-work challenge"))
        .ok()?;
        Some(Box::new(ProofChallenge {
            algorithm: "SHA-256".to_owned(),
            challenge: challenge.challenge,
            maxnumber,
            salt: challenge.salt,
            signature: challenge.signature,
        }))
    }

    /// Accepts `header` (the `Altcha` header) if it solves one of our challenges, unexpired, at
    /// least half as hard as `difficulty` (a busy network's difficulty may have risen while it
    /// was being solved), never used before; it is then spent.
    pub async fn accept(
        &self,
        header: &str,
        difficulty: u64,
    ) -> Result<Result<(), Refusal>, sqlx::Error> {
        let Some(payload) = decode(header) else {
            return Ok(Err(Refusal::Invalid));
        };
        let (body, params) = payload.salt.split_once('?').unwrap_or((&payload.salt, ""));
        let Some(maxnumber) = body
            .rsplit_once('-')
            .and_then(|(_, max)| max.parse::<u64>().ok())
        else {
            return Ok(Err(Refusal::Invalid));
        };
        let Some(expires) = params
            .strip_prefix("expires=")
            .and_then(|rest| rest.strip_suffix('&'))
            .and_then(|at| at.parse::<i64>().ok())
        else {
            return Ok(Err(Refusal::Invalid));
        };
        let Ok(expected) = altcha_lib_rs::create_challenge(ChallengeOptions {
            algorithm: Some(AltchaAlgorithm::Sha256),
            max_number: Some(maxnumber),
            hmac_key: self.key.expose(),
            salt: Some(payload.salt.clone()),
            number: Some(payload.number),
            ..Default::default()
        }) else {
            return Ok(Err(Refusal::Invalid));
        };
        if expected.challenge != payload.challenge || expected.signature != payload.signature {
            return Ok(Err(Refusal::Invalid));
        }
        if expires < Utc::now().timestamp() {
            return Ok(Err(Refusal::Expired));
        }
        if maxnumber.saturating_mul(2) < difficulty.min(MAX_DIFFICULTY) {
            return Ok(Err(Refusal::TooEasy));
        }
        let spent = sqlx::query(
            "INSERT INTO spent_proofs (signature, expires_at) VALUES ($1, to_timestamp($2))
             ON CONFLICT DO NOTHING",
        )
        .bind(&payload.signature)
        .bind(expires as f64)
        .execute(&self.pool)
        .await?;
        if spent.rows_affected() == 0 {
            return Ok(Err(Refusal::Spent));
        }
        Ok(Ok(()))
    }
}

/// The header's solution: base64 (standard or URL-safe) of the JSON payload.
fn decode(header: &str) -> Option<Payload> {
    let header = header.trim();
    if header.len() > 2048 {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(header)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header))
        .ok()?;
    let payload: Payload = serde_json::from_slice(&bytes).ok()?;
    matches!(payload.algorithm, AltchaAlgorithm::Sha256).then_some(payload)
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difficulty_starts_at_the_limit_and_doubles_every_step_further() {
        assert_eq!(difficulty(29, 30, 30), 0);
        assert_eq!(difficulty(30, 30, 30), BASE_DIFFICULTY);
        assert_eq!(difficulty(59, 30, 30), BASE_DIFFICULTY);
        assert_eq!(difficulty(60, 30, 30), 2 * BASE_DIFFICULTY);
        assert_eq!(difficulty(5, 5, 5), BASE_DIFFICULTY);
        assert_eq!(difficulty(15, 5, 5), 2 * BASE_DIFFICULTY);
        assert_eq!(difficulty(1_499, 300, 1_200), BASE_DIFFICULTY);
        assert_eq!(difficulty(u32::MAX, 30, 30), MAX_DIFFICULTY);
    }
}
