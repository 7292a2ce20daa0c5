//! `cargo xtask loadtest`: a k6 scenario (or jobs injected into the queue) against the local
//! stack, a URL or a deployed stack, sampled every few seconds, and written up as a results folder:
//! `timeline.csv`, `summary.json`, `summary.md` and `chart.svg`.

pub mod chart;
pub mod k6;
pub mod process;
mod report;
mod sampler;
pub mod timeline;
pub mod workload;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::cmd;
use crate::console;
use crate::env::product::{Options, Product};
use crate::env::venv;
use crate::flags::{LoadtestArgs, Scenario};
use report::{Outcome, WorkerRun};
use sampler::Watched;
use timeline::Marker;

/// The databases local load tests use (not the dev stack's), one per scenario, made anew for each
/// run: a scratch database never holds another checkout's migrations or an earlier run's rows.
const WEB_DATABASE: &str = "rising_stars_loadtest";
const WORKER_DATABASE: &str = "rising_stars_loadtest_worker";
/// The course's web scenario lasts 1 + 3 + 5 minutes at scale 1.
const WEB_SCENARIO_SECONDS: f64 = 540.0;
/// After an uploads run, how long to keep watching the queue drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(30 * 60);

pub async fn run(args: LoadtestArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.local || args.url.is_some() || args.target.is_some(),
        "say what to load: --local, --url <base URL> or --target <stack>"
    );
    anyhow::ensure!(args.interval >= 1, "--interval must be at least 1 second");
    crate::env::apt::ensure(&[crate::env::apt::FONT])?;
    let out = results_dir(&args)?;
    console::step(format!("Results go to {}", out.display()));
    let outcome = match args.scenario {
        Scenario::Web | Scenario::Uploads => k6_scenario(&args, &out).await?,
        Scenario::Worker => worker_scenario(&args, &out).await?,
    };
    let written = report::write(&args, &out, &outcome)?;
    console::block(written);
    anyhow::ensure!(
        outcome.passed(),
        "the run did not meet its thresholds (see {})",
        out.join("summary.md").display()
    );
    Ok(())
}

fn results_dir(args: &LoadtestArgs) -> anyhow::Result<PathBuf> {
    let root = args
        .out
        .clone()
        .unwrap_or_else(|| cmd::workspace_root().join("results"));
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let scenario = match args.scenario {
        Scenario::Web => "web",
        Scenario::Uploads => "uploads",
        Scenario::Worker => "worker",
    };
    let dir = root.join(format!("{stamp}-{scenario}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn local_options(
    args: &LoadtestArgs,
    out: &Path,
    database: &str,
    worker_env: Vec<(String, String)>,
) -> anyhow::Result<Options> {
    let storage = cmd::target_dir().join("xtask").join("loadtest-storage");
    std::fs::create_dir_all(&storage)?;
    Ok(Options {
        port: cmd::free_port()?,
        database: database.to_owned(),
        storage: Some(storage),
        mail: None,
        cargo_profile: args.cargo_profile.clone(),
        // The worker scenario bypasses the web tier.
        api: args.scenario != Scenario::Worker,
        api_env: vec![
            // Load tests sign up all their accounts from one address.
            ("SIGNUP_MAX_PER_CLIENT".to_owned(), "1000000".to_owned()),
            // Their accounts are scripts with no inbox: verification would only refuse their
            // votes and fill a folder with thousands of messages.
            ("EMAIL_VERIFICATION".to_owned(), "off".to_owned()),
        ],
        worker_env,
        log_dir: Some(out.to_path_buf()),
    })
}

/// Drops a local load test's database, so that starting the product makes and migrates it anew.
async fn fresh_database(name: &str) -> anyhow::Result<()> {
    console::step(format!("Recreating database {name}"));
    crate::env::postgres::Postgres::ensure()
        .await?
        .drop_database(name)
        .await
}

/// Parses `30s`, `5m`, `1h` or plain seconds.
pub(crate) fn seconds(duration: &str) -> anyhow::Result<f64> {
    let (number, unit) = duration
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((duration, "s"), |at| duration.split_at(at));
    let number: f64 = number
        .parse()
        .with_context(|| format!("--duration {duration}: expected e.g. 30s, 5m or 1h"))?;
    Ok(number
        * match unit {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => bail!("--duration {duration}: unknown unit {other:?}"),
        })
}

/// Web and uploads: k6 runs the script while the sampler watches.
async fn k6_scenario(args: &LoadtestArgs, out: &Path) -> anyhow::Result<Outcome> {
    let k6 = venv::ensure(&venv::K6)?;
    let local = if args.local {
        fresh_database(WEB_DATABASE).await?;
        Some(
            Product::start(&local_options(
                args,
                out,
                WEB_DATABASE,
                // Short polls, so the idle worker stops at once when the run ends.
                vec![("WORKER_POLL_WAIT_SECONDS".to_owned(), "1".to_owned())],
            )?)
            .await?,
        )
    } else {
        None
    };
    let (base_url, watched) = match &local {
        Some(product) => (product.base_url.clone(), Watched::local(&product.pool)),
        None => {
            let watched = match &args.target {
                Some(stack) => Watched::stack(args, stack).await?,
                None => Watched::Nothing,
            };
            let url = match (&args.url, &watched) {
                (Some(url), _) => url.clone(),
                (None, Watched::Stack { api_url, .. }) => api_url.clone(),
                (None, _) => bail!("no URL to load: give --url or --target"),
            };
            (url, watched)
        }
    };

    let (script, label) = match args.scenario {
        Scenario::Uploads => ("loadtests/uploads.js", "uploads"),
        _ => ("loadtests/web.js", "web"),
    };
    let csv = out.join("k6.csv");
    let summary = out.join("k6-summary.json");
    let log = std::fs::File::create(out.join("k6.log"))?;
    let mut command = Command::new(&k6);
    command
        .args(["run", "--quiet", "--out"])
        .arg(format!("csv={}", csv.display()))
        .arg(script)
        .current_dir(cmd::workspace_root())
        .env("BASE_URL", &base_url)
        .env("SUMMARY", &summary)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    if let Some(vus) = args.vus {
        command.env("VUS", vus.to_string());
    }
    if args.scenario == Scenario::Web
        && let Some(duration) = &args.duration
    {
        command.env(
            "SCALE",
            format!("{:.4}", seconds(duration)? / WEB_SCENARIO_SECONDS),
        );
    }
    if args.scenario == Scenario::Uploads {
        command.env("VIDEO", workload::input_video(args.size)?);
        // Every upload builds its multipart body in memory; let k6's collector return it soon.
        command.env("GOMEMLIMIT", "1GiB");
    }
    console::step(format!(
        "k6: {label} against {base_url} (log: {})",
        out.join("k6.log").display()
    ));
    let mut tail = k6::CsvTail::new(&csv);
    let started = Instant::now();
    let mut samples = vec![watched.sample_without_k6(0.0).await?];
    report::print_sample(&samples[0]);
    let mut child = cmd::spawn(&mut command)?;
    let mut last = Instant::now();
    let status = loop {
        let waited = tokio::time::timeout(Duration::from_secs(args.interval), child.wait()).await;
        let interval = tail.read_new()?;
        let span = last.elapsed().as_secs_f64();
        last = Instant::now();
        // A last read right after the previous one spans too little time to give a fair rate;
        // k6's own summary has the totals.
        let finished = waited.is_ok();
        if !(finished && span < 1.0) {
            let sample = watched
                .sample(started.elapsed().as_secs_f64(), &interval, span)
                .await?;
            report::print_sample(&sample);
            samples.push(sample);
        }
        if let Ok(status) = waited {
            break status?;
        }
    };
    // k6 exits 99 when a threshold is crossed: a result, not a failure to run.
    if !status.success() && status.code() != Some(99) {
        bail!("k6 failed ({status}); see {}", out.join("k6.log").display());
    }
    if args.scenario == Scenario::Uploads && !matches!(watched, Watched::Nothing) {
        console::step("Watching the queue drain");
        let drain_started = Instant::now();
        loop {
            let sample = watched
                .sample_without_k6(started.elapsed().as_secs_f64())
                .await?;
            report::print_sample(&sample);
            let idle = sample.queue_visible.unwrap_or(0) + sample.queue_in_flight.unwrap_or(0) == 0;
            samples.push(sample);
            if idle || drain_started.elapsed() > DRAIN_LIMIT {
                break;
            }
            tokio::time::sleep(Duration::from_secs(args.interval)).await;
        }
    }
    if let Some(product) = local {
        console::step("Stopping the local stack");
        product.stop().await;
    }
    Ok(Outcome {
        target: base_url,
        markers: report::scaling_markers(&samples),
        samples,
        k6: Some(k6::summary(&summary)?),
        worker_runs: Vec::new(),
    })
}

/// Worker: N stored videos whose jobs go straight into the queue, once per concurrency; videos
/// per minute and mean service time until the queue drains.
async fn worker_scenario(args: &LoadtestArgs, out: &Path) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.local,
        "--scenario worker runs with --local: the jobs need rows in the database, and a deployed \
         stack's database is private (no route from outside the VPC). Against a stack, use \
         --scenario uploads, which goes through the API"
    );
    let input = workload::input_video(args.size)?;
    let storage = cmd::target_dir().join("xtask").join("loadtest-storage");
    let key = format!("inputs/{}mb.mp4", args.size);
    std::fs::create_dir_all(storage.join("inputs"))?;
    std::fs::copy(&input, storage.join(&key))?;

    let started = Instant::now();
    let mut samples = Vec::new();
    let mut markers = Vec::new();
    let mut runs = Vec::new();
    fresh_database(WORKER_DATABASE).await?;
    for &concurrency in &args.concurrency {
        let options = local_options(
            args,
            out,
            WORKER_DATABASE,
            vec![
                ("WORKER_CONCURRENCY".to_owned(), concurrency.to_string()),
                ("WORKER_POLL_WAIT_SECONDS".to_owned(), "1".to_owned()),
            ],
        )?;
        let product = Product::start(&options).await?;
        let pool = product.pool.clone();
        platform::videos::bulk::delete_all(&pool).await?;
        sqlx::query("DELETE FROM queue_messages")
            .execute(&pool)
            .await?;
        let watched = Watched::local(&pool);
        let owner = workload::owner(&pool).await?;
        let queue = workload::local_queue(&pool);
        console::step(format!(
            "{} jobs of a {} MB input, worker concurrency {concurrency}",
            args.videos, args.size
        ));
        markers.push(Marker {
            elapsed_s: started.elapsed().as_secs_f64(),
            label: format!("concurrency {concurrency}"),
        });
        let injected_at: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT now()").fetch_one(&pool).await?;
        workload::inject_jobs(&pool, &queue, owner, &key, args.videos).await?;
        let (processed, failed) = loop {
            let sample = watched
                .sample_without_k6(started.elapsed().as_secs_f64())
                .await?;
            report::print_sample(&sample);
            samples.push(sample);
            let (processed, failed): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE status = 'processed'),
                        count(*) FILTER (WHERE status = 'failed') FROM videos",
            )
            .fetch_one(&pool)
            .await?;
            if processed + failed >= i64::from(args.videos) {
                break (processed, failed);
            }
            tokio::time::sleep(Duration::from_secs(args.interval)).await;
        };
        // From the database's clock, not the sampling interval's: when the last video finished.
        let (drained_s, mean): (Option<f64>, Option<f64>) = sqlx::query_as(
            "SELECT extract(epoch FROM max(processed_at) - $1)::float8,
                    avg(extract(epoch FROM processed_at - processing_started_at))::float8
             FROM videos WHERE status = 'processed'",
        )
        .bind(injected_at)
        .fetch_one(&pool)
        .await?;
        let drained_in = Duration::from_secs_f64(drained_s.unwrap_or(0.0).max(0.0));
        let run = WorkerRun {
            concurrency,
            videos: u32::try_from(processed).unwrap_or(0),
            failed,
            drained_in,
            mean_service: Duration::from_secs_f64(mean.unwrap_or(0.0).max(0.0)),
        };
        console::note(format!(
            "drained in {:.1} s: {:.2} videos/min, mean service {:.1} s, {failed} failed",
            run.drained_in.as_secs_f64(),
            run.videos_per_minute(),
            run.mean_service.as_secs_f64()
        ));
        runs.push(run);
        product.stop().await;
    }
    Ok(Outcome {
        target: "local worker".to_owned(),
        samples,
        markers,
        k6: None,
        worker_runs: runs,
    })
}
