-- E-mail verification (issue #18): a vote counts only from an account whose address was verified
-- through a link mailed to it (app/src/verification.rs). Accounts made before this migration are
-- not verified: nobody proved they own their address.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- One row per link mailed. Only the SHA-256 of the token (32 random bytes) is kept, so a copy of
-- the database verifies nobody. A link is used once (used_at), and works until expires_at.
CREATE TABLE email_verification_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    used_at    timestamptz
);
-- The resend limits count an account's recent links.
CREATE INDEX email_verification_tokens_user ON email_verification_tokens (user_id, created_at DESC);
