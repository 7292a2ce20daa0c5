//! Storage converges on the rows: an object under `videos/` that no row owns, and that is older
//! than a grace period, is deleted.
//!
//! Strays come from interruptions between a file and its row: the API stores an original before
//! it commits the video's row (a crash or a lost database in between leaves the file), it deletes
//! files after the row's delete commits (a crash in between leaves them), and a worker attempt
//! that dies mid-upload leaves its partial outputs. The grace period keeps the reconciler away
//! from uploads and attempts still in flight.

use std::time::{Duration, SystemTime};

use platform::storage::{Storage, StoredObject};
use platform::videos::VideoKeys;
use platform::videos::keys::{PREFIX, owned_keys};
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

/// One pass over `videos/`: deletes every object older than `grace` that no row owns.
pub async fn reconcile(
    pool: &PgPool,
    storage: &dyn Storage,
    grace: Duration,
) -> anyhow::Result<Reconciled> {
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let objects = storage.list(PREFIX).await?;
    let old: Vec<&StoredObject> = objects
        .iter()
        .filter(|object| older_than(object, cutoff))
        .collect();
    // `videos/<id>/…`: the rows of every id seen, read after the listing so that a row committed
    // meanwhile counts.
    let ids: Vec<Uuid> = old
        .iter()
        .filter_map(|object| VideoKeys::video_id_of(object.key.as_str()))
        .collect();
    let rows = owned_keys(pool, &ids).await?;
    let mut removed = 0;
    for object in old {
        let key = object.key.as_str();
        let owned = VideoKeys::video_id_of(key)
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

/// Whether `object` was last written before `cutoff`; an object whose age the storage cannot tell
/// is never taken for old (so never deleted).
fn older_than(object: &StoredObject, cutoff: SystemTime) -> bool {
    object.modified.is_some_and(|at| at < cutoff)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use platform::storage::{StorageKey, StoredObject};

    use super::older_than;

    #[test]
    fn an_object_of_unknown_age_is_never_old() {
        let key = StorageKey::parse("videos/x/original.mp4").unwrap();
        let now = SystemTime::now();
        let object = |modified| StoredObject {
            key: key.clone(),
            modified,
        };
        assert!(older_than(
            &object(Some(now - Duration::from_secs(7200))),
            now - Duration::from_secs(3600)
        ));
        assert!(!older_than(
            &object(Some(now)),
            now - Duration::from_secs(3600)
        ));
        assert!(!older_than(&object(None), now));
        assert!(!older_than(
            &object(None),
            SystemTime::now() + Duration::from_secs(86_400)
        ));
    }
}
