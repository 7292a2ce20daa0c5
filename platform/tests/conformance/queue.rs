//! The queue conformance suite: each case runs against the PostgreSQL queue and SQS.
//!
//! SQS counts visibility in whole seconds, so every timeout here is at least one second.

use std::sync::Arc;
use std::time::Duration;

use platform::queue::{JobQueue, PgQueue, QueueDepth, SqsQueue};
use testkit::TestDatabase;

const MAX_RECEIVES: u32 = 3;
const NO_WAIT: Duration = Duration::ZERO;
const SHORT: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(60);
/// Comfortably past a one-second visibility timeout.
const PAST_SHORT: Duration = Duration::from_millis(1600);

/// A backend under test, with whatever keeps its resources alive.
struct Backend {
    queue: Arc<dyn JobQueue>,
    _database: Option<TestDatabase>,
}

async fn postgres() -> anyhow::Result<Backend> {
    let database = TestDatabase::new().await?;
    Ok(Backend {
        queue: Arc::new(PgQueue::new(database.pool.clone(), "jobs", MAX_RECEIVES)),
        _database: Some(database),
    })
}

async fn sqs() -> anyhow::Result<Backend> {
    let config = testkit::aws_config().await?;
    let url = testkit::sqs_queue_with_dead_letter(&config, MAX_RECEIVES).await?;
    Ok(Backend {
        queue: Arc::new(SqsQueue::new(&config, &url)),
        _database: None,
    })
}

fn depth(visible: u64, in_flight: u64, dead_letter: u64) -> QueueDepth {
    QueueDepth {
        visible,
        in_flight,
        dead_letter,
    }
}

conformance_suite! {
    backends: postgres, sqs;
    subject: queue;

    async fn send_then_receive_delivers_the_body(queue: &dyn JobQueue) -> anyhow::Result<()> {
        let id = queue.send(r#"{"video_id":"a"}"#).await?;
        let received = queue.receive(10, NO_WAIT, LONG).await?;
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].id, id);
        assert_eq!(received[0].body, r#"{"video_id":"a"}"#);
        assert_eq!(received[0].receive_count, 1);
        Ok(())
    }

    async fn a_received_message_is_invisible_to_others(queue: &dyn JobQueue) -> anyhow::Result<()> {
        queue.send("one").await?;
        assert_eq!(queue.receive(1, NO_WAIT, LONG).await?.len(), 1);
        assert!(queue.receive(10, NO_WAIT, LONG).await?.is_empty());
        assert_eq!(queue.depth().await?, depth(0, 1, 0));
        Ok(())
    }

    async fn an_unacknowledged_message_is_redelivered_after_the_timeout(
        queue: &dyn JobQueue,
    ) -> anyhow::Result<()> {
        queue.send("again").await?;
        let first = queue.receive(1, NO_WAIT, SHORT).await?;
        tokio::time::sleep(PAST_SHORT).await;
        let second = queue.receive(1, NO_WAIT, LONG).await?;
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].id, first[0].id);
        assert_eq!(second[0].receive_count, 2);
        assert_ne!(second[0].receipt, first[0].receipt);
        Ok(())
    }

    async fn extended_visibility_keeps_a_message_hidden(
        queue: &dyn JobQueue,
    ) -> anyhow::Result<()> {
        queue.send("slow job").await?;
        let received = queue.receive(1, NO_WAIT, SHORT).await?;
        queue
            .extend_visibility(&received[0].receipt, Duration::from_secs(30))
            .await?;
        tokio::time::sleep(PAST_SHORT).await;
        assert!(queue.receive(1, NO_WAIT, LONG).await?.is_empty());
        assert_eq!(queue.depth().await?, depth(0, 1, 0));
        Ok(())
    }

    async fn a_released_message_is_visible_at_once(queue: &dyn JobQueue) -> anyhow::Result<()> {
        queue.send("released").await?;
        let received = queue.receive(1, NO_WAIT, LONG).await?;
        queue.release(&received[0].receipt).await?;
        let again = queue.receive(1, NO_WAIT, LONG).await?;
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, received[0].id);
        Ok(())
    }

    async fn a_deleted_message_is_gone(queue: &dyn JobQueue) -> anyhow::Result<()> {
        queue.send("done").await?;
        let received = queue.receive(1, NO_WAIT, SHORT).await?;
        queue.delete(&received[0].receipt).await?;
        tokio::time::sleep(PAST_SHORT).await;
        assert!(queue.receive(1, NO_WAIT, LONG).await?.is_empty());
        assert_eq!(queue.depth().await?, depth(0, 0, 0));
        Ok(())
    }

    async fn a_message_is_dead_lettered_after_three_receives(
        queue: &dyn JobQueue,
    ) -> anyhow::Result<()> {
        assert_eq!(queue.max_receives().await?, Some(MAX_RECEIVES));
        queue.send("poison").await?;
        for attempt in 1..=MAX_RECEIVES {
            let received = queue.receive(1, NO_WAIT, SHORT).await?;
            assert_eq!(received.len(), 1, "receive {attempt}");
            assert_eq!(received[0].receive_count, attempt);
            tokio::time::sleep(PAST_SHORT).await;
        }
        assert!(queue.receive(1, NO_WAIT, LONG).await?.is_empty());
        assert_eq!(queue.depth().await?, depth(0, 0, 1));
        Ok(())
    }

    async fn a_message_can_be_dead_lettered_at_once(queue: &dyn JobQueue) -> anyhow::Result<()> {
        queue.send("hopeless").await?;
        let received = queue.receive(1, NO_WAIT, SHORT).await?;
        queue.dead_letter(&received[0]).await?;
        tokio::time::sleep(PAST_SHORT).await;
        assert!(queue.receive(1, NO_WAIT, LONG).await?.is_empty());
        assert_eq!(queue.depth().await?, depth(0, 0, 1));
        Ok(())
    }

    async fn a_long_poll_returns_a_message_sent_while_waiting(
        queue: &Arc<dyn JobQueue>,
    ) -> anyhow::Result<()> {
        let sender = Arc::clone(queue);
        let send_later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            sender.send("late").await
        });
        let received = queue.receive(1, Duration::from_secs(5), LONG).await?;
        send_later.await??;
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].body, "late");
        Ok(())
    }

    async fn depth_counts_visible_and_in_flight(queue: &dyn JobQueue) -> anyhow::Result<()> {
        assert_eq!(queue.depth().await?, depth(0, 0, 0));
        for body in ["a", "b", "c"] {
            queue.send(body).await?;
        }
        assert_eq!(queue.depth().await?, depth(3, 0, 0));
        queue.receive(1, NO_WAIT, LONG).await?;
        assert_eq!(queue.depth().await?, depth(2, 1, 0));
        Ok(())
    }
}
