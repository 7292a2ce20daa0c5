-- Rankings no longer need a word from the database: each API instance re-reads the pages it
-- serves within a fixed age (app/src/rankings). The per-statement NOTIFY of 0005 serialised
-- committing votes on PostgreSQL's notification queue lock, so it goes.
DROP TRIGGER player_scores_changed ON player_scores;
DROP FUNCTION notify_rankings_changed();
