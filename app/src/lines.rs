//! Per-key lines within one API process: at most a key's limit of holders at once, the rest
//! waiting their turn (a login's email or network) or refused at once (an account's uploads). A
//! key's line exists only while somebody holds or waits for a turn in it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct KeyedLines {
    lines: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl KeyedLines {
    /// Waits for a turn on `key` (up to `limit` at once, at least one) until `deadline`.
    pub async fn enter(self: &Arc<Self>, key: &str, limit: u32, deadline: Instant) -> Option<Turn> {
        let line = self.line(key, limit);
        // On time-out the unused turn goes with its line's last reference.
        let taken = tokio::time::timeout_at(deadline, line.acquire_owned()).await;
        let mut turn = self.turn(key);
        turn.permit = Some(taken.ok()?.ok()?);
        Some(turn)
    }

    /// A turn on `key` now, or `None` when `limit` (at least one) are taken.
    pub fn try_enter(self: &Arc<Self>, key: &str, limit: u32) -> Option<Turn> {
        let line = self.line(key, limit);
        let mut turn = self.turn(key);
        turn.permit = Some(line.try_acquire_owned().ok()?);
        Some(turn)
    }

    /// The line of `key`, made with `limit` places if nobody is in it.
    fn line(&self, key: &str, limit: u32) -> Arc<Semaphore> {
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let places = usize::try_from(limit.max(1)).unwrap_or(Semaphore::MAX_PERMITS);
        Arc::clone(
            lines
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(places.min(Semaphore::MAX_PERMITS)))),
        )
    }

    /// A turn not yet holding a place: dropped so, it still removes an empty line.
    fn turn(self: &Arc<Self>, key: &str) -> Turn {
        Turn {
            lines: Arc::clone(self),
            key: key.to_owned(),
            permit: None,
        }
    }
}

/// A turn in a key's line; leaving it removes the line when nobody else is in it.
#[derive(Debug)]
pub struct Turn {
    lines: Arc<KeyedLines>,
    key: String,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut lines = self
            .lines
            .lines
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Only the map holds the line: nobody waits in it or holds a turn.
        if lines
            .get(&self.key)
            .is_some_and(|line| Arc::strong_count(line) == 1)
        {
            lines.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_line_lets_its_limit_through_and_vanishes_when_empty() {
        let lines = Arc::new(KeyedLines::default());
        let deadline = Instant::now() + Duration::from_millis(50);
        let first = lines.enter("email:a", 2, deadline).await;
        let second = lines.enter("email:a", 2, deadline).await;
        assert!(first.is_some() && second.is_some());
        // The third waits until the deadline: both turns are held.
        assert!(lines.enter("email:a", 2, deadline).await.is_none());
        drop(first);
        let third = lines.enter("email:a", 2, Instant::now() + Duration::from_millis(50));
        assert!(third.await.is_some());
        drop(second);
        assert!(lines.lines.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_limit_of_zero_still_lets_one_through_to_be_refused_by_the_database() {
        let lines = Arc::new(KeyedLines::default());
        let deadline = Instant::now() + Duration::from_millis(10);
        assert!(lines.enter("client:x", 0, deadline).await.is_some());
    }

    #[test]
    fn an_account_sends_its_limit_and_no_more_and_is_forgotten_when_done() {
        let lines = Arc::new(KeyedLines::default());
        let first = lines.try_enter("ana", 2);
        let second = lines.try_enter("ana", 2);
        assert!(first.is_some() && second.is_some());
        assert!(lines.try_enter("ana", 2).is_none());
        assert!(
            lines.try_enter("ben", 2).is_some(),
            "another key is not held back"
        );
        drop(first);
        assert!(lines.try_enter("ana", 2).is_some());
        drop(second);
        assert!(lines.lines.lock().unwrap().is_empty());
    }
}
