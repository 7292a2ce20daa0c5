//! Faults an unlucky operator meets, each against the real binaries: a worker killed on every
//! attempt, an API killed between storing a file and recording it, the database gone for two
//! minutes in the middle of a backlog. Nothing is lost or left stuck.
//! Listed with what each proves in docs/reliability.md.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use end_to_end::{Client, RunningApi, RunningWorker, wait_for_status};
use testkit::media::Clip;
use tokio::time::Instant;

use crate::{LocalBackends, behind_a_pausable_proxy, files_under, local_backends, s3_and_sqs_env};

/// Polls `check` every 50 ms until it answers `Some`, or fails after `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The video's status and the attempts its workers made.
async fn status_and_attempts(
    backends: &LocalBackends,
    video: &str,
) -> anyhow::Result<(String, i32)> {
    Ok(
        sqlx::query_as("SELECT status, attempts FROM videos WHERE id = $1::uuid")
            .bind(video)
            .fetch_one(&backends.database.pool)
            .await?,
    )
}

#[tokio::test]
async fn a_worker_killed_on_every_attempt_leaves_the_video_failed_with_a_reason()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("unlucky@example.com", "Ana", "Cali").await?;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let video = client
        .upload_clip(&player.token, &clip, "Sin suerte", true)
        .await?;

    let mut env: HashMap<String, String> = backends.env.clone();
    // Short leases so the test runs in seconds; a slow preset so every kill lands mid-render.
    env.insert("WORKER_VISIBILITY_TIMEOUT_SECONDS".into(), "3".into());
    env.insert("WORKER_SWEEP_INTERVAL_SECONDS".into(), "1".into());
    env.insert("WORKER_POLL_WAIT_SECONDS".into(), "1".into());
    env.insert("WORKER_X264_PRESET".into(), "veryslow".into());
    for attempt in 1..=3 {
        let mut worker = RunningWorker::start(&env)?;
        eventually(
            "the worker claims the video",
            Duration::from_secs(60),
            || async {
                let (status, attempts) = status_and_attempts(&backends, &video).await?;
                Ok((status == "processing" && attempts == attempt).then_some(()))
            },
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.signal("KILL")?;
        worker.wait(Duration::from_secs(10)).await?;
    }

    // Nobody will deliver the job again (it is out of receives): a worker's sweeper fails it.
    let began = Instant::now();
    let _sweeping = RunningWorker::start(&env)?;
    let detail = wait_for_status(
        &client,
        &player.token,
        &video,
        &["failed", "processed"],
        Duration::from_secs(60),
    )
    .await?;
    assert_eq!(detail.status, "failed", "{detail:?}");
    let reason = detail.error.context("a failed video says why")?;
    assert!(reason.contains("3 veces"), "{reason}");
    // Lease (3 s) + grace (one visibility timeout) + a sweep interval, with room to spare.
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(status_and_attempts(&backends, &video).await?.1, 3);
    Ok(())
}

#[tokio::test]
async fn a_file_stored_by_an_api_killed_before_its_commit_is_reconciled_away() -> anyhow::Result<()>
{
    let backends = local_backends().await?;
    // The first API reaches PostgreSQL through a proxy, so its commit can be held back.
    let (proxy, proxied) = behind_a_pausable_proxy(&backends).await?;
    let mut doomed = RunningApi::start(&proxied).await?;
    let client = Client::new(&doomed.base_url);
    let player = client.player("crash@example.com", "Ana", "Cali").await?;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;

    proxy.pause();
    let upload = {
        let (client, token, clip) = (client.clone(), player.token.clone(), clip.clone());
        tokio::spawn(async move { client.upload_clip(&token, &clip, "Perdido", true).await })
    };
    let storage = backends.storage.path().to_owned();
    let orphan = eventually(
        "the original is stored",
        Duration::from_secs(60),
        || async {
            Ok(files_under(&storage)
                .into_iter()
                .find(|path| path.ends_with("original.mp4")))
        },
    )
    .await?;
    doomed.kill().await?;
    let _ = upload.await;
    proxy.resume();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(rows, 0, "the video was never recorded");
    assert!(orphan.is_file(), "the file was stored");

    // A video that made it, to show the reconciler keeps what rows own.
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let kept = client
        .upload_clip(&player.token, &clip, "Guardado", false)
        .await?;
    let kept_original = storage.join("videos").join(&kept).join("original.mp4");
    assert!(kept_original.is_file());

    let mut env = backends.env.clone();
    env.insert("WORKER_RECONCILE_INTERVAL_SECONDS".into(), "1".into());
    env.insert("WORKER_ORPHAN_GRACE_SECONDS".into(), "0".into());
    env.insert("WORKER_X264_PRESET".into(), "ultrafast".into());
    env.insert("WORKER_POLL_WAIT_SECONDS".into(), "1".into());
    let _worker = RunningWorker::start(&env)?;
    eventually("the orphan is removed", Duration::from_secs(30), || async {
        Ok((!orphan.exists()).then_some(()))
    })
    .await?;
    let detail = wait_for_status(
        &client,
        &player.token,
        &kept,
        &["processed", "failed"],
        Duration::from_secs(240),
    )
    .await?;
    assert_eq!(detail.status, "processed", "{detail:?}");
    // Two more passes: what the kept video owns is still there.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        kept_original.is_file(),
        "the reconciler removed a file a row owns"
    );
    let processed = detail
        .processed_url
        .context("a processed video has its clip's link")?;
    assert_eq!(client.http.get(processed).send().await?.status(), 200);
    Ok(())
}

/// How many of `videos` are in each status.
async fn statuses(
    backends: &LocalBackends,
    videos: &[String],
) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM videos WHERE id::text = ANY($1) GROUP BY status",
    )
    .bind(videos)
    .fetch_all(&backends.database.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

#[tokio::test]
async fn a_two_minute_database_outage_mid_backlog_leaves_every_video_processed()
-> anyhow::Result<()> {
    const BACKLOG: usize = 20;
    let backends = local_backends().await?;
    // SQS (emulated) dead-letters a job after three receives, as the stack's queue does; the API
    // reaches the database directly, the worker through a proxy the test silences.
    let mut env = s3_and_sqs_env(&backends).await?;
    env.insert(
        "UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT".into(),
        BACKLOG.to_string(),
    );
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("outage@example.com", "Ana", "Cali").await?;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let mut videos = Vec::new();
    for take in 1..=BACKLOG {
        let title = format!("Jugada {take}");
        videos.push(
            client
                .upload_clip(&player.token, &clip, &title, true)
                .await?,
        );
    }

    let (proxy, proxied) = behind_a_pausable_proxy(&backends).await?;
    let mut worker_env = env.clone();
    worker_env.insert("DATABASE_URL".into(), proxied["DATABASE_URL"].clone());
    for (name, value) in [
        ("WORKER_CONCURRENCY", "2"),
        ("WORKER_VISIBILITY_TIMEOUT_SECONDS", "6"),
        ("WORKER_RETRY_DELAY_SECONDS", "1"),
        ("WORKER_POLL_WAIT_SECONDS", "1"),
        ("WORKER_SWEEP_INTERVAL_SECONDS", "2"),
        ("WORKER_X264_PRESET", "ultrafast"),
    ] {
        worker_env.insert(name.into(), value.into());
    }
    let _worker = RunningWorker::start(&worker_env)?;
    eventually(
        "the worker gets through part of the backlog",
        Duration::from_secs(300),
        || async {
            let done = statuses(&backends, &videos).await?;
            Ok((done.get("processed").copied().unwrap_or(0) >= 3).then_some(()))
        },
    )
    .await?;

    // An RDS reboot, only worse: connections hang half-open for two minutes.
    proxy.pause();
    tokio::time::sleep(Duration::from_secs(120)).await;
    let during = statuses(&backends, &videos).await?;
    proxy.resume();

    let settled = eventually(
        "every video processed or failed",
        Duration::from_secs(600),
        || async {
            let now = statuses(&backends, &videos).await?;
            let settled = now.get("processed").copied().unwrap_or(0)
                + now.get("failed").copied().unwrap_or(0);
            Ok((settled == BACKLOG as i64).then_some(now))
        },
    )
    .await?;
    let failures: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id::text, error FROM videos WHERE id::text = ANY($1) AND status = 'failed'",
    )
    .bind(&videos)
    .fetch_all(&backends.database.pool)
    .await?;
    assert!(
        failures.iter().all(|(_, error)| error.is_some()),
        "{failures:?}"
    );
    // Nothing was wrong with the files: the outage cost time, not videos.
    assert_eq!(
        settled.get("processed").copied(),
        Some(BACKLOG as i64),
        "during the outage {during:?}; failed {failures:?}"
    );
    // The worker stopped receiving while the database was away: no job ran out of receives.
    let url = env["QUEUE_URL"].clone();
    let queue = platform::queue::from_settings(
        &platform::config::QueueSettings::Sqs { url },
        &backends.database.pool,
        &testkit::aws_config().await?,
    );
    let depth = queue.depth().await?;
    assert_eq!(depth.dead_letter, 0, "{depth:?}");
    Ok(())
}
