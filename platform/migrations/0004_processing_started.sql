-- When the worker last started processing a video: service times for operators and benchmarks.
ALTER TABLE videos ADD COLUMN processing_started_at timestamptz;
