-- Worker attempts (worker/src/consumer.rs): each claim of a video takes a fresh token (only the
-- holder of the current token may record a result, so duplicate deliveries cannot clobber each
-- other), counts one attempt, and holds a lease that the attempt's heartbeat renews. The sweeper
-- fails a `processing` video whose attempts are used up and whose lease ran out: its job is in the
-- dead-letter queue and nobody will finish it.
ALTER TABLE videos
    ADD COLUMN claim_token uuid,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN lease_expires_at timestamptz;

CREATE INDEX videos_processing_lease ON videos (lease_expires_at) WHERE status = 'processing';
