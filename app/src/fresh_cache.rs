//! Public pages (the rankings, the showcase list) kept in memory with a hard age limit: a page is
//! served only while younger than `max_age`, refreshed in the background once older than
//! `refresh_after`, and read by at most one request at a time when missing. Votes never touch it,
//! so a stream of votes cannot empty it.
//!
//! Why this bounds staleness: a page's age counts from the moment *before* its read began, and a
//! read sees every vote committed before it began. So a vote acknowledged at `t` is in every page
//! served after `t + max_age`, on every instance, whatever happened to any connection in between.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a page may be served, and when to start re-reading it.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Past this age a read serves the page and starts one background refresh.
    pub refresh_after: Duration,
    /// Past this age the page is never served: the read waits for a fresh one.
    pub max_age: Duration,
}

/// A handle to one process's pages; clones share them.
pub struct FreshCache<K, V> {
    slots: Arc<Mutex<HashMap<K, Slot<V>>>>,
    freshness: Freshness,
    capacity: usize,
}

impl<K, V> Clone for FreshCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
            freshness: self.freshness,
            capacity: self.capacity,
        }
    }
}

struct Slot<V> {
    /// The page and the instant its read began.
    value: Option<(Arc<V>, Instant)>,
    /// Held while a request reads the missing page, so concurrent misses wait for that one read.
    loading: Arc<tokio::sync::Mutex<()>>,
    /// A background refresh is under way.
    refreshing: bool,
}

impl<V> Slot<V> {
    fn empty() -> Self {
        Self {
            value: None,
            loading: Arc::new(tokio::sync::Mutex::new(())),
            refreshing: false,
        }
    }

    /// The page if it may still be served at `now`, with its age.
    fn servable(&self, now: Instant, max_age: Duration) -> Option<(Arc<V>, Duration)> {
        let (value, read_at) = self.value.as_ref()?;
        let age = now.saturating_duration_since(*read_at);
        (age < max_age).then(|| (value.clone(), age))
    }

    /// Keeps `value` unless a read that began later already stored its own.
    fn store(&mut self, value: Arc<V>, read_at: Instant) {
        if self.value.as_ref().is_none_or(|(_, held)| *held <= read_at) {
            self.value = Some((value, read_at));
        }
    }

    /// Nobody is reading into this slot and its page may not be served any more.
    fn is_idle_and_expired(&self, now: Instant, max_age: Duration) -> bool {
        !self.refreshing
            && Arc::strong_count(&self.loading) == 1
            && self.servable(now, max_age).is_none()
    }
}

/// What a read found in memory.
enum Lookup<V> {
    /// Serve it; `refresh` says this read must start the background refresh.
    Serve { value: Arc<V>, refresh: bool },
    /// Not servable: read it while holding this lock (one reader per page).
    Load(Arc<tokio::sync::Mutex<()>>),
    /// Not servable and the cache is full of live pages: read it without keeping it.
    Bypass,
}

impl<K, V> FreshCache<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Send + Sync + 'static,
{
    /// An empty cache holding at most `capacity` pages.
    pub fn new(freshness: Freshness, capacity: usize) -> Self {
        Self {
            slots: Arc::default(),
            freshness,
            capacity,
        }
    }

    /// The page under `key`: from memory when young enough, else from `load` (at most one read
    /// per page at a time; concurrent callers wait for it). A page past `refresh_after` is served
    /// while `load` runs once more in the background.
    pub async fn get<F, Fut, E>(&self, key: K, load: F) -> Result<Arc<V>, E>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let load = Arc::new(load);
        let lock = match self.lookup(&key, Instant::now()) {
            Lookup::Serve { value, refresh } => {
                if refresh {
                    self.spawn_refresh(key, load);
                }
                return Ok(value);
            }
            Lookup::Bypass => return load().await.map(Arc::new),
            Lookup::Load(lock) => lock,
        };
        let _reading = lock.lock().await;
        // Whoever held the lock before us may just have stored the page.
        if let Lookup::Serve { value, .. } = self.lookup(&key, Instant::now()) {
            return Ok(value);
        }
        let read_at = Instant::now();
        let value = Arc::new(load().await?);
        if let Some(slot) = self.lock().get_mut(&key) {
            slot.store(value.clone(), read_at);
        }
        Ok(value)
    }

    fn lookup(&self, key: &K, now: Instant) -> Lookup<V> {
        let Freshness {
            refresh_after,
            max_age,
        } = self.freshness;
        let mut slots = self.lock();
        if let Some(slot) = slots.get_mut(key) {
            if let Some((value, age)) = slot.servable(now, max_age) {
                let refresh = age >= refresh_after && !slot.refreshing;
                slot.refreshing |= refresh;
                return Lookup::Serve { value, refresh };
            }
            return Lookup::Load(slot.loading.clone());
        }
        if slots.len() >= self.capacity {
            slots.retain(|_, slot| !slot.is_idle_and_expired(now, max_age));
        }
        if slots.len() >= self.capacity {
            return Lookup::Bypass;
        }
        let slot = slots.entry(key.clone()).or_insert_with(Slot::empty);
        Lookup::Load(slot.loading.clone())
    }

    fn spawn_refresh<F, Fut, E>(&self, key: K, load: Arc<F>)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let cache = self.clone();
        tokio::spawn(async move {
            let read_at = Instant::now();
            let outcome = load().await;
            let mut slots = cache.lock();
            let Some(slot) = slots.get_mut(&key) else {
                return;
            };
            slot.refreshing = false;
            match outcome {
                Ok(value) => slot.store(Arc::new(value), read_at),
                // The page ages out at `max_age`; the next read after that tries inline.
                Err(error) => tracing::warn!(%error, "a cached page's background refresh failed"),
            }
        });
    }

    /// The slots, even if a thread panicked while holding them (each update leaves them whole).
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Slot<V>>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const FRESHNESS: Freshness = Freshness {
        refresh_after: Duration::from_millis(250),
        max_age: Duration::from_secs(1),
    };

    fn cache(capacity: usize) -> FreshCache<&'static str, u32> {
        FreshCache::new(FRESHNESS, capacity)
    }

    fn served(lookup: Lookup<u32>) -> Option<(u32, bool)> {
        match lookup {
            Lookup::Serve { value, refresh } => Some((*value, refresh)),
            Lookup::Load(_) | Lookup::Bypass => None,
        }
    }

    fn store(cache: &FreshCache<&'static str, u32>, key: &'static str, value: u32, at: Instant) {
        let mut slots = cache.lock();
        slots
            .entry(key)
            .or_insert_with(Slot::empty)
            .store(Arc::new(value), at);
    }

    #[test]
    fn a_young_page_is_served_without_a_refresh() {
        let cache = cache(8);
        let t0 = Instant::now();
        store(&cache, "all", 7, t0);
        let at = t0 + Duration::from_millis(100);
        assert_eq!(served(cache.lookup(&"all", at)), Some((7, false)));
    }

    #[test]
    fn past_refresh_after_the_page_is_served_and_exactly_one_read_refreshes_it() {
        let cache = cache(8);
        let t0 = Instant::now();
        store(&cache, "all", 7, t0);
        let at = t0 + Duration::from_millis(300);
        assert_eq!(served(cache.lookup(&"all", at)), Some((7, true)));
        assert_eq!(served(cache.lookup(&"all", at)), Some((7, false)));
    }

    #[test]
    fn a_page_at_max_age_is_never_served() {
        let cache = cache(8);
        let t0 = Instant::now();
        store(&cache, "all", 7, t0);
        assert!(served(cache.lookup(&"all", t0 + FRESHNESS.max_age)).is_none());
    }

    #[test]
    fn an_older_read_never_replaces_a_newer_page() {
        let cache = cache(8);
        let t0 = Instant::now();
        store(&cache, "all", 2, t0 + Duration::from_millis(10));
        store(&cache, "all", 1, t0);
        let at = t0 + Duration::from_millis(20);
        assert_eq!(served(cache.lookup(&"all", at)), Some((2, false)));
    }

    #[test]
    fn a_full_cache_drops_expired_pages_then_bypasses() {
        let cache = cache(2);
        let t0 = Instant::now();
        store(&cache, "a", 1, t0);
        store(&cache, "b", 2, t0);
        // Both live: a third page is read without being kept.
        assert!(matches!(
            cache.lookup(&"c", t0 + Duration::from_millis(10)),
            Lookup::Bypass
        ));
        // Both expired: they make room.
        let later = t0 + FRESHNESS.max_age;
        assert!(matches!(cache.lookup(&"c", later), Lookup::Load(_)));
        assert_eq!(cache.lock().len(), 1);
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_read() {
        let cache = cache(8);
        let reads = Arc::new(AtomicU32::new(0));
        let mut waiting = Vec::new();
        for _ in 0..20 {
            let (cache, reads) = (cache.clone(), reads.clone());
            waiting.push(tokio::spawn(async move {
                cache
                    .get("all", move || {
                        let reads = reads.clone();
                        async move {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, String>(reads.fetch_add(1, Ordering::SeqCst) + 1)
                        }
                    })
                    .await
            }));
        }
        for task in waiting {
            assert_eq!(*task.await.expect("task").expect("page"), 1);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_read_is_the_callers_error_and_is_not_kept() {
        let cache = cache(8);
        let failed = cache
            .get("all", || async {
                Err::<u32, _>("database down".to_owned())
            })
            .await;
        assert_eq!(failed.err().as_deref(), Some("database down"));
        let value = cache.get("all", || async { Ok::<_, String>(3) }).await;
        assert_eq!(value.ok().as_deref(), Some(&3));
    }
}
