//! The PostgreSQL queue: a table with SQS semantics, received with `FOR UPDATE SKIP LOCKED`.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use super::contract::{JobQueue, QueueDepth, QueueError, ReceiptHandle, ReceivedMessage};

/// How often an empty long poll looks again. Jobs take tens of seconds, so 200 ms of pickup
/// latency is noise, and an idle worker costs five cheap index probes a second.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A message as a receive claims it.
#[derive(sqlx::FromRow)]
struct ReceivedRow {
    id: Uuid,
    body: String,
    receive_count: i32,
    receipt: Uuid,
    /// Out of receives: moved to the dead-letter queue by this very receive.
    dead_lettered: bool,
}

/// The queue's counters, as [`QueueDepth`] reports them.
#[derive(sqlx::FromRow)]
struct DepthRow {
    visible: i64,
    in_flight: i64,
    dead_letter: i64,
}

#[derive(Debug, Clone)]
pub struct PgQueue {
    pool: PgPool,
    name: String,
    max_receives: u32,
}

impl PgQueue {
    pub fn new(pool: PgPool, name: &str, max_receives: u32) -> Self {
        Self {
            pool,
            name: name.to_owned(),
            max_receives,
        }
    }

    /// One attempt: claims up to `max` due messages, dead-lettering those out of receives.
    async fn receive_now(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let rows: Vec<ReceivedRow> = sqlx::query_as(
            r#"
            WITH due AS (
                SELECT id FROM queue_messages
                WHERE queue_name = $1 AND dead_lettered_at IS NULL AND visible_at <= now()
                ORDER BY visible_at, id
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            )
            UPDATE queue_messages AS m SET
                receive_count = CASE WHEN m.receive_count >= $4 THEN m.receive_count
                                     ELSE m.receive_count + 1 END,
                visible_at = now() + make_interval(secs => $3),
                receipt = gen_random_uuid(),
                dead_lettered_at = CASE WHEN m.receive_count >= $4 THEN now() END
            FROM due WHERE m.id = due.id
            RETURNING m.id, m.body, m.receive_count, m.receipt,
                      m.dead_lettered_at IS NOT NULL AS dead_lettered
            "#,
        )
        .bind(&self.name)
        .bind(i64::from(max.clamp(1, 10)))
        .bind(visibility.as_secs_f64())
        .bind(i64::from(self.max_receives))
        .fetch_all(&self.pool)
        .await
        .map_err(|error| QueueError::backend("receive", error))?;
        Ok(rows
            .into_iter()
            .filter(|row| !row.dead_lettered)
            .map(|row| ReceivedMessage {
                id: row.id.to_string(),
                body: row.body,
                receipt: ReceiptHandle(format!("{}:{}", row.id, row.receipt)),
                receive_count: u32::try_from(row.receive_count).unwrap_or(0),
            })
            .collect())
    }
}

fn parse_receipt(receipt: &ReceiptHandle) -> Result<(Uuid, Uuid), QueueError> {
    let (id, token) = receipt
        .0
        .split_once(':')
        .ok_or(QueueError::ReceiptExpired)?;
    match (Uuid::parse_str(id), Uuid::parse_str(token)) {
        (Ok(id), Ok(token)) => Ok((id, token)),
        _ => Err(QueueError::ReceiptExpired),
    }
}

#[async_trait]
impl JobQueue for PgQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO queue_messages (id, queue_name, body) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&self.name)
            .bind(body)
            .execute(&self.pool)
            .await
            .map_err(|error| QueueError::backend("send", error))?;
        Ok(id.to_string())
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            let received = self.receive_now(max, visibility).await?;
            let now = Instant::now();
            if !received.is_empty() || now >= deadline {
                return Ok(received);
            }
            tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
        }
    }

    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        let (id, token) = parse_receipt(receipt)?;
        let updated = sqlx::query(
            "UPDATE queue_messages SET visible_at = now() + make_interval(secs => $3)
             WHERE id = $1 AND receipt = $2 AND dead_lettered_at IS NULL",
        )
        .bind(id)
        .bind(token)
        .bind(visibility.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(|error| QueueError::backend("extend visibility", error))?;
        if updated.rows_affected() == 0 {
            return Err(QueueError::ReceiptExpired);
        }
        Ok(())
    }

    async fn delete(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        let (id, token) = parse_receipt(receipt)?;
        let deleted = sqlx::query(
            "DELETE FROM queue_messages WHERE id = $1 AND receipt = $2 AND dead_lettered_at IS NULL",
        )
        .bind(id)
        .bind(token)
        .execute(&self.pool)
        .await
        .map_err(|error| QueueError::backend("delete", error))?;
        if deleted.rows_affected() == 0 {
            return Err(QueueError::ReceiptExpired);
        }
        Ok(())
    }

    async fn dead_letter(&self, message: &ReceivedMessage) -> Result<(), QueueError> {
        let (id, token) = parse_receipt(&message.receipt)?;
        let moved = sqlx::query(
            "UPDATE queue_messages SET dead_lettered_at = now()
             WHERE id = $1 AND receipt = $2 AND dead_lettered_at IS NULL",
        )
        .bind(id)
        .bind(token)
        .execute(&self.pool)
        .await
        .map_err(|error| QueueError::backend("dead-letter", error))?;
        if moved.rows_affected() == 0 {
            return Err(QueueError::ReceiptExpired);
        }
        Ok(())
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let depth: DepthRow = sqlx::query_as(
            "SELECT
                 count(*) FILTER (WHERE dead_lettered_at IS NULL AND visible_at <= now()) AS visible,
                 count(*) FILTER (WHERE dead_lettered_at IS NULL AND visible_at > now()) AS in_flight,
                 count(*) FILTER (WHERE dead_lettered_at IS NOT NULL) AS dead_letter
             FROM queue_messages WHERE queue_name = $1",
        )
        .bind(&self.name)
        .fetch_one(&self.pool)
        .await
        .map_err(|error| QueueError::backend("depth", error))?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueDepth {
            visible: count(depth.visible),
            in_flight: count(depth.in_flight),
            dead_letter: count(depth.dead_letter),
        })
    }

    async fn max_receives(&self) -> Result<Option<u32>, QueueError> {
        Ok(Some(self.max_receives))
    }
}
