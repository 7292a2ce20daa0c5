//! Upload → worker → processed clip, through the real binaries, on both backend sets; and the
//! worker's behaviour when it is killed or stopped mid-job.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use end_to_end::{Client, RunningApi, RunningWorker, ffprobe, wait_for_status};
use testkit::media::Clip;

use crate::{local_backends, s3_and_sqs_env};

const PROCESSING_LIMIT: Duration = Duration::from_secs(240);

fn worker_env(api_env: &HashMap<String, String>) -> HashMap<String, String> {
    let mut env = api_env.clone();
    env.insert("WORKER_X264_PRESET".into(), "ultrafast".into());
    env.insert("WORKER_POLL_WAIT_SECONDS".into(), "1".into());
    env
}

async fn upload_and_process(env: HashMap<String, String>) -> anyhow::Result<()> {
    let api = RunningApi::start(&env).await?;
    let _worker = RunningWorker::start(&worker_env(&env))?;
    let client = Client::new(&api.base_url);
    let player = client.player("e2e@example.com", "Ana", "Cali").await?;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let upload = client
        .upload(
            &player.token,
            "video_file",
            Some(&clip),
            &[("title", "Final")],
        )
        .await?;
    assert_eq!(upload.status, 201, "{upload:?}");
    let video = upload.ok()?.video_id;

    let detail = wait_for_status(
        &client,
        &player.token,
        &video,
        &["processed", "failed"],
        PROCESSING_LIMIT,
    )
    .await?;
    assert_eq!(detail.status, "processed", "{detail:?}");
    assert!(detail.published);
    assert!(detail.processed_at.is_some(), "{detail:?}");
    let url = detail
        .processed_url
        .context("a processed video has its clip's link")?;
    let bytes = client
        .http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let downloaded = tempfile::NamedTempFile::new()?;
    std::fs::write(downloaded.path(), &bytes)?;
    let (duration, width, height, codec, audio) = ffprobe(downloaded.path())?;
    assert!((duration - 26.0).abs() <= 0.1, "duration {duration}");
    assert_eq!(
        (width, height, codec.as_str(), audio),
        (1280, 720, "h264", 0)
    );
    let poster = detail
        .poster_url
        .context("a processed video has its poster's link")?;
    assert_eq!(client.http.get(poster).send().await?.status(), 200);

    let listed = client.list_public_videos(None, None, None).await?.ok()?;
    assert_eq!(listed[0].video_id, video);
    Ok(())
}

#[tokio::test]
async fn an_upload_becomes_a_showcase_clip_on_local_backends() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    upload_and_process(backends.env.clone()).await
}

#[tokio::test]
async fn an_upload_becomes_a_showcase_clip_on_s3_and_sqs() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let env = s3_and_sqs_env(&backends).await?;
    upload_and_process(env).await
}

/// A job being processed right now: the API and one worker (with `overrides`) on local backends,
/// one uploaded clip of `seconds`, and the worker already past its claim.
struct JobInProgress {
    backends: crate::LocalBackends,
    _api: RunningApi,
    client: Client,
    token: String,
    video: String,
    worker: RunningWorker,
    worker_env: HashMap<String, String>,
}

async fn job_in_progress(
    overrides: &[(&str, &str)],
    seconds: f64,
) -> anyhow::Result<JobInProgress> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let mut env = worker_env(&backends.env);
    for (name, value) in overrides {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    let client = Client::new(&api.base_url);
    let player = client.player("job@example.com", "Ana", "Cali").await?;
    let clip = Clip::h264(1920, 1080, seconds).path()?;
    let upload = client
        .upload(&player.token, "video_file", Some(&clip), &[("title", "x")])
        .await?;
    let video = upload.ok()?.video_id;
    let worker = RunningWorker::start(&env)?;
    wait_for_status(
        &client,
        &player.token,
        &video,
        &["processing"],
        Duration::from_secs(60),
    )
    .await?;
    Ok(JobInProgress {
        backends,
        _api: api,
        client,
        token: player.token,
        video,
        worker,
        worker_env: env,
    })
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing_and_the_video_is_processed_once()
-> anyhow::Result<()> {
    let job = job_in_progress(
        &[
            ("WORKER_VISIBILITY_TIMEOUT_SECONDS", "3"),
            ("WORKER_X264_PRESET", "veryfast"),
        ],
        45.0,
    )
    .await?;
    let (backends, client, video) = (&job.backends, &job.client, &job.video);
    let mut first = job.worker;
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.signal("KILL")?;
    assert_eq!(
        first.wait(Duration::from_secs(10)).await?,
        None,
        "killed by the signal"
    );
    let (_, in_flight): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE visible_at <= now()), count(*) FILTER (WHERE visible_at > now())
         FROM queue_messages",
    )
    .fetch_one(&backends.database.pool)
    .await?;
    assert_eq!(in_flight, 1, "the job is still invisible, not lost");

    let _second = RunningWorker::start(&job.worker_env)?;
    let detail = wait_for_status(
        client,
        &job.token,
        video,
        &["processed", "failed"],
        PROCESSING_LIMIT,
    )
    .await?;
    assert_eq!(detail.status, "processed", "{detail:?}");
    // The worker records the result, then acknowledges: the message goes a moment later.
    let mut remaining: i64 = -1;
    for _ in 0..100 {
        remaining = sqlx::query_scalar("SELECT count(*) FROM queue_messages")
            .fetch_one(&backends.database.pool)
            .await?;
        if remaining == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(remaining, 0, "acknowledged once, nothing dead-lettered");
    Ok(())
}

#[tokio::test]
async fn sigterm_stops_taking_work_and_releases_an_unfinished_job() -> anyhow::Result<()> {
    let job = job_in_progress(
        &[
            ("WORKER_SHUTDOWN_GRACE_SECONDS", "0"),
            ("WORKER_X264_PRESET", "veryfast"),
        ],
        45.0,
    )
    .await?;
    let (backends, mut worker) = (&job.backends, job.worker);
    // The released job goes back to the queue, which is the point.
    backends.expect_queued_jobs();
    worker.signal("TERM")?;
    assert_eq!(worker.wait(Duration::from_secs(30)).await?, Some(0));
    let (visible, received): (i64, i32) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE visible_at <= now()), max(receive_count) FROM queue_messages",
    )
    .fetch_one(&backends.database.pool)
    .await?;
    assert_eq!(
        (visible, received),
        (1, 1),
        "released for immediate redelivery"
    );
    Ok(())
}

#[tokio::test]
async fn sigterm_lets_a_running_job_finish_within_the_grace_period() -> anyhow::Result<()> {
    let job = job_in_progress(&[("WORKER_SHUTDOWN_GRACE_SECONDS", "120")], 21.0).await?;
    let (backends, client, video) = (&job.backends, &job.client, &job.video);
    let mut worker = job.worker;
    worker.signal("TERM")?;
    assert_eq!(worker.wait(PROCESSING_LIMIT).await?, Some(0));
    let detail = client.get_video(Some(&job.token), video).await?.ok()?;
    assert_eq!(detail.status, "processed", "finished before exiting");
    let remaining: i64 = sqlx::query_scalar("SELECT count(*) FROM queue_messages")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(remaining, 0);
    Ok(())
}
