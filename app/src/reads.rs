//! The public reads' share of the database pool. Showcase, video and ranking pages run at most the
//! pool's size less [`RESERVED_FOR_WRITES`] statements at once, so however many pages are asked
//! for (a crawler walking deep offsets, a crowd on a cold cache), votes, logins and uploads always
//! find a connection. Reads beyond the share wait their turn; each caller bounds the wait.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

/// A public read that takes longer, waiting for its turn included, is abandoned.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Connections a full load of public reads leaves to everything else.
pub const RESERVED_FOR_WRITES: u32 = 2;

/// Permits for the public reads of one instance; clones share them.
#[derive(Debug, Clone)]
pub struct ReadBudget {
    permits: Arc<Semaphore>,
}

impl ReadBudget {
    /// The share of a pool of `max_connections`: all but [`RESERVED_FOR_WRITES`], at least one.
    pub fn for_pool(max_connections: u32) -> Self {
        let share = max_connections.saturating_sub(RESERVED_FOR_WRITES).max(1);
        Self {
            permits: Arc::new(Semaphore::new(share as usize)),
        }
    }

    /// How many reads may run at once.
    pub fn share(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `read` once one of the share's permits is free.
    pub async fn run<T>(&self, read: impl Future<Output = T>) -> T {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.permits.acquire().await.ok();
        read.await
    }

    /// Runs `read` as [`ReadBudget::run`] does, abandoned (`None`) when waiting for its turn and
    /// reading take longer than [`READ_TIMEOUT`] (the database is unreachable or overloaded).
    pub async fn run_in_time<T>(&self, read: impl Future<Output = T>) -> Option<T> {
        tokio::time::timeout(READ_TIMEOUT, self.run(read))
            .await
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn reads_beyond_the_share_wait_and_the_reserve_is_left() {
        let budget = ReadBudget::for_pool(5);
        assert_eq!(budget.share(), 3);
        assert_eq!(ReadBudget::for_pool(1).share(), 1);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reads = (0..10).map(|_| {
            let (budget, running, peak) = (budget.clone(), running.clone(), peak.clone());
            tokio::spawn(async move {
                budget
                    .run(async {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        running.fetch_sub(1, SeqCst);
                    })
                    .await;
            })
        });
        for read in reads.collect::<Vec<_>>() {
            read.await.ok();
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(budget.share(), 3);
    }
}
