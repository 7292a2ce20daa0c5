-- The worker puts back the job of a video the queue may have lost (a database outage can spend a
-- message's every receive without an attempt being recorded). requeued_at keeps it to once per
-- period; the partial index finds unfinished videos without reading the finished ones.
ALTER TABLE videos ADD COLUMN requeued_at timestamptz;
CREATE INDEX videos_unfinished ON videos (uploaded_at) WHERE status IN ('uploaded', 'processing');
