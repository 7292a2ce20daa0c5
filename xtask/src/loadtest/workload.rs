//! Synthetic work for benchmarks and load tests: generated 1080p inputs, and processing jobs put
//! straight into the queue (bypassing the web tier).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use platform::videos::intake::{NewVideo, record_upload};
use platform::videos::outbox;
use sqlx::PgPool;
use uuid::Uuid;

use crate::cmd;
use crate::console;

/// A 1080p H.264 input of about `megabytes` MB (constant bitrate), cached under the target dir.
pub fn input_video(megabytes: u32) -> anyhow::Result<PathBuf> {
    let dir = cmd::target_dir().join("xtask").join("bench-media");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("input-1080p-{megabytes}mb.mp4"));
    if path.exists() {
        return Ok(path);
    }
    // 50 MB → 40 s at 10 Mbit/s; 100 MB → 55 s at ~14.5 Mbit/s (both within the upload rules).
    let seconds: u32 = if megabytes > 60 { 55 } else { 40 };
    let kbits = u64::from(megabytes) * 8 * 1000 * 98 / 100 / u64::from(seconds);
    console::step(format!(
        "Generating a {megabytes} MB 1080p input ({seconds} s at {kbits} kbit/s)"
    ));
    let partial = dir.join(format!("input-1080p-{megabytes}mb.partial.mp4"));
    cmd::run(
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
            ])
            .arg(format!(
                "testsrc2=size=1920x1080:rate=30:duration={seconds}"
            ))
            .args(["-f", "lavfi", "-i"])
            .arg(format!(
                "sine=frequency=440:sample_rate=48000:duration={seconds}"
            ))
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ])
            .args([
                "-b:v",
                &format!("{kbits}k"),
                "-minrate",
                &format!("{kbits}k"),
            ])
            .args([
                "-maxrate",
                &format!("{kbits}k"),
                "-bufsize",
                &format!("{}k", kbits * 2),
            ])
            .args([
                "-x264-params",
                "nal-hrd=cbr:force-cfr=1",
                "-c:a",
                "aac",
                "-b:a",
                "128k",
            ])
            .args(["-movflags", "+faststart"])
            .arg(&partial),
    )?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// The queue the local stack's binaries use on their defaults (`QUEUE_URL=postgres`).
pub fn local_queue(pool: &PgPool) -> platform::queue::PgQueue {
    use platform::config::{DEFAULT_MAX_RECEIVES, DEFAULT_QUEUE_NAME};
    platform::queue::PgQueue::new(pool.clone(), DEFAULT_QUEUE_NAME, DEFAULT_MAX_RECEIVES)
}

/// Inserts a user who owns the injected videos; returns its id.
pub async fn owner(pool: &PgPool) -> anyhow::Result<Uuid> {
    let owner = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, city, country)
         VALUES ($1, $2, 'x', 'Synthetic', 'Owner', 'Cali', 'Colombia')",
    )
    .bind(owner)
    .bind(format!("{owner}@workload.test"))
    .execute(pool)
    .await?;
    Ok(owner)
}

/// Records `count` uploaded videos of `owner` whose original is the stored object `key`, and
/// sends one processing job each, through the same intake and outbox as an upload; returns their
/// ids.
pub async fn inject_jobs(
    pool: &PgPool,
    queue: &dyn platform::queue::JobQueue,
    owner: Uuid,
    key: &str,
    count: u32,
) -> anyhow::Result<Vec<Uuid>> {
    let original = platform::storage::StorageKey::parse(key)?;
    let mut videos = Vec::new();
    for _ in 0..count {
        let video = NewVideo {
            id: Uuid::now_v7(),
            owner_id: owner,
            title: "synthetic".to_owned(),
            publish_requested: true,
            original: original.clone(),
            duration: Duration::from_secs(40),
            width: 1920,
            height: 1080,
            size_bytes: 1,
            video_codec: "h264".to_owned(),
        };
        let task_id = record_upload(pool, &video).await?;
        if !outbox::publish(pool, queue, task_id, video.id).await {
            anyhow::bail!("could not send the job of video {}", video.id);
        }
        videos.push(video.id);
    }
    Ok(videos)
}
