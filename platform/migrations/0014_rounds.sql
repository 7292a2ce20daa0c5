-- Voting rounds (issue #19, platform/src/rounds.rs): staff open and close the windows in which
-- votes count, and closing one freezes its standings and names each city's finalists.

-- A round: votes for players of its cities (all cities when `city_keys` is null) are accepted
-- from `opens_at` until `closes_at`. Once any round that was not cancelled exists, a vote outside
-- every open round is refused; with none, voting is open as the course's contract has it.
-- Votes are never reset: a round's standings are the players' totals when it closes.
CREATE TABLE rounds (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    opens_at           timestamptz NOT NULL,
    closes_at          timestamptz NOT NULL,
    -- The cities as staff wrote them, and their keys (lower-cased, as `player_scores.city_key`).
    cities             text[],
    city_keys          text[],
    finalists_per_city integer NOT NULL CHECK (finalists_per_city BETWEEN 1 AND 100),
    created_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    -- Withdrawn before it opened: as if it had never been configured.
    cancelled_at       timestamptz,
    -- When its standings were written to `round_standings` (after `closes_at`).
    frozen_at          timestamptz,
    CONSTRAINT rounds_closes_after_opening CHECK (closes_at > opens_at),
    CONSTRAINT rounds_cities_and_keys CHECK ((cities IS NULL) = (city_keys IS NULL)),
    CONSTRAINT rounds_some_cities
        CHECK (cities IS NULL OR cardinality(cities) BETWEEN 1 AND 50),
    CONSTRAINT rounds_cancelled_never_frozen CHECK (cancelled_at IS NULL OR frozen_at IS NULL),
    CONSTRAINT rounds_frozen_after_closing CHECK (frozen_at IS NULL OR frozen_at >= closes_at)
);
-- What the vote's statement asks: is a round open now (and is any configured at all)?
CREATE INDEX rounds_live ON rounds (closes_at) WHERE cancelled_at IS NULL;

-- A closed round's standings, frozen: one row per ranked player of each city it covered, as the
-- ranking stood when it closed. Later votes, reports, decisions and deletions never change them:
-- no foreign keys, and a trigger refuses UPDATE, DELETE and TRUNCATE for everyone.
CREATE TABLE round_standings (
    round_id  uuid NOT NULL REFERENCES rounds (id),
    city_key  text NOT NULL,
    -- 1 + the players of the city with strictly more votes (ties share it, as in the ranking).
    position  integer NOT NULL CHECK (position >= 1),
    -- Order within a tie, as the ranking lists it (who reached the total first, then the id).
    ordinal   integer NOT NULL CHECK (ordinal >= 1),
    player_id uuid NOT NULL,
    username  text NOT NULL,
    city      text NOT NULL,
    country   text NOT NULL,
    votes     bigint NOT NULL,
    -- position <= the round's finalists per city: a tie at the cut makes every tied player one.
    finalist  boolean NOT NULL,
    PRIMARY KEY (round_id, city_key, ordinal),
    UNIQUE (round_id, player_id)
);
CREATE INDEX round_standings_all ON round_standings (round_id, votes DESC, city_key, ordinal);

CREATE FUNCTION round_standings_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'round_standings are frozen: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER round_standings_frozen
    BEFORE UPDATE OR DELETE ON round_standings
    FOR EACH ROW EXECUTE FUNCTION round_standings_frozen();
CREATE TRIGGER round_standings_no_truncate
    BEFORE TRUNCATE ON round_standings
    FOR EACH STATEMENT EXECUTE FUNCTION round_standings_frozen();

-- The audit log records the rounds' life too.
ALTER TABLE staff_actions DROP CONSTRAINT staff_actions_action_check;
ALTER TABLE staff_actions ADD CONSTRAINT staff_actions_action_check CHECK (action IN (
    'staff_added', 'staff_removed', 'video_hidden_by_reports', 'video_hidden',
    'video_restored', 'reports_dismissed', 'vote_released', 'vote_voided',
    'round_created', 'round_closed_early', 'round_cancelled', 'round_frozen'));
ALTER TABLE staff_actions DROP CONSTRAINT staff_actions_target_kind_check;
ALTER TABLE staff_actions ADD CONSTRAINT staff_actions_target_kind_check
    CHECK (target_kind IN ('user', 'video', 'vote', 'round'));
