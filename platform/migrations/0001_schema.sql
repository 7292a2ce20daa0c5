-- The whole product schema: players, their videos, votes, per-player totals for rankings.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- Stored lower-cased, so the plain unique constraint is case-insensitive.
    email         text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash text NOT NULL,
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    city          text NOT NULL,
    country       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Public listing filtered by city (exact, case-insensitive).
CREATE INDEX users_city ON users (lower(city));

CREATE TABLE videos (
    id                uuid PRIMARY KEY,
    owner_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title             text NOT NULL,
    status            text NOT NULL DEFAULT 'uploaded'
                      CHECK (status IN ('uploaded', 'processing', 'processed', 'failed')),
    -- What the upload asked for: publish as soon as processing succeeds.
    publish_requested boolean NOT NULL DEFAULT true,
    -- Published for voting when set; only a processed video can be.
    published_at      timestamptz CHECK (published_at IS NULL OR status = 'processed'),
    original_key      text NOT NULL,
    processed_key     text,
    poster_key        text,
    -- Probed from the original at upload.
    duration_ms       integer NOT NULL CHECK (duration_ms > 0),
    width             integer NOT NULL CHECK (width > 0),
    height            integer NOT NULL CHECK (height > 0),
    size_bytes        bigint NOT NULL CHECK (size_bytes > 0),
    video_codec       text NOT NULL,
    -- A reason the owner can read when status = 'failed'.
    error             text,
    -- Kept in the same transaction as each vote.
    votes             integer NOT NULL DEFAULT 0 CHECK (votes >= 0),
    uploaded_at       timestamptz NOT NULL DEFAULT now(),
    processed_at      timestamptz
);

-- "My videos", newest first.
CREATE INDEX videos_owner_newest ON videos (owner_id, uploaded_at DESC, id DESC);
-- Public listing, newest first.
CREATE INDEX videos_published_newest ON videos (uploaded_at DESC, id DESC)
    WHERE published_at IS NOT NULL;

CREATE TABLE votes (
    video_id   uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- One vote per user per video, race-free by constraint.
    PRIMARY KEY (video_id, user_id)
);
CREATE INDEX votes_user ON votes (user_id);

-- One row per player with at least one published video: the ranking is an index range scan.
CREATE TABLE player_scores (
    player_id  uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- lower(city) of the player, for the city filter.
    city_key   text NOT NULL,
    votes      bigint NOT NULL DEFAULT 0 CHECK (votes >= 0),
    -- When the player reached the current total: ties go to whoever got there first.
    reached_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX player_scores_rank ON player_scores (votes DESC, reached_at, player_id);
CREATE INDEX player_scores_city_rank ON player_scores (city_key, votes DESC, reached_at, player_id);
