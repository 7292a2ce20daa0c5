//! The status a video goes through (`videos.status`), read and bound as its text.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

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
        let schema = include_str!("../../migrations/0001_schema.sql");
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
