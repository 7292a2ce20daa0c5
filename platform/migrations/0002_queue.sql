-- The PostgreSQL job queue (the local and test stand-in for SQS, with the same semantics).

CREATE TABLE queue_messages (
    id               uuid PRIMARY KEY,
    queue_name       text NOT NULL,
    body             text NOT NULL,
    sent_at          timestamptz NOT NULL DEFAULT now(),
    -- Receivable once this moment has passed: a receive pushes it forward (visibility timeout).
    visible_at       timestamptz NOT NULL DEFAULT now(),
    receive_count    integer NOT NULL DEFAULT 0,
    -- Changes at every receive: only the latest receiver may extend, release or delete.
    receipt          uuid,
    -- Set when the message moved to the dead-letter queue.
    dead_lettered_at timestamptz
);

-- Receive: the oldest visible live message of one queue.
CREATE INDEX queue_messages_ready ON queue_messages (queue_name, visible_at)
    WHERE dead_lettered_at IS NULL;
