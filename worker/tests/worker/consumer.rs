//! The queue consumer driven step by step (`try_execute_task`) on real PostgreSQL, the PostgreSQL queue
//! and local storage, with real generated videos.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use platform::config::{DatabaseSettings, Migrations, QueueSettings, Secret, StorageSettings};
use platform::job::ProcessVideo;
use platform::queue::{JobQueue, PgQueue, QueueDepth};
use platform::storage::{LocalStorage, Storage};
use platform::videos::VideoKeys;
use platform::videos::intake::{NewVideo, record_upload};
use platform::videos::owned;
use testkit::TestDatabase;
use testkit::media::Clip;
use tokio::sync::watch;
use uuid::Uuid;
use worker::config::WorkerSettings;
use worker::consumer::{Consumer, JobOutcome, Step};
use worker::pipeline::PipelineSettings;

use crate::support::Scratch;

const NO_WAIT: Duration = Duration::ZERO;

struct Fixture {
    settings: WorkerSettings,
    database: TestDatabase,
    storage_dir: tempfile::TempDir,
    _work_dir: tempfile::TempDir,
    storage: Arc<LocalStorage>,
    queue: Arc<PgQueue>,
    consumer: Consumer,
    shutdown: watch::Receiver<bool>,
    _stop: watch::Sender<bool>,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let database = TestDatabase::new().await?;
    let storage_dir = tempfile::tempdir()?;
    let work_dir = tempfile::tempdir()?;
    let secret = Secret::new("consumer-test-signing-secret-0123456789");
    let storage = Arc::new(
        LocalStorage::new(
            storage_dir.path(),
            "http://127.0.0.1:1".parse()?,
            secret.clone(),
        )
        .await?,
    );
    let queue = Arc::new(PgQueue::new(database.pool.clone(), "video-jobs", 3));
    let settings = WorkerSettings {
        database: DatabaseSettings {
            url: Secret::new(database.url.clone()),
            max_connections: 2,
            migrations: Migrations::Apply,
        },
        storage: StorageSettings::Local {
            root: storage_dir.path().to_owned(),
            public_base_url: "http://127.0.0.1:1".parse()?,
            signing_secret: secret,
        },
        queue: QueueSettings::Postgres {
            name: "video-jobs".into(),
            max_receives: 3,
        },
        concurrency: 1,
        visibility_timeout: Duration::from_secs(30),
        encode_timeout: Duration::from_secs(120),
        shutdown_grace: Duration::from_secs(30),
        poll_wait: NO_WAIT,
        retry_delay: Duration::ZERO,
        database_wait: Duration::from_secs(30),
        work_dir: work_dir.path().to_owned(),
        sweep_interval: Duration::from_secs(60),
        reconcile_interval: Duration::from_secs(3600),
        orphan_grace: Duration::from_secs(3600),
        // Most of these tests are about the machinery and use small, quick clips.
        enforce_upload_rules: false,
        pipeline: PipelineSettings {
            preset: "ultrafast".into(),
            ..PipelineSettings::default()
        },
    };
    let consumer = Consumer::new(
        database.pool.clone(),
        storage.clone() as Arc<dyn Storage>,
        queue.clone() as Arc<dyn JobQueue>,
        settings.clone(),
    );
    let (stop, shutdown) = watch::channel(false);
    Ok(Fixture {
        settings,
        database,
        storage_dir,
        _work_dir: work_dir,
        storage,
        queue,
        consumer,
        shutdown,
        _stop: stop,
    })
}

impl Fixture {
    fn consumer_settings(&self) -> WorkerSettings {
        self.settings.clone()
    }

    /// A player with one uploaded video whose original is `original` (or no stored file).
    async fn uploaded_video(&self, original: Option<&Path>, publish: bool) -> anyhow::Result<Uuid> {
        let (owner, video) = (Uuid::new_v4(), Uuid::new_v4());
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, city, country)
             VALUES ($1, $1 || '@example.com', 'x', 'Ana', 'Test', 'Cali', 'Colombia')",
        )
        .bind(owner)
        .execute(&self.database.pool)
        .await?;
        let key = VideoKeys::of(video).original();
        if let Some(original) = original {
            self.storage.put_file(&key, original, "video/mp4").await?;
        }
        // Recorded as the API's intake records an upload (its outbox record is never relayed here).
        let upload = NewVideo {
            id: video,
            owner_id: owner,
            title: "Jugada".to_owned(),
            publish_requested: publish,
            original: key,
            duration: Duration::from_secs(21),
            width: 1920,
            height: 1080,
            size_bytes: 1000,
            video_codec: "h264".to_owned(),
        };
        record_upload(&self.database.pool, &upload).await?;
        Ok(video)
    }

    async fn enqueue(&self, video_id: Uuid) -> anyhow::Result<()> {
        let job = ProcessVideo {
            task_id: Uuid::new_v4(),
            video_id,
        };
        self.queue.send(&job.to_body()).await?;
        Ok(())
    }

    async fn step(&self) -> anyhow::Result<Step> {
        self.consumer
            .try_execute_task(NO_WAIT, &self.shutdown)
            .await
    }

    async fn video(
        &self,
        video_id: Uuid,
    ) -> anyhow::Result<Option<(String, bool, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT status, published_at IS NOT NULL, error FROM videos WHERE id = $1",
        )
        .bind(video_id)
        .fetch_optional(&self.database.pool)
        .await?)
    }

    /// Every stored file of the video, as paths under `videos/<id>/`, sorted.
    fn files_of(&self, video_id: Uuid) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.path().is_dir() {
                    walk(&entry.path(), &format!("{name}/"), found);
                } else {
                    found.push(name);
                }
            }
        }
        let mut found = Vec::new();
        let dir = self
            .storage_dir
            .path()
            .join("videos")
            .join(video_id.to_string());
        walk(&dir, "", &mut found);
        found.sort();
        found
    }

    /// The processed clip's and poster's keys as recorded, each checked to exist in storage.
    async fn recorded_outputs(&self, video_id: Uuid) -> anyhow::Result<(String, String)> {
        let (clip, poster): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT processed_key, poster_key FROM videos WHERE id = $1")
                .bind(video_id)
                .fetch_one(&self.database.pool)
                .await?;
        let (clip, poster) = (clip.unwrap_or_default(), poster.unwrap_or_default());
        for key in [&clip, &poster] {
            anyhow::ensure!(
                self.storage_dir.path().join(key).is_file(),
                "{key} is recorded but not stored"
            );
        }
        Ok((clip, poster))
    }
}

fn short_clip() -> anyhow::Result<std::path::PathBuf> {
    Clip::h264(1280, 720, 3.0).path()
}

#[tokio::test]
async fn a_job_renders_stores_and_publishes_when_asked() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let video = fx.uploaded_video(Some(&short_clip()?), true).await?;
    fx.enqueue(video).await?;
    assert_eq!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Processed { video_id: video })
    );
    assert_eq!(
        fx.video(video).await?,
        Some(("processed".into(), true, None))
    );
    let (clip, poster) = fx.recorded_outputs(video).await?;
    assert!(clip.ends_with("/processed.mp4") && poster.ends_with("/poster.jpg"));
    let ranked: i64 = sqlx::query_scalar("SELECT count(*) FROM player_scores")
        .fetch_one(&fx.database.pool)
        .await?;
    assert_eq!(ranked, 1);
    assert_eq!(fx.queue.depth().await?, QueueDepth::default());
    assert_eq!(fx.step().await?, Step::EmptyQueue);
    Ok(())
}

#[tokio::test]
async fn a_private_upload_is_processed_but_not_published() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let video = fx.uploaded_video(Some(&short_clip()?), false).await?;
    fx.enqueue(video).await?;
    fx.step().await?;
    assert_eq!(
        fx.video(video).await?,
        Some(("processed".into(), false, None))
    );
    Ok(())
}

#[tokio::test]
async fn a_redelivered_job_for_a_processed_video_is_acknowledged_and_skipped() -> anyhow::Result<()>
{
    let fx = fixture().await?;
    let video = fx.uploaded_video(Some(&short_clip()?), true).await?;
    fx.enqueue(video).await?;
    fx.enqueue(video).await?;
    assert!(matches!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Processed { .. })
    ));
    assert!(matches!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Skipped { .. })
    ));
    assert_eq!(fx.queue.depth().await?, QueueDepth::default());
    Ok(())
}

#[tokio::test]
async fn a_job_for_a_deleted_video_is_dropped() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let gone = Uuid::new_v4();
    fx.enqueue(gone).await?;
    assert!(matches!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Skipped { .. })
    ));
    assert_eq!(fx.queue.depth().await?, QueueDepth::default());
    Ok(())
}

#[tokio::test]
async fn corrupt_input_fails_at_once_with_a_reason_and_is_dead_lettered() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let garbage = testkit::random_file(200_000, 3)?;
    let video = fx.uploaded_video(Some(garbage.path()), true).await?;
    fx.enqueue(video).await?;
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("expected a failure");
    };
    assert!(!reason.is_empty());
    let (status, published, error) = fx.video(video).await?.unwrap_or_default();
    assert_eq!((status.as_str(), published), ("failed", false));
    assert_eq!(error.as_deref(), Some(reason.as_str()));
    assert_eq!(
        fx.queue.depth().await?,
        QueueDepth {
            visible: 0,
            in_flight: 0,
            dead_letter: 1
        }
    );
    Ok(())
}

#[tokio::test]
async fn a_file_of_too_many_frames_a_second_fails_once_before_any_is_decoded() -> anyhow::Result<()>
{
    let fx = fixture().await?;
    // 240 frames a second for 21 s: twice what uploads may have (the API refuses it; a worker
    // given one anyway must not spend minutes decoding frames the 30 fps cut throws away).
    let dense = Clip {
        fps: 240,
        audio: false,
        ..Clip::h264(320, 240, 21.0)
    };
    let video = fx.uploaded_video(Some(&dense.path()?), true).await?;
    fx.enqueue(video).await?;
    let began = Instant::now();
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("expected a failure");
    };
    assert!(reason.contains("imágenes por segundo"), "{reason}");
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    // Failed for good on its first receive: dead-lettered, not retried.
    assert_eq!(fx.queue.depth().await?.dead_letter, 1);
    Ok(())
}

#[tokio::test]
async fn a_passing_failure_is_retried_until_the_last_receive_then_fails() -> anyhow::Result<()> {
    let fx = fixture().await?;
    // The original is missing from storage: a download failure, which retrying could fix.
    let video = fx.uploaded_video(None, true).await?;
    fx.enqueue(video).await?;
    for attempt in 1..=2 {
        assert_eq!(
            fx.step().await?,
            Step::TaskCompleted(JobOutcome::WillRetry {
                video_id: video,
                attempt
            })
        );
        assert_eq!(
            fx.video(video).await?.map(|v| v.0),
            Some("processing".to_owned())
        );
    }
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("the third receive is the last");
    };
    assert!(reason.contains('3'), "{reason}");
    assert_eq!(
        fx.video(video).await?.map(|v| v.0),
        Some("failed".to_owned())
    );
    assert_eq!(
        fx.queue.depth().await?,
        QueueDepth {
            visible: 0,
            in_flight: 0,
            dead_letter: 1
        }
    );
    Ok(())
}

#[tokio::test]
async fn a_video_deleted_while_processing_is_not_resurrected() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let video = fx
        .uploaded_video(Some(&Clip::h264(1920, 1080, 8.0).path()?), true)
        .await?;
    fx.enqueue(video).await?;
    let pool = fx.database.pool.clone();
    let deleter = tokio::spawn(async move {
        // Delete the row as soon as the worker has claimed it, as the API's DELETE would.
        for _ in 0..600 {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM videos WHERE id = $1")
                    .bind(video)
                    .fetch_optional(&pool)
                    .await?;
            if status.as_deref() == Some("processing") {
                let mut tx = pool.begin().await?;
                owned::delete(&mut tx, video).await?;
                tx.commit().await?;
                return anyhow::Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::Ok(false)
    });
    let outcome = fx.step().await?;
    assert!(deleter.await??, "the worker never claimed the video");
    assert_eq!(
        outcome,
        Step::TaskCompleted(JobOutcome::Skipped {
            video_id: video,
            reason: "superseded or deleted during processing"
        })
    );
    assert_eq!(fx.video(video).await?, None);
    // The attempt removed its own outputs; the original is the deleter's to remove (the API
    // does, after its commit), never the worker's.
    assert_eq!(fx.files_of(video), ["original.mp4"]);
    assert_eq!(fx.queue.depth().await?, QueueDepth::default());
    Ok(())
}

#[tokio::test]
async fn a_superseded_attempt_stops_rendering_at_its_next_heartbeat() -> anyhow::Result<()> {
    let mut fx = fixture().await?;
    // A heartbeat a second, and a render slow enough that finishing it would take minutes.
    fx.settings.visibility_timeout = Duration::from_secs(3);
    fx.settings.pipeline.preset = "veryslow".into();
    fx.consumer = Consumer::new(
        fx.database.pool.clone(),
        fx.storage.clone() as Arc<dyn Storage>,
        fx.queue.clone() as Arc<dyn JobQueue>,
        fx.settings.clone(),
    );
    let video = fx
        .uploaded_video(Some(&Clip::h264(1920, 1080, 30.0).path()?), true)
        .await?;
    fx.enqueue(video).await?;
    let pool = fx.database.pool.clone();
    let usurper = tokio::spawn(async move {
        // Another attempt takes the video over (a duplicate delivery claimed it anew).
        for _ in 0..600 {
            let taken = sqlx::query(
                "UPDATE videos SET claim_token = gen_random_uuid()
                 WHERE id = $1 AND status = 'processing'",
            )
            .bind(video)
            .execute(&pool)
            .await?
            .rows_affected();
            if taken > 0 {
                return anyhow::Ok(Some(Instant::now()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::Ok(None)
    });
    let outcome = fx.step().await?;
    let stopped = Instant::now();
    let taken_over = usurper
        .await??
        .context("the worker never claimed the video")?;
    assert_eq!(
        outcome,
        Step::TaskCompleted(JobOutcome::Skipped {
            video_id: video,
            reason: "superseded or deleted during processing"
        })
    );
    // A beat (1 s) and the render noticing the cancel, with room for a busy machine.
    let took = stopped - taken_over;
    assert!(
        took < Duration::from_secs(10),
        "stopped {took:?} after the takeover"
    );
    assert_eq!(fx.files_of(video), ["original.mp4"]);
    Ok(())
}

#[tokio::test]
async fn an_unreadable_message_is_dead_lettered() -> anyhow::Result<()> {
    let fx = fixture().await?;
    fx.queue.send("{not json").await?;
    assert_eq!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Unreadable)
    );
    assert_eq!(
        fx.queue.depth().await?,
        QueueDepth {
            visible: 0,
            in_flight: 0,
            dead_letter: 1
        }
    );
    Ok(())
}

#[tokio::test]
async fn a_database_outage_delays_the_job_but_does_not_lose_it() -> anyhow::Result<()> {
    // The queue lives in a database of its own here, so that the videos' database can go away
    // while the job stays safely queued (as with SQS in production).
    let fx = fixture().await?;
    let queue_database = TestDatabase::new().await?;
    let queue = Arc::new(PgQueue::new(queue_database.pool.clone(), "video-jobs", 3));
    let videos_pool = platform::db::connect(&DatabaseSettings {
        url: Secret::new(fx.database.url.clone()),
        max_connections: 2,
        migrations: Migrations::Apply,
    })
    .await?;
    let mut settings = fx.consumer_settings();
    settings.retry_delay = Duration::ZERO;
    let consumer = Consumer::new(
        videos_pool,
        fx.storage.clone() as Arc<dyn Storage>,
        queue.clone() as Arc<dyn JobQueue>,
        settings,
    );
    let video = fx.uploaded_video(Some(&short_clip()?), true).await?;
    let job = ProcessVideo {
        task_id: Uuid::new_v4(),
        video_id: video,
    };
    queue.send(&job.to_body()).await?;

    let admin = sqlx::PgPool::connect(&queue_database.url).await?;
    let name = fx.database.name().to_owned();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS false"#
    )))
    .execute(&admin)
    .await?;
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await?;
    let during = consumer.try_execute_task(NO_WAIT, &fx.shutdown).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#
    )))
    .execute(&admin)
    .await?;
    // Nothing is known about the video while its database is away: the job is only postponed.
    assert_eq!(
        during,
        Step::TaskCompleted(JobOutcome::Postponed { video_id: video })
    );
    assert_eq!(
        queue.depth().await?,
        QueueDepth {
            visible: 1,
            in_flight: 0,
            dead_letter: 0
        }
    );

    let after = consumer.try_execute_task(NO_WAIT, &fx.shutdown).await?;
    assert_eq!(
        after,
        Step::TaskCompleted(JobOutcome::Processed { video_id: video })
    );
    // The fixture's own pool lost its connections in the outage; a new one sees the result.
    let fresh = sqlx::PgPool::connect(&fx.database.url).await?;
    let status: String = sqlx::query_scalar("SELECT status FROM videos WHERE id = $1")
        .bind(video)
        .fetch_one(&fresh)
        .await?;
    assert_eq!(status, "processed");
    Ok(())
}

#[tokio::test]
async fn two_deliveries_of_one_job_at_once_leave_one_processed_video_and_all_its_files()
-> anyhow::Result<()> {
    let fx = fixture().await?;
    let video = fx.uploaded_video(Some(&short_clip()?), true).await?;
    // The same job twice (a retried send, an outbox re-send), taken by two workers at once.
    fx.enqueue(video).await?;
    fx.enqueue(video).await?;
    let other = Consumer::new(
        fx.database.pool.clone(),
        fx.storage.clone() as Arc<dyn Storage>,
        fx.queue.clone() as Arc<dyn JobQueue>,
        fx.consumer_settings(),
    );
    let (first, second) = tokio::join!(fx.step(), other.try_execute_task(NO_WAIT, &fx.shutdown));
    let mut outcomes = [first?, second?].map(|step| match step {
        Step::TaskCompleted(JobOutcome::Processed { .. }) => "processed",
        Step::TaskCompleted(JobOutcome::Skipped { .. }) => "skipped",
        other => panic!("unexpected {other:?}"),
    });
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["processed", "skipped"]);
    assert_eq!(
        fx.video(video).await?,
        Some(("processed".into(), true, None))
    );
    let (clip, poster) = fx.recorded_outputs(video).await?;
    let prefix = format!("videos/{video}/");
    let mut expected = vec![
        "original.mp4".to_owned(),
        clip.trim_start_matches(&prefix).to_owned(),
        poster.trim_start_matches(&prefix).to_owned(),
    ];
    expected.sort();
    // The losing attempt left nothing behind, and took nothing with it.
    assert_eq!(fx.files_of(video), expected);

    // A third delivery after the fact changes nothing.
    fx.enqueue(video).await?;
    assert!(matches!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Skipped { .. })
    ));
    assert_eq!(fx.files_of(video), expected);
    assert_eq!(fx.recorded_outputs(video).await?, (clip, poster));
    assert_eq!(fx.queue.depth().await?, QueueDepth::default());
    Ok(())
}

#[tokio::test]
async fn the_sweeper_fails_only_videos_whose_every_attempt_died() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let mut videos = Vec::new();
    // (attempts used, lease ended this many seconds ago: negative = still running)
    for (attempts, ended_ago) in [(3, 60), (2, 60), (3, -60), (1, -60)] {
        let video = fx.uploaded_video(None, true).await?;
        sqlx::query(
            "UPDATE videos SET status = 'processing', attempts = $2, claim_token = gen_random_uuid(),
                               lease_expires_at = now() - make_interval(secs => $3)
             WHERE id = $1",
        )
        .bind(video)
        .bind(attempts)
        .bind(f64::from(ended_ago))
        .execute(&fx.database.pool)
        .await?;
        videos.push(video);
    }
    assert_eq!(fx.consumer.sweep(Duration::from_secs(30)).await?, 1);
    let (status, _, error) = fx.video(videos[0]).await?.unwrap_or_default();
    assert_eq!(status, "failed");
    assert!(error.unwrap_or_default().contains("3 veces"));
    // Attempts left (the queue will deliver again), or a lease still alive: untouched.
    for video in &videos[1..] {
        assert_eq!(
            fx.video(*video).await?.map(|v| v.0).as_deref(),
            Some("processing")
        );
    }
    assert_eq!(fx.consumer.sweep(Duration::from_secs(30)).await?, 0);
    Ok(())
}

#[tokio::test]
async fn jobs_the_queue_lost_are_queued_again_from_the_rows_once_it_is_quiet() -> anyhow::Result<()>
{
    let fx = fixture().await?;
    let pool = &fx.database.pool;
    // (status, attempts used, lease ended this many seconds ago, uploaded this many seconds ago)
    let cases = [
        ("uploaded", 0, None, 120), // its job went to the dead-letter queue: lost
        ("processing", 1, Some(300), 600), // attempts left, nobody holds it: lost
        ("processing", 1, Some(-60), 600), // an attempt is running
        ("processing", 3, Some(300), 600), // out of attempts: the sweeper's
        ("uploaded", 0, None, 10),  // just uploaded: its job may be on its way
    ];
    let mut videos = Vec::new();
    for (status, attempts, lease_ended, uploaded) in cases {
        let video = fx.uploaded_video(Some(&short_clip()?), true).await?;
        sqlx::query("DELETE FROM job_outbox WHERE video_id = $1")
            .bind(video)
            .execute(pool)
            .await?;
        sqlx::query(
            "UPDATE videos SET status = $2, attempts = $3,
                   uploaded_at = now() - make_interval(secs => $4),
                   claim_token = CASE WHEN $5::float8 IS NULL THEN NULL ELSE gen_random_uuid() END,
                   lease_expires_at = now() - make_interval(secs => $5)
             WHERE id = $1",
        )
        .bind(video)
        .bind(status)
        .bind(attempts)
        .bind(f64::from(uploaded))
        .bind(lease_ended.map(f64::from))
        .execute(pool)
        .await?;
        videos.push(video);
    }

    // While the queue holds a message, only videos stranded for an hour count as lost.
    fx.enqueue(videos[2]).await?;
    assert_eq!(fx.consumer.requeue_stranded().await?, 0);
    sqlx::query("DELETE FROM queue_messages")
        .execute(pool)
        .await?;

    // Once it is quiet, the two lost ones are queued again, once.
    assert_eq!(fx.consumer.requeue_stranded().await?, 2);
    assert_eq!(fx.queue.depth().await?.visible, 2);
    assert_eq!(fx.consumer.requeue_stranded().await?, 0);
    for _ in 0..2 {
        assert!(matches!(
            fx.step().await?,
            Step::TaskCompleted(JobOutcome::Processed { .. })
        ));
    }
    for (video, expected) in videos.iter().zip(["processed", "processed", "processing"]) {
        assert_eq!(
            fx.video(*video).await?.map(|v| v.0).as_deref(),
            Some(expected)
        );
    }
    // Quiet again, and nothing else is lost: the rest belong to a running attempt, the sweeper,
    // and a job on its way.
    assert_eq!(fx.consumer.requeue_stranded().await?, 0);
    Ok(())
}

/// A fixture whose consumer re-checks the upload rules on decoded frames, as the service does.
async fn strict_fixture() -> anyhow::Result<Fixture> {
    let mut fx = fixture().await?;
    fx.settings.enforce_upload_rules = true;
    fx.consumer = Consumer::new(
        fx.database.pool.clone(),
        fx.storage.clone() as Arc<dyn Storage>,
        fx.queue.clone() as Arc<dyn JobQueue>,
        fx.settings.clone(),
    );
    Ok(fx)
}

#[tokio::test]
async fn the_worker_decodes_the_first_video_track_the_api_validated() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    let scratch = Scratch::new()?;
    // Track 1: 1080p H.264 (what the API's probe reads). Track 2: a bigger, solid red MPEG-2
    // track, FFmpeg's "best" pick, in a codec uploads may not use.
    let two_tracks = scratch.generate(
        "two-tracks.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=5:duration=21",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:size=2560x1440:rate=5:duration=21",
            "-map",
            "0:v",
            "-map",
            "1:v",
            "-c:v:0",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:v:1",
            "mpeg2video",
        ],
    )?;
    let video = fx.uploaded_video(Some(&two_tracks), false).await?;
    fx.enqueue(video).await?;
    assert_eq!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Processed { video_id: video })
    );
    let (clip, _) = fx.recorded_outputs(video).await?;
    // Two seconds into the footage (after the 2.5 s intro card): test pattern, not red.
    let frame = crate::support::frame(&fx.storage_dir.path().join(clip), 150)?;
    let red = frame.fraction((0, 0, 1280, 720), |[r, g, b]| r > 200 && g < 60 && b < 60);
    assert!(red < 0.2, "{:.0} % of the frame is red", red * 100.0);
    Ok(())
}

#[tokio::test]
async fn a_first_track_in_a_codec_uploads_may_not_use_fails_the_video() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    let scratch = Scratch::new()?;
    let mpeg2 = scratch.generate(
        "mpeg2.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=5:duration=21",
            "-c:v",
            "mpeg2video",
        ],
    )?;
    let video = fx.uploaded_video(Some(&mpeg2), false).await?;
    fx.enqueue(video).await?;
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("an MPEG-2 track must not be decoded");
    };
    assert!(reason.contains("códec"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn headers_that_promise_more_than_the_frames_hold_fail_the_video() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    // A 720p clip whose track header claims 1920x1080 (what the API's probe trusts).
    let mut bytes = std::fs::read(Clip::h264(1280, 720, 21.0).path()?)?;
    let tkhd = bytes
        .windows(4)
        .position(|window| window == b"tkhd")
        .ok_or_else(|| anyhow::anyhow!("no tkhd"))?
        + 4;
    anyhow::ensure!(bytes[tkhd] == 0, "a version 0 tkhd");
    bytes[tkhd + 76..tkhd + 80].copy_from_slice(&(1920_u32 << 16).to_be_bytes());
    bytes[tkhd + 80..tkhd + 84].copy_from_slice(&(1080_u32 << 16).to_be_bytes());
    let lying = tempfile::NamedTempFile::new()?;
    std::fs::write(lying.path(), bytes)?;
    let video = fx.uploaded_video(Some(lying.path()), false).await?;
    fx.enqueue(video).await?;
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("720p frames must fail the 1080p rule");
    };
    assert!(reason.contains("1280x720"), "{reason}");
    Ok(())
}

/// The first video stream's header as ffprobe reads it: width, height and the file's duration.
fn header(path: &Path) -> anyhow::Result<(u64, u64, f64)> {
    let probe = testkit::media::ffprobe(path)?;
    let stream = &probe["streams"][0];
    let seconds = probe["format"]["duration"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .context("no duration")?;
    Ok((
        stream["width"].as_u64().context("no width")?,
        stream["height"].as_u64().context("no height")?,
        seconds,
    ))
}

#[tokio::test]
async fn frames_that_shrink_part_way_fail_the_resolution_rule() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    let scratch = Scratch::new()?;
    // 12 s of 1080p, then 10 s of 720p in the same track: the header (and the API) see 1080p.
    let shrinking =
        scratch.resized_mid_stream("resized.mp4", &[("1920x1080", 12), ("1280x720", 10)])?;
    let (width, height, seconds) = header(&shrinking)?;
    assert_eq!((width, height), (1920, 1080));
    assert!((21.5..22.5).contains(&seconds), "{seconds} s");
    let video = fx.uploaded_video(Some(&shrinking), false).await?;
    fx.enqueue(video).await?;
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("frames of 720p part-way must fail the 1080p rule");
    };
    assert!(
        reason.contains("1280x720") && reason.contains("1080p"),
        "{reason}"
    );
    // Recorded as every permanent failure is: the video failed, the reason for its owner to read.
    assert_eq!(
        fx.video(video).await?,
        Some(("failed".to_owned(), false, Some(reason)))
    );
    Ok(())
}

#[tokio::test]
async fn sparse_frames_that_reach_the_cut_fail_the_length_rule() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    let scratch = Scratch::new()?;
    // 50 frames over 10 s, then one frame at 31 s: the header says 31.2 s and the footage
    // reaches the 30 s cut, but the frames used cover 9.8 s.
    let sparse = scratch.generate(
        "sparse.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=5:duration=10.2",
            "-vf",
            "setpts='if(eq(N,50),31/TB,PTS)'",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    )?;
    let (_, _, seconds) = header(&sparse)?;
    assert!(seconds > 31.0, "{seconds} s");
    let video = fx.uploaded_video(Some(&sparse), false).await?;
    fx.enqueue(video).await?;
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("frames spanning 9.8 s must fail the 20 s rule");
    };
    assert!(
        reason.contains("9.8 s") && reason.contains("entre 20 y 60 segundos"),
        "{reason}"
    );
    Ok(())
}

#[tokio::test]
async fn a_last_frame_the_container_stretches_fails_the_length_rule() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    let scratch = Scratch::new()?;
    // 51 frames over 10.2 s, the last one given 15 s in the sample table: the header says 25 s,
    // every frame is where the index says (nothing truncated), and the frames span 10 s.
    let even = Clip {
        audio: false,
        ..Clip::h264(1920, 1080, 10.2)
    }
    .path()?
    .to_string_lossy()
    .into_owned();
    let stretched = scratch.generate(
        "stretched.mp4",
        &[
            "-i",
            &even,
            "-c",
            "copy",
            "-bsf:v",
            "setts=duration='if(eq(N,50),15/TB,DURATION)'",
        ],
    )?;
    let (_, _, seconds) = header(&stretched)?;
    assert!((24.5..25.5).contains(&seconds), "{seconds} s");
    let video = fx.uploaded_video(Some(&stretched), false).await?;
    fx.enqueue(video).await?;
    let Step::TaskCompleted(JobOutcome::Failed { reason, .. }) = fx.step().await? else {
        panic!("frames spanning 10 s must fail the 20 s rule");
    };
    assert!(
        reason.contains("10.0 s") && reason.contains("entre 20 y 60 segundos"),
        "{reason}"
    );
    Ok(())
}

#[tokio::test]
async fn a_clip_of_exactly_twenty_seconds_passes_the_rechecks() -> anyhow::Result<()> {
    let fx = strict_fixture().await?;
    // 100 frames at 5 fps: they span 19.8 s, the last frame lasting the remaining 0.2 s.
    let clip = Clip::h264(1920, 1080, 20.0).path()?;
    let video = fx.uploaded_video(Some(&clip), false).await?;
    fx.enqueue(video).await?;
    assert_eq!(
        fx.step().await?,
        Step::TaskCompleted(JobOutcome::Processed { video_id: video })
    );
    Ok(())
}
