//! Where a video's files live in storage: every key is built here, and a row answers here whether
//! it owns a key (the reconciler's question).
//!
//! Layout: `videos/<id>/original.mp4` is the upload, owned by the row for as long as it lives;
//! `videos/<id>/<token>/processed.mp4` and `…/poster.jpg` are the outputs of the attempt holding
//! claim token `<token>`, so two attempts of one job never write over each other.

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use crate::storage::StorageKey;

/// The prefix under which every video's files are stored (what the reconciler lists).
pub const PREFIX: &str = "videos/";

/// The storage keys of one video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoKeys {
    video_id: Uuid,
}

impl VideoKeys {
    pub fn of(video_id: Uuid) -> Self {
        Self { video_id }
    }

    pub fn video_id(self) -> Uuid {
        self.video_id
    }

    /// `videos/<id>/original.mp4`: the file as uploaded.
    pub fn original(self) -> StorageKey {
        StorageKey::built(format!("{PREFIX}{}/original.mp4", self.video_id))
    }

    /// `videos/<id>/<token>/`: where the attempt holding `token` writes its outputs.
    pub fn attempt_prefix(self, token: Uuid) -> String {
        format!("{PREFIX}{}/{token}/", self.video_id)
    }

    /// `videos/<id>/<token>/processed.mp4`: the showcase clip of one attempt.
    pub fn clip(self, token: Uuid) -> StorageKey {
        StorageKey::built(format!("{}processed.mp4", self.attempt_prefix(token)))
    }

    /// `videos/<id>/<token>/poster.jpg`: the poster of one attempt.
    pub fn poster(self, token: Uuid) -> StorageKey {
        StorageKey::built(format!("{}poster.jpg", self.attempt_prefix(token)))
    }

    /// The video id in `videos/<id>/…`, if the key has that shape.
    pub fn video_id_of(key: &str) -> Option<Uuid> {
        let mut segments = key.split('/');
        match (segments.next(), segments.next()) {
            (Some("videos"), Some(id)) => Uuid::parse_str(id).ok(),
            _ => None,
        }
    }
}

/// The keys a video's row owns: its files, and the outputs of the attempt holding it now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedKeys {
    pub id: Uuid,
    pub original_key: String,
    pub processed_key: Option<String>,
    pub poster_key: Option<String>,
    pub claim_token: Option<Uuid>,
}

impl OwnedKeys {
    pub fn owns(&self, key: &str) -> bool {
        key == self.original_key
            || self.processed_key.as_deref() == Some(key)
            || self.poster_key.as_deref() == Some(key)
            || self
                .claim_token
                .is_some_and(|token| key.starts_with(&VideoKeys::of(self.id).attempt_prefix(token)))
    }
}

/// The owned keys of every video among `ids` that still has a row, by id.
pub async fn owned_keys(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, OwnedKeys>, sqlx::Error> {
    let rows: Vec<OwnedKeys> = sqlx::query_as(
        "SELECT id, original_key, processed_key, poster_key, claim_token
         FROM videos WHERE id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_owns_its_files_and_its_current_attempt_outputs_only() {
        let (id, token, old_token) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let keys = VideoKeys::of(id);
        let row = OwnedKeys {
            id,
            original_key: keys.original().as_str().to_owned(),
            processed_key: Some(keys.clip(old_token).as_str().to_owned()),
            poster_key: None,
            claim_token: Some(token),
        };
        assert!(row.owns(&format!("videos/{id}/original.mp4")));
        assert!(row.owns(&format!("videos/{id}/{old_token}/processed.mp4")));
        assert!(row.owns(&format!("videos/{id}/{token}/poster.jpg")));
        assert!(!row.owns(&format!("videos/{id}/{old_token}/poster.jpg")));
        assert!(!row.owns(&format!("videos/{}/original.mp4", Uuid::new_v4())));
    }

    #[test]
    fn video_ids_come_from_the_second_segment() {
        let id = Uuid::new_v4();
        assert_eq!(
            VideoKeys::video_id_of(&format!("videos/{id}/original.mp4")),
            Some(id)
        );
        assert_eq!(VideoKeys::video_id_of("videos/not-a-uuid/x.mp4"), None);
        assert_eq!(VideoKeys::video_id_of(&format!("other/{id}/x")), None);
    }

    #[test]
    fn every_key_is_a_valid_storage_key_in_the_documented_layout() {
        let (id, token) = (Uuid::new_v4(), Uuid::new_v4());
        let keys = VideoKeys::of(id);
        for (key, expected) in [
            (keys.original(), format!("videos/{id}/original.mp4")),
            (
                keys.clip(token),
                format!("videos/{id}/{token}/processed.mp4"),
            ),
            (
                keys.poster(token),
                format!("videos/{id}/{token}/poster.jpg"),
            ),
        ] {
            assert_eq!(key.as_str(), expected);
            assert!(StorageKey::parse(key.as_str()).is_ok());
            assert_eq!(VideoKeys::video_id_of(key.as_str()), Some(id));
        }
    }
}
