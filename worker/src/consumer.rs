//! The queue consumer: receives processing jobs, keeps each invisible while it works (heartbeat),
//! renders the showcase clip and records the outcome. Delivery is at least once, so every step is
//! idempotent: a job for a processed or deleted video is acknowledged and dropped.
//!
//! Failure policy: input that can never succeed (corrupt, no video track) fails the video at once
//! and dead-letters the message; any other failure is retried (the message comes back after
//! `WORKER_RETRY_DELAY_SECONDS`) until the queue's last allowed receive, which fails the video with
//! a reason and dead-letters the message.
//!
//! Duplicates: every claim of a video takes a fresh attempt token and writes its outputs under
//! `videos/<id>/<token>/`. Only the attempt holding the current token can record its result, so
//! two deliveries of one job never overwrite each other's files, and a losing attempt removes only
//! its own. The original is never deleted here: it belongs to the row.
//!
//! Attempts that die (SIGKILL, a lost machine, a shutdown on the last receive) leave no message to
//! come back: the sweeper ([`Consumer::sweep`]) fails a `processing` video whose attempts are used
//! up and whose lease (kept alive by the heartbeat) has run out.
//!
//! Database outages (see [`crate::database`]): while PostgreSQL is away the loops receive nothing;
//! a job that cannot claim its video goes back to the queue without failing it, and a finished
//! render waits (holding its message) to record its result. Receives spent meanwhile can still
//! send a job to the dead-letter queue before its video is done, so the sweeper also puts back,
//! from the rows, the job of every unfinished video nobody holds once the queue has gone quiet
//! ([`Consumer::requeue_stranded`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use platform::job::ProcessVideo;
use platform::queue::{JobQueue, QueueError, ReceivedMessage};
use platform::storage::{Storage, StorageKey};
use platform::videos::attempts::{self, Claim};
use platform::videos::{outbox, rules};
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use crate::config::WorkerSettings;
use crate::database::{self, Database, DatabaseError};
use crate::pipeline::{
    InputProblem, PipelineError, PipelineSettings, ShowcaseReport, render_showcase,
};

/// While the queue is quiet, how old an unfinished video nobody holds must be before its job counts
/// as lost: past the moment between an upload's commit and its job's publication.
const QUIET_QUEUE_AGE: Duration = Duration::from_secs(60);

/// How long an unfinished video nobody holds waits before its job counts as lost even though the
/// queue is busy; also how long a requeued video waits before it is requeued again.
pub const STRANDED_AFTER: Duration = Duration::from_secs(3600);

/// What one step of the consumer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A message was received and handled.
    TaskCompleted(JobOutcome),
    /// Nothing arrived within the poll wait.
    EmptyQueue,
}

/// How a received job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The clip and poster are stored and the video is `processed` (published if asked).
    Processed { video_id: Uuid },
    /// Nothing to do (video deleted, or already processed or failed); acknowledged.
    Skipped {
        video_id: Uuid,
        reason: &'static str,
    },
    /// The video is `failed` with a reason; the message is in the dead-letter queue.
    Failed { video_id: Uuid, reason: String },
    /// A passing failure; the message will be delivered again.
    WillRetry { video_id: Uuid, attempt: u32 },
    /// Stopped by shutdown or a lost lease; the message is visible again for another worker.
    Released { video_id: Uuid },
    /// The database was away, so the video could not even be claimed: the message comes back
    /// after the retry delay and the video is left as it was.
    Postponed { video_id: Uuid },
    /// The message is not a job at all; dead-lettered.
    Unreadable,
}

/// The consumer with its connections. Cheap to share between concurrent loops.
pub struct Consumer {
    database: Database,
    storage: Arc<dyn Storage>,
    queue: Arc<dyn JobQueue>,
    settings: WorkerSettings,
}

/// A failure while handling a job, sorted by what it means for retries.
enum JobError {
    /// The input can never work: fail now.
    Permanent(String),
    /// Worth another try (I/O, database, storage, timeout).
    Transient { owner_reason: String, cause: String },
    /// Cancelled by shutdown, or the lease was lost: give the job back.
    Released(String),
}

fn owner_reason(problem: InputProblem) -> &'static str {
    match problem {
        InputProblem::Unreadable => "El archivo no es un video MP4 legible.",
        InputProblem::NoVideoTrack => "El archivo no contiene una pista de video.",
        InputProblem::Undecodable => "La pista de video no se puede decodificar.",
        InputProblem::Truncated => "El archivo está incompleto o dañado.",
        InputProblem::UnsupportedCodec => {
            "La pista de video no usa un códec admitido (H.264, H.265, AV1 o MPEG-4)."
        }
        InputProblem::FrameTooLarge => "Las imágenes del video superan el máximo de 4K.",
        InputProblem::TooManyFrames => {
            "El video tiene más imágenes por segundo de las permitidas (120)."
        }
    }
}

fn transient(cause: impl std::fmt::Display) -> JobError {
    JobError::Transient {
        owner_reason: "No se pudo procesar el video por un error interno.".to_owned(),
        cause: cause.to_string(),
    }
}

impl Consumer {
    pub fn new(
        pool: PgPool,
        storage: Arc<dyn Storage>,
        queue: Arc<dyn JobQueue>,
        settings: WorkerSettings,
    ) -> Self {
        // A hung call must not outlast the heartbeat, which beats every third of the timeout.
        let call_limit = database::CALL_LIMIT.min(settings.visibility_timeout / 3);
        Self {
            database: Database::new(pool, call_limit),
            storage,
            queue,
            settings,
        }
    }

    /// Receives at most one job (waiting up to `wait`) and handles it to the end.
    pub async fn try_execute_task(
        &self,
        wait: Duration,
        shutdown: &watch::Receiver<bool>,
    ) -> anyhow::Result<Step> {
        let mut received = self
            .queue
            .receive(1, wait, self.settings.visibility_timeout)
            .await
            .context("receiving from the queue")?;
        let Some(message) = received.pop() else {
            return Ok(Step::EmptyQueue);
        };
        Ok(Step::TaskCompleted(self.handle(message, shutdown).await))
    }

    /// Runs `WORKER_CONCURRENCY` receive loops until `shutdown` turns true, then lets the running
    /// jobs finish (or release them after the grace period). The loops receive only while the
    /// database is up.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let watching = tokio::spawn(self.database.clone().watch(shutdown.clone()));
        let sweeper = tokio::spawn(Arc::clone(&self).sweep_until(shutdown.clone()));
        let reconciler = tokio::spawn(Arc::clone(&self).reconcile_until(shutdown.clone()));
        let mut loops = tokio::task::JoinSet::new();
        for slot in 0..self.settings.concurrency {
            let consumer = Arc::clone(&self);
            let shutdown = shutdown.clone();
            loops.spawn(async move {
                while !*shutdown.borrow() {
                    if !consumer.database.wait_until_up(&shutdown).await {
                        break;
                    }
                    match consumer
                        .try_execute_task(consumer.settings.poll_wait, &shutdown)
                        .await
                    {
                        Ok(Step::TaskCompleted(outcome)) => {
                            tracing::debug!(slot, ?outcome, "job handled");
                        }
                        Ok(Step::EmptyQueue) => {}
                        Err(error) => {
                            tracing::warn!(
                                slot,
                                error = format!("{error:#}"),
                                "receive failed; retrying shortly"
                            );
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                    }
                }
            });
        }
        while loops.join_next().await.is_some() {}
        sweeper.abort();
        reconciler.abort();
        watching.abort();
    }

    /// Runs [`crate::reconciler::reconcile`] every `WORKER_RECONCILE_INTERVAL_SECONDS` until
    /// shutdown.
    async fn reconcile_until(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut ticker =
            tokio::time::interval(self.settings.reconcile_interval.max(Duration::from_secs(1)));
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let pass = crate::reconciler::reconcile(
                self.database.pool(),
                self.storage.as_ref(),
                self.settings.orphan_grace,
            )
            .await;
            match pass {
                Ok(done) if done.removed > 0 => {
                    tracing::info!(
                        examined = done.examined,
                        removed = done.removed,
                        "storage reconciled"
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "reconciling storage failed; trying again later"
                    );
                }
            }
        }
    }

    /// Runs [`Consumer::sweep`] and [`Consumer::requeue_stranded`] every
    /// `WORKER_SWEEP_INTERVAL_SECONDS` until shutdown. The grace is one visibility timeout past the
    /// lease: a live attempt renews its lease three times in that.
    async fn sweep_until(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut ticker =
            tokio::time::interval(self.settings.sweep_interval.max(Duration::from_secs(1)));
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            if let Err(error) = self.sweep(self.settings.visibility_timeout).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "sweep failed; trying again later"
                );
            }
            if let Err(error) = self.requeue_stranded().await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "looking for lost jobs failed; trying again later"
                );
            }
        }
    }

    async fn handle(
        &self,
        message: ReceivedMessage,
        shutdown: &watch::Receiver<bool>,
    ) -> JobOutcome {
        let Ok(job) = ProcessVideo::from_body(&message.body) else {
            tracing::error!(message_id = %message.id, body = %message.body, "unreadable job message: dead-lettering it");
            if let Err(error) = self.queue.dead_letter(&message).await {
                tracing::error!(%error, "could not dead-letter an unreadable message");
            }
            return JobOutcome::Unreadable;
        };
        let span = tracing::info_span!(
            "job",
            task_id = %job.task_id,
            video_id = %job.video_id,
            attempt = message.receive_count
        );
        self.handle_job(job, message, shutdown)
            .instrument(span)
            .await
    }

    async fn handle_job(
        &self,
        job: ProcessVideo,
        message: ReceivedMessage,
        shutdown: &watch::Receiver<bool>,
    ) -> JobOutcome {
        let video_id = job.video_id;
        let pool = self.database.pool();
        let claimed = self
            .database
            .call(attempts::claim(
                pool,
                video_id,
                self.settings.visibility_timeout,
            ))
            .await;
        match claimed {
            Ok(Some(claim)) => {
                let cancel = Arc::new(AtomicBool::new(false));
                let lost = Arc::new(Lost::default());
                let heartbeat = tokio::spawn(heartbeat(
                    Arc::clone(&self.queue),
                    self.database.clone(),
                    message.receipt.clone(),
                    claim.clone(),
                    self.settings.visibility_timeout,
                    Arc::clone(&cancel),
                    Arc::clone(&lost),
                ));
                let watchdog = tokio::spawn(shutdown_watchdog(
                    shutdown.clone(),
                    self.settings.shutdown_grace,
                    Arc::clone(&cancel),
                ));
                let result = self.process(&claim, &cancel, shutdown).await;
                heartbeat.abort();
                watchdog.abort();
                let result = if lost.video.load(Ordering::SeqCst) {
                    // Another attempt holds the video, or it is gone: nothing to record.
                    Ok(false)
                } else if lost.message.load(Ordering::SeqCst) {
                    Err(JobError::Released(
                        "the lease on the message was lost".to_owned(),
                    ))
                } else {
                    result
                };
                self.settle(&claim, &message, result, shutdown).await
            }
            Ok(None) => {
                self.acknowledge(&message).await;
                tracing::info!(%video_id, "nothing to do: video deleted or already settled");
                JobOutcome::Skipped {
                    video_id,
                    reason: "deleted or already processed",
                }
            }
            Err(DatabaseError::Away(why)) => {
                // Nothing is known about the video: leave it be, and the job for later. The loops
                // wait for the database before they receive again.
                tracing::warn!(%video_id, why, "cannot claim the video: the job returns later");
                if let Err(error) = self
                    .queue
                    .extend_visibility(&message.receipt, self.settings.retry_delay)
                    .await
                {
                    tracing::warn!(%error, "could not postpone the job; it returns after its timeout");
                }
                JobOutcome::Postponed { video_id }
            }
            Err(DatabaseError::Failed(error)) => {
                let failure = transient(format!("claim: {error}"));
                self.settle(
                    &Claim::unclaimed(video_id),
                    &message,
                    Err(failure),
                    shutdown,
                )
                .await
            }
        }
    }

    /// Fails every `processing` video that no attempt will ever finish: its attempts reached the
    /// queue's receive limit and its lease ran out `grace` ago. Returns how many.
    pub async fn sweep(&self, grace: Duration) -> anyhow::Result<u64> {
        let Some(max_receives) = self.queue.max_receives().await? else {
            return Ok(0);
        };
        let failed = self
            .database
            .call(attempts::sweep(self.database.pool(), max_receives, grace))
            .await?;
        for video_id in &failed {
            tracing::warn!(%video_id, "video failed: every allowed attempt was interrupted");
        }
        Ok(failed.len() as u64)
    }

    /// Puts back the job of every unfinished video whose job the queue may have lost (see
    /// [`attempts::requeue_stranded`]) and publishes them. While the queue holds no message at all,
    /// every such video more than a minute old is stranded; otherwise only those older than
    /// [`STRANDED_AFTER`] are taken, so a long backlog is not doubled. Returns how many.
    pub async fn requeue_stranded(&self) -> anyhow::Result<usize> {
        let depth = self.queue.depth().await?;
        let quiet = depth.visible + depth.in_flight == 0;
        let older_than = if quiet {
            QUIET_QUEUE_AGE
        } else {
            STRANDED_AFTER
        };
        let max_receives = self.queue.max_receives().await?;
        let pool = self.database.pool();
        let videos = self
            .database
            .call(attempts::requeue_stranded(
                pool,
                max_receives,
                self.settings.visibility_timeout,
                older_than,
                STRANDED_AFTER,
            ))
            .await?;
        if videos.is_empty() {
            return Ok(0);
        }
        for video_id in &videos {
            tracing::warn!(%video_id, quiet, "the queue lost this video's job: queued again");
        }
        self.database
            .call(outbox::relay_once(pool, self.queue.as_ref()))
            .await?;
        Ok(videos.len())
    }

    /// Runs a database call; while the database is away, waits for it (up to
    /// `WORKER_DATABASE_WAIT_SECONDS` in all) and tries again. For results already paid for: a
    /// finished render, a decided failure.
    async fn call_when_up<T, F, Fut>(
        &self,
        shutdown: &watch::Receiver<bool>,
        mut call: F,
    ) -> Result<T, DatabaseError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.settings.database_wait;
        loop {
            match self.database.call(call()).await {
                Err(DatabaseError::Away(why)) => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    tracing::warn!(why, ?left, "waiting for the database to record the result");
                    if left.is_zero() || !self.database.wait_until_up_within(left, shutdown).await {
                        return Err(DatabaseError::Away(why));
                    }
                }
                result => return result,
            }
        }
    }

    /// Download, render, upload, record: the whole job. `Ok(false)` when this attempt may not
    /// record (the video was deleted, or a newer attempt took it over); its own outputs are then
    /// removed.
    async fn process(
        &self,
        claim: &Claim,
        cancel: &Arc<AtomicBool>,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<bool, JobError> {
        let video_id = claim.video_id;
        let work = tempfile::Builder::new()
            .prefix("job-")
            .tempdir_in(&self.settings.work_dir)
            .map_err(|e| transient(format_args!("work dir: {e}")))?;
        let original = work.path().join("original.mp4");
        let clip = work.path().join("processed.mp4");
        let poster = work.path().join("poster.jpg");
        let original_key = StorageKey::parse(&claim.original_key).map_err(transient)?;
        self.storage
            .download_to(&original_key, &original)
            .await
            .map_err(|e| transient(format_args!("download: {e}")))?;

        let report = self.render(&original, &clip, &poster, cancel).await?;
        if self.settings.enforce_upload_rules {
            check_decoded(&report)?;
        }

        // This attempt's own keys: a concurrent attempt of the same job never writes over them.
        let (clip_key, poster_key) = (claim.clip_key(), claim.poster_key());
        self.storage
            .put_file(&clip_key, &clip, "video/mp4")
            .await
            .map_err(|e| transient(format_args!("upload clip: {e}")))?;
        self.storage
            .put_file(&poster_key, &poster, "image/jpeg")
            .await
            .map_err(|e| transient(format_args!("upload poster: {e}")))?;

        let pool = self.database.pool();
        let recorded = self
            .call_when_up(shutdown, || {
                attempts::record_processed(pool, claim, &clip_key, &poster_key)
            })
            .await;
        match recorded {
            Ok(true) => Ok(true),
            Ok(false) => {
                // Deleted while we worked, or another attempt holds the video now: our outputs
                // are nobody's. The original is the row's, never ours to remove.
                for key in [&clip_key, &poster_key] {
                    if let Err(error) = self.storage.delete(key).await {
                        tracing::warn!(%error, %key, "could not remove an output of a lost attempt");
                    }
                }
                tracing::info!(%video_id, "this attempt no longer holds the video; its outputs removed");
                Ok(false)
            }
            Err(DatabaseError::Away(why)) => Err(JobError::Released(format!(
                "the database stayed away: {why}"
            ))),
            Err(DatabaseError::Failed(error)) => Err(transient(format_args!("record: {error}"))),
        }
    }

    async fn render(
        &self,
        original: &Path,
        clip: &Path,
        poster: &Path,
        cancel: &Arc<AtomicBool>,
    ) -> Result<ShowcaseReport, JobError> {
        let (original, clip, poster) = (original.to_owned(), clip.to_owned(), poster.to_owned());
        let settings: PipelineSettings = self.settings.pipeline.clone();
        let flag = Arc::clone(cancel);
        let mut rendering = tokio::task::spawn_blocking(move || {
            render_showcase(&original, &clip, &poster, &settings, &flag)
        });
        let mut timed_out = false;
        let result = tokio::select! {
            result = &mut rendering => result,
            () = tokio::time::sleep(self.settings.encode_timeout) => {
                timed_out = true;
                cancel.store(true, Ordering::SeqCst);
                rendering.await
            }
        };
        match result {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(error)) if error.is_permanent() => {
                let reason = match &error {
                    PipelineError::InvalidInput { problem, .. } => owner_reason(*problem),
                    _ => "El archivo no se puede procesar.",
                };
                tracing::warn!(error = %error, "input can never be processed");
                Err(JobError::Permanent(reason.to_owned()))
            }
            // A render that outlasts the limit would outlast it again: no retry.
            Ok(Err(error)) if error.is_cancelled() && timed_out => {
                tracing::warn!(limit = ?self.settings.encode_timeout, "render timed out");
                Err(JobError::Permanent(
                    "El procesamiento superó el tiempo máximo permitido.".to_owned(),
                ))
            }
            Ok(Err(error)) if error.is_cancelled() => Err(JobError::Released(
                "cancelled (shutdown or lost lease)".to_owned(),
            )),
            Ok(Err(error)) => Err(transient(format_args!("render: {error}"))),
            Err(join) => Err(transient(format_args!("render task: {join}"))),
        }
    }

    /// Turns a job's result into its outcome and the message's fate.
    async fn settle(
        &self,
        claim: &Claim,
        message: &ReceivedMessage,
        result: Result<bool, JobError>,
        shutdown: &watch::Receiver<bool>,
    ) -> JobOutcome {
        let video_id = claim.video_id;
        match result {
            Ok(true) => {
                self.acknowledge(message).await;
                tracing::info!(%video_id, "video processed");
                JobOutcome::Processed { video_id }
            }
            Ok(false) => {
                self.acknowledge(message).await;
                JobOutcome::Skipped {
                    video_id,
                    reason: "superseded or deleted during processing",
                }
            }
            Err(JobError::Released(why)) => {
                tracing::info!(%video_id, why, "job released for another worker");
                let released = attempts::release_lease(self.database.pool(), claim);
                if let Err(error) = self.database.call(released).await {
                    tracing::warn!(%error, "could not give up the lease; it runs out by itself");
                }
                if let Err(error) = self.queue.release(&message.receipt).await {
                    tracing::warn!(%error, "could not release the message; it returns after its timeout");
                }
                JobOutcome::Released { video_id }
            }
            Err(JobError::Permanent(reason)) => self.fail(claim, message, reason, shutdown).await,
            Err(JobError::Transient {
                owner_reason,
                cause,
            }) => {
                let max = self.queue.max_receives().await.ok().flatten();
                let last = max.is_some_and(|max| message.receive_count >= max);
                tracing::warn!(%video_id, attempt = message.receive_count, max_receives = ?max, cause, "job failed");
                if last {
                    let reason = format!(
                        "{owner_reason} Se intentó {} veces; vuelve a subir el video.",
                        message.receive_count
                    );
                    return self.fail(claim, message, reason, shutdown).await;
                }
                if let Err(error) = self
                    .queue
                    .extend_visibility(&message.receipt, self.settings.retry_delay)
                    .await
                {
                    tracing::warn!(%error, "could not schedule the retry; it returns after its timeout");
                }
                JobOutcome::WillRetry {
                    video_id,
                    attempt: message.receive_count,
                }
            }
        }
    }

    async fn fail(
        &self,
        claim: &Claim,
        message: &ReceivedMessage,
        reason: String,
        shutdown: &watch::Receiver<bool>,
    ) -> JobOutcome {
        let video_id = claim.video_id;
        let pool = self.database.pool();
        let recorded = self
            .call_when_up(shutdown, || attempts::record_failed(pool, claim, &reason))
            .await;
        if let Err(error) = recorded {
            // Leave the message to come back: the failure is recorded on a later receive.
            tracing::error!(%video_id, %error, "could not record the failure");
            return JobOutcome::WillRetry {
                video_id,
                attempt: message.receive_count,
            };
        }
        if let Err(error) = self.queue.dead_letter(message).await {
            tracing::error!(%video_id, %error, "could not dead-letter the message");
        }
        tracing::warn!(%video_id, reason, "video failed");
        JobOutcome::Failed { video_id, reason }
    }

    async fn acknowledge(&self, message: &ReceivedMessage) {
        match self.queue.delete(&message.receipt).await {
            Ok(()) => {}
            // Someone else holds it now; they will find the work done and skip it.
            Err(QueueError::ReceiptExpired) => {
                tracing::info!(message_id = %message.id, "message was redelivered meanwhile");
            }
            Err(error) => tracing::warn!(%error, "could not delete a finished message"),
        }
    }
}

/// The upload rules again, on what the decoder saw rather than what the headers declared: a file
/// whose headers promised 1080p and 20–60 s but whose frames are something else fails here. Every
/// decoded frame's size counts (a stream can shrink part-way), and the length is the time the
/// frames span, first timestamp to last, even when the footage reached the 30 s cut: a few frames
/// spread thin, or a last frame the container stretches, do not make a video 20 s long.
fn check_decoded(report: &ShowcaseReport) -> Result<(), JobError> {
    /// The frames of a video of exactly 20 s span 20 s less one frame (0.5 s at 2 fps).
    const SLACK: Duration = Duration::from_millis(500);
    let shortest = Duration::from_secs(rules::MIN_SECONDS).saturating_sub(SLACK);
    let (width, height) = report.smallest_frame;
    if !rules::accepts_resolution(width, height) {
        tracing::warn!(
            width,
            height,
            header_width = report.source_width,
            header_height = report.source_height,
            "decoded frames are below the minimum resolution"
        );
        return Err(JobError::Permanent(format!(
            "El video decodificado tiene imágenes de {width}x{height}; la resolución mínima es {}p.",
            rules::MIN_SHORT_SIDE
        )));
    }
    if report.frames_span < shortest {
        tracing::warn!(
            span = ?report.frames_span,
            used = ?report.source_used,
            cut = report.source_cut,
            "decoded frames span less than the minimum length"
        );
        return Err(JobError::Permanent(format!(
            "Las imágenes del video decodificado abarcan {:.1} s; debe durar entre {} y {} segundos.",
            report.frames_span.as_secs_f64(),
            rules::MIN_SECONDS,
            rules::MAX_SECONDS
        )));
    }
    Ok(())
}

/// Extends the message's visibility and the video's lease every third of the timeout; when
/// either is gone (the receipt expired; a newer attempt claimed the video, or it was deleted) it
/// says which in `lost` and raises `cancel`, so a superseded attempt stops rendering at once. The
/// message comes first: while the database is away the attempt keeps its job.
async fn heartbeat(
    queue: Arc<dyn JobQueue>,
    database: Database,
    receipt: platform::queue::ReceiptHandle,
    claim: Claim,
    visibility: Duration,
    cancel: Arc<AtomicBool>,
    lost: Arc<Lost>,
) {
    let mut ticker = tokio::time::interval(visibility / 3);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match queue.extend_visibility(&receipt, visibility).await {
            Ok(()) => {}
            Err(QueueError::ReceiptExpired) => {
                tracing::warn!("lost the lease on the job: stopping it");
                lost.message.store(true, Ordering::SeqCst);
                cancel.store(true, Ordering::SeqCst);
                return;
            }
            Err(error) => tracing::warn!(%error, "heartbeat failed; trying again next beat"),
        }
        let extended = attempts::extend_lease(database.pool(), &claim, visibility);
        match database.call(extended).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    "a newer attempt holds the video, or it was deleted: stopping this one"
                );
                lost.video.store(true, Ordering::SeqCst);
                cancel.store(true, Ordering::SeqCst);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "could not extend the video's lease; trying again next beat");
            }
        }
    }
}

/// What a running attempt's heartbeat found gone.
#[derive(Debug, Default)]
struct Lost {
    /// The message's lease (its receipt expired): give the job back.
    message: AtomicBool,
    /// The video's lease: a newer attempt claimed it, or it was deleted. Nothing to record.
    video: AtomicBool,
}

/// After shutdown begins, lets the job run for `grace`, then raises `cancel`.
async fn shutdown_watchdog(
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
    cancel: Arc<AtomicBool>,
) {
    if shutdown.wait_for(|stopping| *stopping).await.is_err() {
        return;
    }
    tokio::time::sleep(grace).await;
    tracing::warn!("shutdown grace period over: cancelling the running job");
    cancel.store(true, Ordering::SeqCst);
}

/// Everything the consumer needs, from settings: database (migrated), storage, queue.
pub async fn connect(settings: WorkerSettings) -> anyhow::Result<Consumer> {
    let platform::backends::Backends {
        pool,
        storage,
        queue,
    } = platform::backends::connect(&settings.database, &settings.storage, &settings.queue).await?;
    tokio::fs::create_dir_all(&settings.work_dir)
        .await
        .with_context(|| {
            format!(
                "WORKER_WORK_DIR: cannot create {}",
                settings.work_dir.display()
            )
        })?;
    Ok(Consumer::new(pool, storage, queue, settings))
}
