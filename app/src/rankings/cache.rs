//! Ranking pages kept in memory until the scores change: a trigger on `player_scores` notifies
//! `rankings_changed` (migration 0005) and every API instance listening on that channel empties
//! its cache. While the listener is not connected, nothing is cached, so a page is never older
//! than the last committed vote this instance could have heard of.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::routes::public::RankedPlayer;

/// The channel the `player_scores` trigger notifies.
const CHANNEL: &str = "rankings_changed";
/// At most this many distinct pages are kept; past it new pages are simply not cached.
const MAX_PAGES: usize = 4096;
/// The wait before listening again after the connection was lost.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Which page: the lower-cased city filter, limit and offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub city: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A ranking page and the total of ranked players within its filter.
#[derive(Debug)]
pub struct RankingPage {
    pub players: Vec<RankedPlayer>,
    pub total: i64,
}

/// A handle to one process's cache; clones share it.
#[derive(Clone, Default)]
pub struct RankingsCache {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped on every change; a page is served only if read in the current generation.
    generation: AtomicU64,
    listening: AtomicBool,
    pages: Mutex<HashMap<PageKey, (u64, Arc<RankingPage>)>>,
}

/// Taken before reading a page from the database, given back with the page to store it.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl RankingsCache {
    /// A cached page of the current generation, if any.
    pub fn get(&self, key: &PageKey) -> Option<Arc<RankingPage>> {
        if !self.inner.listening.load(Ordering::Acquire) {
            return None;
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let pages = self.inner.pages.lock().ok()?;
        match pages.get(key) {
            Some((stored, page)) if *stored == generation => Some(page.clone()),
            _ => None,
        }
    }

    /// Call before reading a page from the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner.generation.load(Ordering::Acquire))
    }

    /// Keeps a page read under `ticket`, unless the scores changed since (then it may be stale).
    pub fn put(&self, key: PageKey, ticket: Ticket, page: Arc<RankingPage>) {
        if !self.inner.listening.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut pages) = self.inner.pages.lock() else {
            return;
        };
        // Checked under the lock that `invalidate` takes, so a change cannot slip in between.
        if self.inner.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if pages.len() < MAX_PAGES || pages.contains_key(&key) {
            pages.insert(key, (ticket.0, page));
        }
    }

    /// Forgets every page: the scores changed.
    pub fn invalidate(&self) {
        if let Ok(mut pages) = self.inner.pages.lock() {
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
            pages.clear();
        } else {
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn set_listening(&self, listening: bool) {
        self.invalidate();
        self.inner.listening.store(listening, Ordering::Release);
    }

    /// Listens for score changes for as long as the process runs, reconnecting when needed.
    pub fn spawn_listener(&self, pool: PgPool) {
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                match subscribe(&pool).await {
                    Ok(mut listener) => {
                        cache.set_listening(true);
                        tracing::debug!("rankings cache: listening for score changes");
                        // `Ok(None)` means the connection was lost (notifications may be missed).
                        while let Ok(Some(_)) = listener.try_recv().await {
                            cache.invalidate();
                        }
                        cache.set_listening(false);
                        tracing::warn!(
                            "rankings cache: lost the notification connection; caching paused"
                        );
                    }
                    Err(error) => {
                        tracing::warn!(%error, "rankings cache: cannot listen for score changes; caching paused");
                    }
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageKey {
        PageKey {
            city: Some("cali".to_owned()),
            limit: 20,
            offset: 0,
        }
    }

    fn page(total: i64) -> Arc<RankingPage> {
        Arc::new(RankingPage {
            players: Vec::new(),
            total,
        })
    }

    #[test]
    fn nothing_is_cached_until_the_listener_is_connected() {
        let cache = RankingsCache::default();
        cache.put(key(), cache.ticket(), page(1));
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn a_page_is_served_until_the_scores_change() {
        let cache = RankingsCache::default();
        cache.set_listening(true);
        cache.put(key(), cache.ticket(), page(7));
        assert_eq!(cache.get(&key()).map(|page| page.total), Some(7));
        cache.invalidate();
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn a_page_read_before_a_change_is_not_kept() {
        let cache = RankingsCache::default();
        cache.set_listening(true);
        let ticket = cache.ticket();
        cache.invalidate(); // a vote commits while the page is being read
        cache.put(key(), ticket, page(7));
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn losing_the_listener_drops_and_stops_caching() {
        let cache = RankingsCache::default();
        cache.set_listening(true);
        cache.put(key(), cache.ticket(), page(7));
        cache.set_listening(false);
        assert!(cache.get(&key()).is_none());
        cache.put(key(), cache.ticket(), page(8));
        cache.set_listening(true);
        assert!(cache.get(&key()).is_none());
    }
}
