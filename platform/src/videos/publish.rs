//! Publishing a processed video for voting, and entering its owner in the rankings.

use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

/// The owner of a video just published, and the city key their score is ranked under.
#[derive(sqlx::FromRow)]
struct PublishedOwner {
    owner_id: Uuid,
    city_key: String,
}

/// Publishes a processed, unpublished video for voting, and enters its owner in the rankings if
/// this is their first published video. Returns `false` (and changes nothing) when the video is
/// missing, not processed, or already published.
pub async fn publish(
    tx: &mut Transaction<'_, Postgres>,
    video_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let owner: Option<PublishedOwner> = sqlx::query_as(
        "UPDATE videos v SET published_at = now()
         FROM users u
         WHERE v.id = $1 AND v.status = 'processed' AND v.published_at IS NULL AND u.id = v.owner_id
         RETURNING v.owner_id, lower(u.city) AS city_key",
    )
    .bind(video_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(PublishedOwner { owner_id, city_key }) = owner else {
        return Ok(false);
    };
    let new_player = sqlx::query(
        "INSERT INTO player_scores (player_id, city_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(owner_id)
    .bind(&city_key)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    add_to_counts(
        &mut *tx,
        &city_key,
        i64::try_from(new_player).unwrap_or(0),
        1,
    )
    .await?;
    Ok(true)
}

/// Adds to the listing totals of one city and of all cities.
pub(super) async fn add_to_counts(
    connection: &mut PgConnection,
    city_key: &str,
    players: i64,
    videos: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO listing_counts (city_key, ranked_players, published_videos)
         VALUES ($1, $2, $3), ('', $2, $3)
         ON CONFLICT (city_key) DO UPDATE SET
             ranked_players = listing_counts.ranked_players + EXCLUDED.ranked_players,
             published_videos = listing_counts.published_videos + EXCLUDED.published_videos",
    )
    .bind(city_key)
    .bind(players)
    .bind(videos)
    .execute(connection)
    .await?;
    Ok(())
}
