//! End-to-end tests: the real `rising-stars-api` binary on real PostgreSQL, on local backends and on
//! S3 + SQS in the moto emulator.

mod attacks;
mod auth;
mod ballots;
mod configuration;
mod crawlers;
mod crowds;
mod deploy;
mod faults;
mod files;
mod health;
mod images;
mod integrity;
mod jury;
mod loadtest;
mod logging;
mod processing;
mod public;
mod rankings;
mod roles;
mod rounds;
mod uploads;
mod verification;
mod videos;
mod web;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use end_to_end::{Client, Player};
use testkit::TestDatabase;

/// The environment of an API on local backends: its own database, storage directory and mail
/// folder (`MAIL_URL=file:<mail>`; verification mail is read back from there).
///
/// When it is dropped at the end of a test, no job may be left waiting in its PostgreSQL queue or
/// job outbox (as crates.io's test app checks its background jobs): a test that means to leave
/// jobs behind (an upload with no worker running) says so with
/// [`LocalBackends::expect_queued_jobs`]. Dead-lettered messages do not count: nothing will run
/// them.
pub struct LocalBackends {
    pub database: TestDatabase,
    pub storage: tempfile::TempDir,
    pub uploads: tempfile::TempDir,
    pub mail: tempfile::TempDir,
    pub env: HashMap<String, String>,
    jobs_may_remain: AtomicBool,
}

impl LocalBackends {
    /// This test leaves jobs queued on purpose (it uploads, and no worker runs).
    pub fn expect_queued_jobs(&self) {
        self.jobs_may_remain.store(true, Ordering::Relaxed);
    }

    /// The newest verification link mailed to `email` (waiting for the first one).
    pub async fn verification_link(&self, email: &str) -> anyhow::Result<String> {
        let mut links = end_to_end::wait_for_links(self.mail.path(), email, 1).await?;
        links
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no verification link for {email}"))
    }

    /// A player who signed up, verified the address through the mailed link, and logged in: one
    /// whose votes count.
    pub async fn verified_player(
        &self,
        client: &Client,
        email: &str,
        first: &str,
        city: &str,
    ) -> anyhow::Result<Player> {
        client
            .verified_player(self.mail.path(), email, first, city)
            .await
    }
}

impl Drop for LocalBackends {
    fn drop(&mut self) {
        if std::thread::panicking() || self.jobs_may_remain.load(Ordering::Relaxed) {
            return;
        }
        // A fresh thread and runtime: drop cannot await, and the test's runtime may be the
        // single-threaded one, which cannot block on itself.
        let url = self.database.url.clone();
        let left = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(queued_jobs(&url))
        })
        .join();
        match left {
            Ok(Ok(0)) => {}
            Ok(Ok(jobs)) => panic!(
                "the test left {jobs} job(s) queued (queue_messages or job_outbox); if that is \
                 what it means to do, call `expect_queued_jobs()` on its backends"
            ),
            Ok(Err(error)) => panic!("cannot count the jobs left queued: {error:#}"),
            Err(_) => panic!("counting the jobs left queued panicked"),
        }
    }
}

/// Jobs waiting to run in the database at `url`: queue messages not yet deleted or dead-lettered,
/// and outbox records not yet published.
async fn queued_jobs(url: &str) -> anyhow::Result<i64> {
    use sqlx::Connection;
    let mut database = sqlx::PgConnection::connect(url).await?;
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM queue_messages WHERE dead_lettered_at IS NULL)
              + (SELECT count(*) FROM job_outbox)",
    )
    .fetch_one(&mut database)
    .await?)
}

pub const SIGNING_SECRET: &str = "end-to-end-signing-secret-0123456789";

pub async fn local_backends() -> anyhow::Result<LocalBackends> {
    let database = TestDatabase::new().await?;
    let storage = tempfile::tempdir()?;
    let uploads = tempfile::tempdir()?;
    let mail = tempfile::tempdir()?;
    let env = HashMap::from([
        (
            "UPLOAD_DIR".to_owned(),
            uploads.path().display().to_string(),
        ),
        ("DATABASE_URL".to_owned(), database.url.clone()),
        (
            "STORAGE_URL".to_owned(),
            format!("file://{}", storage.path().display()),
        ),
        ("QUEUE_URL".to_owned(), "postgres".to_owned()),
        ("URL_SIGNING_SECRET".to_owned(), SIGNING_SECRET.to_owned()),
        (
            "MAIL_URL".to_owned(),
            format!("file://{}", mail.path().display()),
        ),
    ]);
    Ok(LocalBackends {
        database,
        storage,
        uploads,
        mail,
        env,
        jobs_may_remain: AtomicBool::new(false),
    })
}

/// `env` with the rules that hold votes out of the ranking turned off: for tests of totals and
/// rates whose voters all sign up and vote from this machine, which is what the rules hold
/// (`integrity.rs` tests the rules themselves).
pub fn without_holding_rules(env: &mut HashMap<String, String>) {
    for (name, value) in [
        ("VOTE_YOUNG_ACCOUNT_HOURS", "0"),
        ("VOTE_SIGNUP_NETWORK_BURST", "1000000"),
        ("VOTE_NETWORK_SHARE_PERCENT", "100"),
    ] {
        env.insert(name.to_owned(), value.to_owned());
    }
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

/// The backends' environment moved to S3 and SQS in the emulator: a fresh bucket and a fresh queue
/// with a dead-letter queue after three receives.
pub async fn s3_and_sqs_env(backends: &LocalBackends) -> anyhow::Result<HashMap<String, String>> {
    let aws = testkit::aws_config().await?;
    let bucket = testkit::s3_bucket(&aws).await?;
    let queue = testkit::sqs_queue_with_dead_letter(&aws, 3).await?;
    let mut env = backends.env.clone();
    env.extend(aws_env());
    env.insert("STORAGE_URL".into(), format!("s3://{bucket}/media"));
    env.insert("S3_FORCE_PATH_STYLE".into(), "true".into());
    env.insert("QUEUE_URL".into(), queue);
    Ok(env)
}

/// The backends' environment with the database reached through a proxy the test can silence (the
/// connections then look half-open), and that proxy.
pub async fn behind_a_pausable_proxy(
    backends: &LocalBackends,
) -> anyhow::Result<(testkit::proxy::PausableProxy, HashMap<String, String>)> {
    let mut url = url::Url::parse(&backends.database.url)?;
    let upstream = url
        .socket_addrs(|| Some(5432))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no address in {url}"))?;
    let proxy = testkit::proxy::PausableProxy::start(upstream).await?;
    url.set_host(Some("127.0.0.1"))?;
    url.set_port(Some(proxy.address().port()))
        .map_err(|()| anyhow::anyhow!("cannot set the port"))?;
    let mut env = backends.env.clone();
    env.insert("DATABASE_URL".into(), url.to_string());
    Ok((proxy, env))
}

/// Every file under `dir`, recursively (nothing when it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Marks a video processed with stored clip and poster files, and takes its job off the queue, as
/// the worker would.
pub async fn mark_processed(backends: &LocalBackends, video_id: &str) -> anyhow::Result<()> {
    for (name, bytes) in [("processed.mp4", 2000), ("poster.jpg", 500)] {
        let dir = backends.storage.path().join("videos").join(video_id);
        std::fs::create_dir_all(&dir)?;
        std::fs::copy(testkit::random_file(bytes, 7)?.path(), dir.join(name))?;
    }
    sqlx::query(
        "UPDATE videos SET status = 'processed', processed_at = now(),
             processed_key = 'videos/' || id || '/processed.mp4',
             poster_key = 'videos/' || id || '/poster.jpg'
         WHERE id = $1::uuid",
    )
    .bind(video_id)
    .execute(&backends.database.pool)
    .await?;
    for acknowledge in [
        "DELETE FROM queue_messages WHERE body::jsonb ->> 'video_id' = $1",
        "DELETE FROM job_outbox WHERE video_id = $1::uuid",
    ] {
        sqlx::query(acknowledge)
            .bind(video_id)
            .execute(&backends.database.pool)
            .await?;
    }
    Ok(())
}
