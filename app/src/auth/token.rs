//! Access tokens: HS256 JWTs carrying the user id (and `role: "staff"` for staff accounts), with a
//! configurable lifetime.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use platform::config::Secret;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: u64,
    exp: u64,
    /// `"staff"` for a staff account's token; absent otherwise (a player's token is exactly what
    /// it was before staff existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
}

/// The role a staff token carries.
const STAFF: &str = "staff";

/// Who a valid token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: Uuid,
    /// The token carries the staff role (staff endpoints also check the account still has it).
    pub staff: bool,
}

/// Issues and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &Secret, lifetime: Duration) -> Self {
        // Only HS256 is accepted: a token claiming `none` or any other algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A signed token for `user_id`, valid for the configured lifetime; with `staff`, carrying the
    /// staff role.
    pub fn issue(&self, user_id: Uuid, staff: bool) -> Result<String, jsonwebtoken::errors::Error> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id,
            iat: now,
            exp: now + self.lifetime.as_secs(),
            role: staff.then(|| STAFF.to_owned()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The user id of a valid token; `None` for anything malformed, expired or wrongly signed.
    pub fn verify(&self, token: &str) -> Option<Uuid> {
        self.caller(token).map(|caller| caller.id)
    }

    /// The caller of a valid token, with its role; `None` as for [`Self::verify`].
    pub fn caller(&self, token: &str) -> Option<Caller> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| Caller {
                id: data.claims.sub,
                staff: data.claims.role.as_deref() == Some(STAFF),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str, seconds: u64) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret), Duration::from_secs(seconds))
    }

    #[test]
    fn a_token_round_trips() -> Result<(), jsonwebtoken::errors::Error> {
        let keys = keys("0123456789abcdef0123456789abcdef", 60);
        let user = Uuid::new_v4();
        assert_eq!(keys.verify(&keys.issue(user, false)?), Some(user));
        assert_eq!(
            keys.caller(&keys.issue(user, true)?),
            Some(Caller {
                id: user,
                staff: true
            })
        );
        assert_eq!(
            keys.caller(&keys.issue(user, false)?)
                .map(|caller| caller.staff),
            Some(false)
        );
        Ok(())
    }

    #[test]
    fn wrong_signature_and_garbage_are_refused() -> Result<(), jsonwebtoken::errors::Error> {
        let token = keys("0123456789abcdef0123456789abcdef", 60).issue(Uuid::new_v4(), false)?;
        assert_eq!(
            keys("another-secret-another-secret-xx", 60).verify(&token),
            None
        );
        assert_eq!(
            keys("0123456789abcdef0123456789abcdef", 60).verify("not.a.token"),
            None
        );
        Ok(())
    }

    #[test]
    fn alg_none_is_refused() -> Result<(), jsonwebtoken::errors::Error> {
        let keys = keys("0123456789abcdef0123456789abcdef", 60);
        let token = keys.issue(Uuid::new_v4(), false)?;
        let claims = token.split('.').nth(1).unwrap_or_default();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
        assert_eq!(keys.verify(&unsigned), None);
        Ok(())
    }
}
