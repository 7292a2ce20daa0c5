//! Where video files live: a small trait with two backends, S3 and a local directory.
//!
//! Both move whole files between the store and local paths, streaming, so memory stays flat
//! whatever the file size. Links handed to clients are signed and expire.

mod contract;
mod local;
mod s3;

use std::sync::Arc;

pub use contract::{Storage, StorageError, StorageKey, StoredObject, StoredPart};
pub use local::{FILES_ROUTE, LinkRejection, LocalStorage};
pub use s3::S3Storage;

use crate::config::StorageSettings;

/// Builds the backend the settings name.
pub async fn from_settings(
    settings: &StorageSettings,
    aws: &aws_config::SdkConfig,
) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match settings {
        StorageSettings::Local {
            root,
            public_base_url,
            signing_secret,
        } => Arc::new(
            LocalStorage::new(root, public_base_url.clone(), signing_secret.clone()).await?,
        ),
        StorageSettings::S3 {
            bucket,
            prefix,
            force_path_style,
        } => Arc::new(S3Storage::new(aws, bucket, prefix, *force_path_style)),
    })
}

impl dyn Storage {
    /// The local backend, whose files the app must serve itself; `None` for S3.
    pub fn as_local(&self) -> Option<&LocalStorage> {
        (self as &dyn std::any::Any).downcast_ref()
    }
}
