-- What a reviewer needs to judge a vote, votes held out of the ranking, per-network tallies for
-- the holding rules, and the rate counters of signups and votes (platform/src/videos/votes.rs,
-- app/src/integrity).

-- The network an account signed up from (null for accounts older than this column): accounts
-- made in bulk come from few networks, however patiently they wait before voting.
ALTER TABLE users ADD COLUMN signup_network text;

-- Each vote records who cast it as the rules saw it: the voter's network (an IPv6 /64 or an IPv4
-- address), the account's creation time (its age at the vote is created_at - voter_created_at)
-- and whether its e-mail was verified. A held vote is kept out of every count until staff
-- release it (counted) or void it; its reason says which rule held it.
ALTER TABLE votes
    ADD COLUMN player_id        uuid REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN network          text NOT NULL DEFAULT 'unknown',
    ADD COLUMN signup_network   text,
    ADD COLUMN voter_created_at timestamptz,
    ADD COLUMN voter_verified   boolean NOT NULL DEFAULT false,
    ADD COLUMN state            text NOT NULL DEFAULT 'counted'
                                CHECK (state IN ('counted', 'held', 'voided')),
    ADD COLUMN held_reason      text,
    ADD COLUMN decided_at       timestamptz,
    ADD COLUMN decided_reason   text,
    ADD CONSTRAINT votes_held_have_a_reason CHECK (state = 'counted' OR held_reason IS NOT NULL);

UPDATE votes SET player_id = videos.owner_id, voter_created_at = users.created_at
FROM videos, users
WHERE videos.id = votes.video_id AND users.id = votes.user_id;

ALTER TABLE votes ALTER COLUMN player_id SET NOT NULL,
                  ALTER COLUMN voter_created_at SET NOT NULL;

-- A player's held votes, for the player ("N votos en revisión") and the jury.
CREATE INDEX votes_held ON votes (player_id, created_at) WHERE state = 'held';
CREATE INDEX votes_held_by_video ON votes (video_id) WHERE state = 'held';

-- Per player and network: the votes that count, and the votes from young accounts in the current
-- window. A vote locks its row first, so the rules see every earlier vote of that network for
-- that player, however many arrive at once.
CREATE TABLE network_votes (
    player_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    network           text NOT NULL,
    counted           integer NOT NULL DEFAULT 0 CHECK (counted >= 0),
    young_votes       integer NOT NULL DEFAULT 0 CHECK (young_votes >= 0),
    young_window_end  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (player_id, network)
);

-- Per player and the network its voters signed up from: the votes that count.
CREATE TABLE signup_network_votes (
    player_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    network   text NOT NULL,
    counted   integer NOT NULL DEFAULT 0 CHECK (counted >= 0),
    PRIMARY KEY (player_id, network)
);

INSERT INTO network_votes (player_id, network, counted)
SELECT player_id, network, count(*) FROM votes WHERE state = 'counted'
GROUP BY player_id, network;
-- (No vote before this migration knows its voter's signup network.)

-- Fixed-window rate counters by key ('signup:<network>', 'signup24:<ipv4 /24>',
-- 'vote:<account>', 'votes:<network>'): hits in the window that ends at window_end. Unlogged:
-- a busy network's row takes every one of its votes, and a commit that wrote no WAL does not wait
-- for a flush while holding it; after a crash the counters start again from zero, which only
-- relaxes the limits for one window.
CREATE UNLOGGED TABLE rate_counters (
    key        text PRIMARY KEY,
    window_end timestamptz NOT NULL,
    hits       integer NOT NULL CHECK (hits >= 0)
);
CREATE INDEX rate_counters_window_end ON rate_counters (window_end);

-- Signups now count in rate_counters.
DELETE FROM login_failures WHERE key LIKE 'signup:%';

-- Proofs of work already used: each is good for one request, until its challenge expires
-- (unlogged like the counters: after a crash, a solution of the last ten minutes could be used
-- once more).
CREATE UNLOGGED TABLE spent_proofs (
    signature  text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX spent_proofs_expires_at ON spent_proofs (expires_at);
