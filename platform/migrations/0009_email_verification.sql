-- PLACEHOLDER until the mail branch merges (its own 0009 replaces this file).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
