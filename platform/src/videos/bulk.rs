//! Whole-table changes for the developer tools only (`cargo xtask seed`, `bench`, `loadtest`):
//! a ranked data set in a few set-based statements, and an empty table before a measured run.

use sqlx::{PgConnection, PgPool};

/// Deletes every video (their outbox records go with them). Returns how many.
pub async fn delete_all(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM videos")
        .execute(pool)
        .await?
        .rows_affected())
}

/// One processed, published video for each seeded player `0..players` (ids `md5('video-' || i)`
/// owned by `md5('player-' || i)`), with files under `seed/<i>/` that no storage holds.
pub async fn seed_published(
    connection: &mut PgConnection,
    players: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO videos (id, owner_id, title, status, publish_requested, published_at,
                             original_key, processed_key, poster_key, duration_ms, width, height,
                             size_bytes, video_codec, uploaded_at, processed_at)
         SELECT md5('video-' || i)::uuid, md5('player-' || i)::uuid, 'Jugada ' || i, 'processed', true,
                t + interval '1 minute', 'seed/' || i || '/original.mp4', 'seed/' || i || '/processed.mp4',
                'seed/' || i || '/poster.jpg', 30000, 1920, 1080, 50000000, 'h264', t, t + interval '1 minute'
         FROM generate_series(0, $1 - 1) AS i,
              LATERAL (SELECT timestamptz '2026-02-01 00:00:00Z' + i * interval '10 seconds' AS t) AS at",
    )
    .bind(players)
    .execute(connection)
    .await?;
    Ok(())
}

/// Sets every video's vote count from the `votes` rows (after votes were inserted in bulk).
pub async fn recount_votes(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE videos v SET votes = c.n
         FROM (SELECT video_id, count(*) AS n FROM votes WHERE state = 'counted' GROUP BY video_id) c
         WHERE v.id = c.video_id",
    )
    .execute(connection)
    .await?;
    Ok(())
}
