-- The vote's statement, lighter (docs/benchmarks.md, "What the vote's new work costs").

-- The holding rules' tallies count votes per player; like `votes.player_id` (0011), they need no
-- foreign key of their own. A new tally row (nearly every vote from a network that has not voted
-- for that player yet) paid for the key's check with a lookup and a share lock on the player's
-- row, which every vote for a popular player then took at once. No part of the product deletes an
-- account; one deleted by hand leaves its tallies behind, counts of votes that went with its
-- videos, which no vote can read again.
ALTER TABLE network_votes DROP CONSTRAINT network_votes_player_id_fkey;
ALTER TABLE signup_network_votes DROP CONSTRAINT signup_network_votes_player_id_fkey;
