//! The command line of `cargo xtask`, declared in one place.

use clap::{Args, Parser, Subcommand};

/// Developer and operator tasks for Rising Stars. Run `cargo xtask <task> --help` for details.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    arg_required_else_help = true
)]
pub struct Xtask {
    #[command(subcommand)]
    pub task: Task,
}

#[derive(Debug, Subcommand)]
pub enum Task {
    /// Run the product locally: PostgreSQL, local storage and queue, the API on port 8080, the worker.
    #[command(after_help = "Example:\n  cargo xtask dev\n  cargo xtask dev --port 9090")]
    Dev(DevArgs),
    /// Run every check: formatting, clippy, unit, conformance and end-to-end tests.
    #[command(
        after_help = "Example:\n  cargo xtask test\n  cargo xtask test --skip-lint conformance"
    )]
    Test(TestArgs),
    /// Regenerate docs/openapi.json from the API's code (a test fails while it is stale).
    #[command(after_help = "Example:\n  cargo xtask openapi")]
    Openapi,
    /// Fill a database with synthetic players, published videos and Zipf-skewed votes.
    #[command(
        after_help = "Example:\n  cargo xtask seed --players 2000 --votes 200000\n  \
        cargo xtask seed --players 100000 --votes 2000000 --database rising_stars_bench_large"
    )]
    Seed(SeedArgs),
    /// Measure the product on this machine (release builds); prints a table for docs/benchmarks.md.
    #[command(after_help = "Example:\n  cargo xtask bench worker\n  \
        cargo xtask bench worker --sizes 50 --concurrency 1,2 --jobs 4")]
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchTarget,
}

#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Worker throughput: N stored videos, their jobs injected into the queue, one release worker
    /// at each concurrency; videos per minute and mean service time until the queue drains.
    Worker(WorkerBenchArgs),
    /// API throughput and latency: the release API on a seeded database, k6 closed loop.
    Api(ApiBenchArgs),
}

#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// Seeded players (one published video each).
    #[arg(long, default_value_t = 2000)]
    pub players: u32,
    /// Seeded votes (Zipf).
    #[arg(long, default_value_t = 200_000)]
    pub votes: u64,
    /// k6 mixes to run: web, rankings, health.
    #[arg(long, value_delimiter = ',', default_value = "web,rankings,health")]
    pub mixes: Vec<String>,
    /// Virtual users (closed loop, no think time).
    #[arg(long, default_value_t = 50)]
    pub vus: u32,
    /// Length of each run.
    #[arg(long, default_value = "60s")]
    pub duration: String,
    /// Runs of each mix.
    #[arg(long, default_value_t = 2)]
    pub runs: u32,
}

#[derive(Debug, Args)]
pub struct WorkerBenchArgs {
    /// Input sizes in MB (1080p H.264 made with the ffmpeg CLI).
    #[arg(long, value_delimiter = ',', default_value = "50,100")]
    pub sizes: Vec<u32>,
    /// Worker concurrency levels to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub concurrency: Vec<usize>,
    /// Jobs per measurement.
    #[arg(long, default_value_t = 6)]
    pub jobs: u32,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Players, each with one published video, spread over 10 cities.
    #[arg(long, default_value_t = 2000)]
    pub players: u32,
    /// Votes in all, Zipf-distributed over the videos (s = 1).
    #[arg(long, default_value_t = 200_000)]
    pub votes: u64,
    /// Database to (re)create on the local server; its previous contents are dropped.
    #[arg(long, default_value = "rising_stars_bench")]
    pub database: String,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Port for the API.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and clippy (for quick iterations; CI never skips them).
    #[arg(long)]
    pub skip_lint: bool,
    /// Only run tests whose name contains one of these filters (passed to cargo-nextest).
    pub filters: Vec<String>,
}
