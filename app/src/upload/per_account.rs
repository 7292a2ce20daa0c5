//! How many uploads one account sends at once, in this process: past its share it is refused
//! before a byte of the body is read, so one account (trickling a byte at a time, say) cannot hold
//! every upload slot of an instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// The uploads each account is sending now.
#[derive(Debug)]
pub struct AccountUploads {
    limit: usize,
    sending: Mutex<HashMap<Uuid, usize>>,
}

impl AccountUploads {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.max(1),
            sending: Mutex::default(),
        })
    }

    /// A place for one more upload of `account`, or `None` when it already sends its limit.
    pub fn try_start(self: &Arc<Self>, account: Uuid) -> Option<AccountUpload> {
        let mut sending = self
            .sending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let count = sending.entry(account).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AccountUpload {
            uploads: Arc::clone(self),
            account,
        })
    }
}

/// One upload's place; leaving frees it (and forgets an account that sends nothing more).
#[derive(Debug)]
pub struct AccountUpload {
    uploads: Arc<AccountUploads>,
    account: Uuid,
}

impl Drop for AccountUpload {
    fn drop(&mut self) {
        let mut sending = self
            .uploads
            .sending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(count) = sending.get_mut(&self.account) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                sending.remove(&self.account);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_sends_its_limit_and_no_more_and_is_forgotten_when_done() {
        let uploads = AccountUploads::new(2);
        let (ana, ben) = (Uuid::new_v4(), Uuid::new_v4());
        let first = uploads.try_start(ana);
        let second = uploads.try_start(ana);
        assert!(first.is_some() && second.is_some());
        assert!(uploads.try_start(ana).is_none());
        assert!(
            uploads.try_start(ben).is_some(),
            "another account is not held back"
        );
        drop(first);
        assert!(uploads.try_start(ana).is_some());
        drop(second);
        assert!(uploads.sending.lock().unwrap().is_empty());
    }
}
