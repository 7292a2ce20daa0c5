//! Videos as both the app and the worker see them: the status a video goes through, and the state
//! changes both make, so each is written once.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, PgConnection, Postgres, Transaction, Type};
use uuid::Uuid;

/// Where a video is in its life, the values of `videos.status`: `uploaded` → `processing` →
/// `processed` | `failed` (`published` is a separate flag). Read and bound as its text.
///
/// Queries keep the statuses they filter on as literals (`WHERE status = 'processing'`), so the
/// planner can match the partial index on processing videos; what they write is bound from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoStatus {
    /// Stored, waiting for a worker.
    Uploaded,
    /// A worker is rendering it.
    Processing,
    /// The showcase clip and poster are ready.
    Processed,
    /// Processing gave up; the video's `error` says why.
    Failed,
}

impl VideoStatus {
    pub const ALL: [Self; 4] = [
        Self::Uploaded,
        Self::Processing,
        Self::Processed,
        Self::Failed,
    ];

    /// The column's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploaded => "uploaded",
            Self::Processing => "processing",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for VideoStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VideoStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

/// A `videos.status` value this build does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown video status {0:?}")]
pub struct UnknownStatus(String);

impl Type<Postgres> for VideoStatus {
    fn type_info() -> PgTypeInfo {
        <str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <str as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for VideoStatus {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for VideoStatus {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(<&str as Decode<Postgres>>::decode(value)?.parse()?)
    }
}

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
async fn add_to_counts(
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

#[cfg(test)]
mod tests {
    use super::VideoStatus;

    #[test]
    fn every_status_reads_back_from_its_text_and_nothing_else_does() {
        for status in VideoStatus::ALL {
            assert_eq!(status.as_str().parse::<VideoStatus>().unwrap(), status);
        }
        assert!("Processed".parse::<VideoStatus>().is_err());
        assert!("published".parse::<VideoStatus>().is_err());
    }

    #[test]
    fn the_statuses_are_the_ones_the_schema_allows() {
        let schema = include_str!("../migrations/0001_schema.sql");
        let allowed: Vec<String> = VideoStatus::ALL
            .iter()
            .map(|status| format!("'{status}'"))
            .collect();
        assert!(
            schema.contains(&format!("CHECK (status IN ({}))", allowed.join(", "))),
            "the videos.status CHECK constraint and VideoStatus disagree"
        );
    }
}
