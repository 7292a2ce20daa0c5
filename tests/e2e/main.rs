//! End-to-end tests: the real `rising-stars-api` binary on real PostgreSQL, on local backends and on
//! S3 + SQS in the moto emulator.

mod configuration;
mod files;
mod health;

use std::collections::HashMap;

use testkit::TestDatabase;

/// The environment of an API on local backends: its own database and storage directory.
pub struct LocalStack {
    pub database: TestDatabase,
    pub storage: tempfile::TempDir,
    pub env: HashMap<String, String>,
}

pub const SIGNING_SECRET: &str = "end-to-end-signing-secret-0123456789";

pub async fn local_stack() -> anyhow::Result<LocalStack> {
    let database = TestDatabase::new().await?;
    let storage = tempfile::tempdir()?;
    let env = HashMap::from([
        ("DATABASE_URL".to_owned(), database.url.clone()),
        (
            "STORAGE_URL".to_owned(),
            format!("file://{}", storage.path().display()),
        ),
        ("QUEUE_URL".to_owned(), "postgres".to_owned()),
        ("URL_SIGNING_SECRET".to_owned(), SIGNING_SECRET.to_owned()),
    ]);
    Ok(LocalStack {
        database,
        storage,
        env,
    })
}

/// The AWS variables `cargo xtask test` sets (emulator endpoint, throw-away credentials).
pub fn aws_env() -> HashMap<String, String> {
    [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_EC2_METADATA_DISABLED",
    ]
    .into_iter()
    .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
    .collect()
}
