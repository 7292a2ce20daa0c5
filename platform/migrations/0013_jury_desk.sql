-- The jury's desk (issue #19): staff accounts, reports, hidden videos, and the append-only audit
-- log of every staff action (platform/src/staff.rs, platform/src/audit.rs,
-- platform/src/videos/review.rs).

-- A staff account is granted by an operator's command, never by signup (which leaves the default).
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'player'
    CHECK (role IN ('player', 'staff'));
CREATE INDEX users_staff ON users (email) WHERE role = 'staff';

-- A hidden video is out of the showcase, its public page and the rankings (its votes are taken
-- out of its owner's score while it is hidden, and put back when it is restored).
-- hidden_by: the staff member who hid it; null while it is hidden by reports, pending review.
-- hidden_note: the staff member's reason; hidden_reasons: the reports' reasons, most common first.
ALTER TABLE videos
    ADD COLUMN hidden_at      timestamptz,
    ADD COLUMN hidden_by      uuid,
    ADD COLUMN hidden_note    text,
    ADD COLUMN hidden_reasons text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT videos_hidden_are_published
        CHECK (hidden_at IS NULL OR published_at IS NOT NULL),
    ADD CONSTRAINT videos_hidden_by_staff_is_hidden
        CHECK (hidden_by IS NULL OR hidden_at IS NOT NULL);

-- The showcase lists visible published videos, newest first.
CREATE INDEX videos_visible_newest ON videos (uploaded_at DESC, id DESC)
    WHERE published_at IS NOT NULL AND hidden_at IS NULL;
DROP INDEX videos_published_newest;
-- The moderation queue's hidden videos.
CREATE INDEX videos_hidden ON videos (hidden_at) WHERE hidden_at IS NOT NULL;

-- One report per account per video, ever (the primary key settles concurrent duplicates).
-- counts: the reporter's e-mail was verified (or verification was off) when they reported; only
-- such reports hide a video. A report is open until staff decide on its video: upheld (hidden),
-- rejected (restored) or dismissed.
CREATE TABLE video_reports (
    video_id    uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    reporter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason      text NOT NULL CHECK (reason IN ('inappropriate', 'not_basketball',
                                                'not_the_player', 'copyright', 'other')),
    details     text CHECK (details IS NULL OR char_length(details) BETWEEN 1 AND 500),
    counts      boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution  text CHECK (resolution IN ('upheld', 'rejected', 'dismissed')),
    PRIMARY KEY (video_id, reporter_id),
    CONSTRAINT video_reports_other_has_details CHECK (reason <> 'other' OR details IS NOT NULL),
    CONSTRAINT video_reports_resolved CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX video_reports_open ON video_reports (video_id, created_at) WHERE resolved_at IS NULL;
CREATE INDEX video_reports_reporter ON video_reports (reporter_id);

-- Every staff action (and every change of a video's visibility, the automatic hiding by reports
-- included), in order. Append-only: the trigger below refuses UPDATE, DELETE and TRUNCATE for
-- everyone, and the API's role holds only SELECT and INSERT on it (platform/src/roles.rs).
-- No foreign keys: the log outlives the accounts and videos it names.
CREATE TABLE staff_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The staff member's account; null for the operator's command and for reports.
    actor_id    uuid,
    -- Who, readably: the staff member's e-mail, 'operator' or 'reports'.
    actor       text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 320),
    action      text NOT NULL CHECK (action IN (
                    'staff_added', 'staff_removed', 'video_hidden_by_reports', 'video_hidden',
                    'video_restored', 'reports_dismissed', 'vote_released', 'vote_voided')),
    target_kind text NOT NULL CHECK (target_kind IN ('user', 'video', 'vote')),
    -- The user or video (for a vote: its video; `details` names the voter).
    target_id   uuid NOT NULL,
    reason      text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX staff_actions_target ON staff_actions (target_id, id);

CREATE FUNCTION staff_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'staff_actions is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER staff_actions_append_only
    BEFORE UPDATE OR DELETE ON staff_actions
    FOR EACH ROW EXECUTE FUNCTION staff_actions_append_only();
CREATE TRIGGER staff_actions_no_truncate
    BEFORE TRUNCATE ON staff_actions
    FOR EACH STATEMENT EXECUTE FUNCTION staff_actions_append_only();
