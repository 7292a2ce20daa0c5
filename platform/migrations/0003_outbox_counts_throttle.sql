-- Jobs recorded with their video (the transactional outbox), listing totals, login throttling.

-- A processing job written in the same transaction as its video and published to the queue after
-- commit; a relay re-publishes any row still here when it falls due (the API stopped in between,
-- or the queue was down).
CREATE TABLE job_outbox (
    id              uuid PRIMARY KEY,
    video_id        uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL
);
CREATE INDEX job_outbox_due ON job_outbox (next_attempt_at);

-- Totals behind X-Total-Count, kept in the transactions that change them so no request counts
-- rows. city_key is lower(city); the empty key holds the totals over all cities.
CREATE TABLE listing_counts (
    city_key         text PRIMARY KEY,
    ranked_players   bigint NOT NULL DEFAULT 0 CHECK (ranked_players >= 0),
    published_videos bigint NOT NULL DEFAULT 0 CHECK (published_videos >= 0)
);

-- Failed logins per key ('email:<address>' or 'client:<ip>') in the current window.
CREATE TABLE login_failures (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL
);
