//! Storage converges on the rows: an object under `videos/` that no row owns, and that is older
//! than a grace period, is deleted.
//!
//! Strays come from interruptions between a file and its row: the API stores an original before
//! it commits the video's row (a crash or a lost database in between leaves the file), it deletes
//! files after the row's delete commits (a crash in between leaves them), and a worker attempt
//! that dies mid-upload leaves its partial outputs. The grace period keeps the reconciler away
//! from uploads and attempts still in flight.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use platform::storage::{Storage, StoredObject};
use sqlx::PgPool;
use uuid::Uuid;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Objects under `videos/` looked at.
    pub examined: usize,
    /// Objects deleted because no row owned them.
    pub removed: usize,
}

/// The keys a video's row owns: its files, and the outputs of the attempt holding it now.
#[derive(sqlx::FromRow)]
struct OwnedKeys {
    id: Uuid,
    original_key: String,
    processed_key: Option<String>,
    poster_key: Option<String>,
    claim_token: Option<Uuid>,
}

impl OwnedKeys {
    fn owns(&self, key: &str) -> bool {
        key == self.original_key
            || self.processed_key.as_deref() == Some(key)
            || self.poster_key.as_deref() == Some(key)
            || self
                .claim_token
                .is_some_and(|token| key.starts_with(&format!("videos/{}/{token}/", self.id)))
    }
}

/// One pass over `videos/`: deletes every object older than `grace` that no row owns.
pub async fn reconcile(
    pool: &PgPool,
    storage: &dyn Storage,
    grace: Duration,
) -> anyhow::Result<Reconciled> {
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let objects = storage.list("videos/").await?;
    let old: Vec<&StoredObject> = objects
        .iter()
        .filter(|object| object.modified < cutoff)
        .collect();
    // `videos/<id>/…`: the rows of every id seen, read after the listing so that a row committed
    // meanwhile counts.
    let ids: Vec<Uuid> = old
        .iter()
        .filter_map(|object| video_id_of(object.key.as_str()))
        .collect();
    let rows: HashMap<Uuid, OwnedKeys> = sqlx::query_as::<_, OwnedKeys>(
        "SELECT id, original_key, processed_key, poster_key, claim_token
         FROM videos WHERE id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row))
    .collect();
    let mut removed = 0;
    for object in old {
        let key = object.key.as_str();
        let owned = video_id_of(key)
            .and_then(|id| rows.get(&id))
            .is_some_and(|row| row.owns(key));
        if owned {
            continue;
        }
        match storage.delete(&object.key).await {
            Ok(()) => {
                removed += 1;
                tracing::info!(%key, "removed an object no video owns");
            }
            Err(error) => tracing::warn!(%key, %error, "could not remove an orphaned object"),
        }
    }
    Ok(Reconciled {
        examined: objects.len(),
        removed,
    })
}

/// The video id in `videos/<id>/…`, if the key has that shape.
fn video_id_of(key: &str) -> Option<Uuid> {
    let mut segments = key.split('/');
    match (segments.next(), segments.next()) {
        (Some("videos"), Some(id)) => Uuid::parse_str(id).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_owns_its_files_and_its_current_attempt_outputs_only() {
        let (id, token, old_token) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let row = OwnedKeys {
            id,
            original_key: format!("videos/{id}/original.mp4"),
            processed_key: Some(format!("videos/{id}/{old_token}/processed.mp4")),
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
        assert_eq!(video_id_of(&format!("videos/{id}/original.mp4")), Some(id));
        assert_eq!(video_id_of("videos/not-a-uuid/x.mp4"), None);
        assert_eq!(video_id_of(&format!("other/{id}/x")), None);
    }
}
