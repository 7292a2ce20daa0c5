-- Resumable uploads (issue #21): a file that arrives in parts, straight to S3 through pre-signed
-- part links or through the API onto local storage (platform/src/videos/sessions.rs).
--
-- video_id: the id the video will have; the parts become videos/<video_id>/original.mp4.
-- storage_upload_id: the store's multipart upload (null for the moment between the row and the
-- store's answer). status: open (taking parts) → assembled (the object exists; the rules not yet
-- applied or their answer lost) → completed (the video is recorded: task_id) | refused (a rule
-- failed and the object was removed: refusal_*). claimed_until: a completion or the expiry sweep
-- holds the row until then, so two never work on one session at once.
CREATE TABLE upload_sessions (
    id                uuid PRIMARY KEY,
    owner_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    video_id          uuid NOT NULL UNIQUE,
    storage_upload_id text,
    size_bytes        bigint NOT NULL CHECK (size_bytes > 0),
    part_size         bigint NOT NULL CHECK (part_size > 0),
    title             text NOT NULL,
    publish           boolean NOT NULL,
    checksum          text,
    status            text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'assembled', 'completed', 'refused')),
    claimed_until     timestamptz,
    task_id           uuid,
    refusal_code      text,
    refusal_field     text,
    refusal_detail    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    CONSTRAINT upload_sessions_completed_has_task CHECK ((status = 'completed') = (task_id IS NOT NULL)),
    CONSTRAINT upload_sessions_refused_has_reason
        CHECK ((status = 'refused') = (refusal_code IS NOT NULL))
);
-- An account's sessions still taking or holding a file (the per-account ceiling counts them).
CREATE INDEX upload_sessions_owner_unfinished ON upload_sessions (owner_id)
    WHERE status IN ('open', 'assembled');
-- The sweep's look for expired sessions.
CREATE INDEX upload_sessions_expiry ON upload_sessions (expires_at);
