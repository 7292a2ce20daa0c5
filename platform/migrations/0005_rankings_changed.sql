-- Every change to the scores tells the API instances listening on `rankings_changed` to forget
-- the ranking pages they keep in memory (app/src/rankings_cache.rs). One notification per
-- statement; PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION notify_rankings_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rankings_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER player_scores_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON player_scores
    FOR EACH STATEMENT EXECUTE FUNCTION notify_rankings_changed();
