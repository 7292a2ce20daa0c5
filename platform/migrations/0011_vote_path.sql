-- The vote's path back to one round trip (docs/benchmarks.md, "What the vote's new work costs").

-- A vote's player is its video's owner, copied for the holding rules and the jury's reads. It
-- needs no foreign key of its own: the video's key already removes the vote with the video, and
-- the video goes with its owner. The key's check cost every vote a lookup and a share lock on
-- the player's row.
ALTER TABLE votes DROP CONSTRAINT votes_player_id_fkey;

-- The API keeps the vote's rate counters in memory and shares them every second
-- (app/src/integrity/synced.rs): each instance adds its hits and reads back the counters that
-- changed since its last look.
ALTER TABLE rate_counters ADD COLUMN changed_at timestamptz NOT NULL DEFAULT clock_timestamp();
CREATE INDEX rate_counters_changed_at ON rate_counters (changed_at);
