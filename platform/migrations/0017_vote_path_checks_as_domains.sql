-- The one-column checks of the rows a vote writes become domains (docs/benchmarks.md, "The
-- checks a vote paid for").
--
-- PostgreSQL builds a table's CHECK constraints from their stored text again for every statement
-- that inserts or updates a row of it, whichever columns change. A vote only adds one to
-- counters, yet it paid for all nine of `videos`' checks, both of `votes`', `player_scores`' and
-- the tallies': about a fifth of the vote statement's instructions (callgrind). A domain's check is
-- built once per connection and runs only for the columns a statement assigns. The checks that
-- span columns stay table checks (a domain sees one value).
--
-- Every value allowed before is allowed now, and nothing else. Changing a column to a domain with
-- a check rewrites its table and rebuilds its indexes, under an exclusive lock: seconds for a
-- million votes.

CREATE DOMAIN nonnegative_integer AS integer CHECK (VALUE >= 0);
CREATE DOMAIN nonnegative_bigint AS bigint CHECK (VALUE >= 0);
CREATE DOMAIN positive_integer AS integer CHECK (VALUE > 0);
CREATE DOMAIN positive_bigint AS bigint CHECK (VALUE > 0);
CREATE DOMAIN video_status AS text
    CHECK (VALUE IN ('uploaded', 'processing', 'processed', 'failed'));
CREATE DOMAIN vote_state AS text CHECK (VALUE IN ('counted', 'held', 'voided'));

ALTER TABLE videos
    DROP CONSTRAINT videos_status_check,
    DROP CONSTRAINT videos_duration_ms_check,
    DROP CONSTRAINT videos_width_check,
    DROP CONSTRAINT videos_height_check,
    DROP CONSTRAINT videos_size_bytes_check,
    DROP CONSTRAINT videos_votes_check,
    ALTER COLUMN status TYPE video_status,
    ALTER COLUMN duration_ms TYPE positive_integer,
    ALTER COLUMN width TYPE positive_integer,
    ALTER COLUMN height TYPE positive_integer,
    ALTER COLUMN size_bytes TYPE positive_bigint,
    ALTER COLUMN votes TYPE nonnegative_integer;

ALTER TABLE votes
    DROP CONSTRAINT votes_state_check,
    ALTER COLUMN state TYPE vote_state;

ALTER TABLE player_scores
    DROP CONSTRAINT player_scores_votes_check,
    ALTER COLUMN votes TYPE nonnegative_bigint;

ALTER TABLE network_votes
    DROP CONSTRAINT network_votes_counted_check,
    DROP CONSTRAINT network_votes_young_votes_check,
    ALTER COLUMN counted TYPE nonnegative_integer,
    ALTER COLUMN young_votes TYPE nonnegative_integer;

ALTER TABLE signup_network_votes
    DROP CONSTRAINT signup_network_votes_counted_check,
    ALTER COLUMN counted TYPE nonnegative_integer;

-- A vote's voter is read by the vote's own statement, which records nothing without the voter's
-- row; like `votes.player_id` (0011) and the tallies' players (0016) it needs no foreign key. The
-- key's check cost every vote a lookup and a share lock on the voter's row. No part of the
-- product deletes an account.
ALTER TABLE votes DROP CONSTRAINT votes_user_id_fkey;
