//! The memory all uploads' `moov` boxes may take at once (`UPLOAD_MOOV_BUDGET_MIB`): the probe
//! reads a `moov` of up to 32 MiB into memory, and sixteen at once would be half a 1 GiB task.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::probe::ProbeError;

/// How long a `moov` waits for room before its upload is answered 503: a probe holds its room for
/// milliseconds, so only a flood of large `moov` boxes makes one wait this long.
pub const MOOV_BUDGET_WAIT: Duration = Duration::from_secs(5);

/// The budget, counted in KiB (one semaphore permit each).
#[derive(Debug, Clone)]
pub struct MoovBudget {
    kib: Arc<Semaphore>,
    total_kib: u32,
    wait: Duration,
}

impl MoovBudget {
    /// A budget of `mib` MiB (at least 1, at most 4 TiB) and the longest wait for room.
    pub fn new(mib: u32, wait: Duration) -> Self {
        let total_kib = mib.clamp(1, u32::MAX / 1024) * 1024;
        Self {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
            wait,
        }
    }

    /// Room for a `moov` of `bytes`, held until the permit is dropped: waits up to the budget's
    /// wait on `runtime` (so call it from a blocking thread, never from async code). A `moov`
    /// larger than the whole budget can never be read: it is refused as damaged, like one over
    /// the probe's own cap.
    pub fn reserve_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        bytes: u64,
    ) -> Result<OwnedSemaphorePermit, ProbeError> {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        if kib > self.total_kib {
            return Err(ProbeError::Damaged(
                "the moov box is larger than the memory budget",
            ));
        }
        let room = Arc::clone(&self.kib).acquire_many_owned(kib);
        match runtime.block_on(tokio::time::timeout(self.wait, room)) {
            Ok(Ok(permit)) => Ok(permit),
            // Never closed; a wait past the bound is the answer "busy".
            Ok(Err(_)) | Err(_) => Err(ProbeError::Busy),
        }
    }

    /// KiB of `moov` in memory now.
    pub fn in_use_kib(&self) -> u32 {
        let available = u32::try_from(self.kib.available_permits()).unwrap_or(self.total_kib);
        self.total_kib.saturating_sub(available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn room_is_shared_waited_for_and_given_back() {
        let budget = MoovBudget::new(1, Duration::from_millis(200));
        let runtime = tokio::runtime::Handle::current();
        let shared = budget.clone();
        tokio::task::spawn_blocking(move || {
            let first = shared.reserve_blocking(&runtime, 700 * 1024).unwrap();
            assert_eq!(shared.in_use_kib(), 700);
            // 700 + 400 KiB is past 1 MiB: the second waits, then gives up.
            assert_eq!(
                shared.reserve_blocking(&runtime, 400 * 1024).map(|_| ()),
                Err(ProbeError::Busy)
            );
            drop(first);
            let whole = shared.reserve_blocking(&runtime, 1024 * 1024).unwrap();
            assert_eq!(shared.in_use_kib(), 1024);
            drop(whole);
            assert!(matches!(
                shared.reserve_blocking(&runtime, 1024 * 1024 + 1),
                Err(ProbeError::Damaged(_))
            ));
        })
        .await
        .unwrap();
        assert_eq!(budget.in_use_kib(), 0);
    }
}
