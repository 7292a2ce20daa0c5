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
    /// Run every check: formatting, clippy, dependencies, unit, conformance and end-to-end tests.
    #[command(
        after_help = "Example:\n  cargo xtask test\n  cargo xtask test --quick\n  \
        cargo xtask test --skip-lint conformance"
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
    /// Take the README's screens (docs/ui) in Chromium, from a private product holding the demo
    /// data set.
    #[command(after_help = "Example:\n  cargo xtask screens")]
    Screens,
    /// Measure the product on this machine (release builds); prints a table for docs/benchmarks.md.
    #[command(after_help = "Example:\n  cargo xtask bench worker\n  \
        cargo xtask bench worker --sizes 50 --concurrency 1,2 --jobs 4")]
    Bench(BenchArgs),
    /// Build the linux/amd64 images of the API and the worker (no Docker needed); with --push,
    /// push them to ECR or to --registry.
    #[command(after_help = "Example:\n  cargo xtask images\n  \
        cargo xtask images --push --region us-east-1 --stack rising-stars\n  \
        REGISTRY_USERNAME=me REGISTRY_PASSWORD=secret \
        cargo xtask images --push --registry http://127.0.0.1:5000 --cargo-profile dev")]
    Images(ImagesArgs),
    /// Render the CloudFormation template and its parameters into the target folder and lint them
    /// (cfn-lint, checkov).
    #[command(after_help = "Example:\n  cargo xtask synth\n  \
        cargo xtask synth --param ExistingRoleArn=arn:aws:iam::123456789012:role/LabRole")]
    Synth(SynthArgs),
    /// Show what a deploy would change, as a table (add / modify / remove / replacement).
    #[command(after_help = "Example:\n  cargo xtask diff --stack rising-stars\n  \
        cargo xtask diff --images --param WebMaxTasks=10")]
    Diff(DiffArgs),
    /// Build and push the images, then create or update the stack, following its events.
    #[command(after_help = "Example:\n  cargo xtask deploy --region us-east-1\n  \
        cargo xtask deploy --param ExistingRoleArn=arn:aws:iam::123456789012:role/LabRole")]
    Deploy(DeployArgs),
    /// Empty the bucket and delete the stack (the database leaves a final snapshot).
    #[command(after_help = "Example:\n  cargo xtask destroy --stack rising-stars")]
    Destroy(AwsArgs),
    /// A k6 scenario against the local stack, a URL or a deployed stack, sampling task counts and
    /// queue depths while it runs; writes results/<time>-<scenario>/ with a timeline and a chart.
    #[command(
        after_help = "Example:\n  cargo xtask loadtest --scenario web --local --vus 100\n  \
        cargo xtask loadtest --scenario web --local --vus 20 --duration 30s --interval 5\n  \
        cargo xtask loadtest --scenario uploads --target rising-stars --vus 10\n  \
        cargo xtask loadtest --scenario worker --local --videos 8 --size 100 --concurrency 1,2,4"
    )]
    Loadtest(LoadtestArgs),
    /// Tasks per service, queue depths and the latest stack events.
    #[command(after_help = "Example:\n  cargo xtask status --stack rising-stars")]
    Status(AwsArgs),
    /// Grant, take back or list staff accounts (the jury's desk): on the dev database, or with
    /// --target on a deployed stack (a one-off ECS task of the API image). Prints what it did.
    #[command(
        after_help = "Example:\n  cargo xtask staff add ana@federacion.co --reason \"Jurado 2026\"\n  \
        cargo xtask staff list\n  \
        cargo xtask staff remove ana@federacion.co --target rising-stars --region us-east-1"
    )]
    Staff(StaffArgs),
}

/// `add`, `remove` or `list` staff accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StaffVerb {
    Add,
    Remove,
    List,
}

#[derive(Debug, Args)]
pub struct StaffArgs {
    pub verb: StaffVerb,
    /// The account's e-mail (add, remove); the person signs up first.
    pub email: Option<String>,
    /// Why, for the audit log (default: "granted by an operator" / "removed by an operator").
    #[arg(long)]
    pub reason: Option<String>,
    /// Run it on this deployed stack instead, as a one-off task of its API image.
    #[arg(long, value_name = "STACK")]
    pub target: Option<String>,
    /// The database to change (default: the dev database `cargo xtask dev` uses).
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub connection: AwsConnection,
}

impl StaffArgs {
    /// The words of `rising-stars-api staff …` for these arguments.
    pub fn command_words(&self) -> Vec<String> {
        let verb = match self.verb {
            StaffVerb::Add => "add",
            StaffVerb::Remove => "remove",
            StaffVerb::List => "list",
        };
        let mut words = vec![verb.to_owned()];
        words.extend(self.email.clone());
        if let Some(reason) = &self.reason {
            words.extend(["--reason".to_owned(), reason.clone()]);
        }
        words
    }
}

/// Where the stack lives; credentials are found the standard way (environment, profile, SSO).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// The CloudFormation stack (also the prefix of the image repositories).
    #[arg(long, default_value = "rising-stars")]
    pub stack: String,
    #[command(flatten)]
    pub connection: AwsConnection,
}

/// How to reach AWS; credentials are found the standard way.
#[derive(Debug, Clone, Args)]
pub struct AwsConnection {
    /// AWS region (default: from the environment or profile, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile from the shared config files.
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS endpoint override (an emulator such as moto; `AWS_ENDPOINT_URL` works too).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The stack the rendering is for (the output folder is named after it).
    #[arg(long, default_value = "rising-stars")]
    pub stack: String,
    /// A template parameter, `Name=Value` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Render only; skip cfn-lint and checkov.
    #[arg(long)]
    pub no_lint: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// A template parameter, `Name=Value` (repeatable); others keep their deployed values.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Build the images too, so the diff shows whether they changed (otherwise the deployed
    /// images are kept).
    #[arg(long)]
    pub images: bool,
    /// The registry the images would be pushed to (default: the account's ECR).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// Cargo profile of the image binaries.
    #[arg(long, default_value = "release")]
    pub cargo_profile: String,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// A template parameter, `Name=Value` (repeatable); others keep their deployed values.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Push the images to this registry instead of the account's ECR (credentials from
    /// REGISTRY_USERNAME and REGISTRY_PASSWORD, or the ECR token when ECR answers).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// Cargo profile of the image binaries (`dev` only for tests against an emulator).
    #[arg(long, default_value = "release")]
    pub cargo_profile: String,
    /// Put a new value in the secret CloudFront sends to the load balancer (PublicEndpoint
    /// cloudfront); the load balancer accepts the old value too until the next deploy.
    #[arg(long)]
    pub rotate_origin_secret: bool,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Cargo profile of the binaries (`dev` reuses the debug build; deploy with `release`).
    #[arg(long, default_value = "release")]
    pub cargo_profile: String,
    /// Push the images (only what the registry lacks); without it, only build the layouts.
    #[arg(long)]
    pub push: bool,
    /// Push to this registry instead of the account's ECR, e.g. http://127.0.0.1:5000 (without a
    /// scheme, a loopback registry is plain HTTP and any other HTTPS, as with Docker; credentials
    /// from REGISTRY_USERNAME and REGISTRY_PASSWORD).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// The stack (repositories <STACK>/api and <STACK>/worker) and the AWS account (ECR).
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Write a JSON summary (digests, tags, layer sizes, what was pushed) to this file.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<std::path::PathBuf>,
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
    /// The ballot-stuffing simulation: honest fans and a scripted attacker vote at once against
    /// the API as shipped; what the public ranking counted of each, and what it cost.
    Ballots(BallotsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BallotsArgs {
    /// Honest fans (verified accounts a month old), each on a network of its own...
    #[arg(long, default_value_t = 5000)]
    pub honest: u32,
    /// ...except this many, behind one shared address (a carrier's NAT on voting night).
    #[arg(long, default_value_t = 500)]
    pub shared: u32,
    /// Players with a published video; fans favour the first ones (Zipf).
    #[arg(long, default_value_t = 50)]
    pub players: u32,
    /// Votes each fan casts, for distinct players.
    #[arg(long, default_value_t = 3)]
    pub votes_each: u32,
    /// The run's length: fans' votes fall at random moments of it.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// The attacker's networks: half IPv6 /64s, half IPv4 addresses (ten to a /24).
    #[arg(long, default_value_t = 40)]
    pub attack_networks: u32,
    /// Accounts the attacker signs up on each of its networks.
    #[arg(long, default_value_t = 45)]
    pub accounts_per_network: u32,
    /// The attacker makes every account first and votes two days later (its accounts no longer
    /// young).
    #[arg(long)]
    pub patient: bool,
    /// Run the debug API the test build made instead of building a release one (the suite).
    #[arg(long)]
    pub debug: bool,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// Seeded players (one published video each).
    #[arg(long, default_value_t = 2000)]
    pub players: u32,
    /// Seeded votes (Zipf).
    #[arg(long, default_value_t = 200_000)]
    pub votes: u64,
    /// k6 mixes to run: web, course (the web mix's logins on five accounts, as the course's load
    /// test has them), rankings, health (loadtests/web.js); voting (readers plus a vote
    /// stream), votes (the vote stream alone), mixed (80 % reads, 20 % votes per iteration),
    /// deep (a crawler reading pages at random depths plus a vote stream) (loadtests/voting.js,
    /// with a second API instance for the staleness probe); staff (the moderation queue, with
    /// `--jury`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "web,course,rankings,health"
    )]
    pub mixes: Vec<String>,
    /// Database connections of each API process (the stack's web tasks have 5).
    #[arg(long, default_value_t = 20)]
    pub pool: u32,
    /// Virtual users (closed loop, no think time); readers in the voting mix.
    #[arg(long, default_value_t = 50)]
    pub vus: u32,
    /// Votes per second of the voting and votes mixes (default: voting.js's, 100 and 1000).
    #[arg(long)]
    pub vote_rate: Option<u32>,
    /// Reads per second of the voting and deep mixes' readers, arriving at that rate whatever
    /// the latency (up to `--vus` at once); without it they read in a closed loop.
    #[arg(long)]
    pub read_rate: Option<u32>,
    /// Length of each run.
    #[arg(long, default_value = "60s")]
    pub duration: String,
    /// Runs of each mix.
    #[arg(long, default_value_t = 2)]
    pub runs: u32,
    /// The jury's desk in the data: this many open reports (four per video, so at least a
    /// quarter as many players), one video in fifty hidden by staff, a closed and frozen round
    /// and an open one. The `staff` mix (the moderation queue, as a staff member) needs it.
    #[arg(long)]
    pub jury: Option<u32>,
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
    /// Instead: the demo data set of the dev database (eight players with real clips rendered by
    /// the worker, fans and votes), made through the API; nothing is dropped, and nothing is
    /// added when the showcase already has videos.
    #[arg(long, conflicts_with_all = ["players", "votes", "database"])]
    pub demo: bool,
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
    /// Also run Vite's dev server on 5173 with hot reload of the web app, proxying the API.
    #[arg(long)]
    pub web: bool,
    /// Do not add the demo data set when the showcase is empty (`cargo xtask seed --demo`).
    #[arg(long)]
    pub no_demo: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and clippy (for quick iterations; CI never skips them).
    #[arg(long)]
    pub skip_lint: bool,
    /// What to run between edits: unit and fast end-to-end tests (nextest profile `quick`, see
    /// `.config/nextest.toml`), then the web app's unit tests (Vitest); no lints, images,
    /// deploys, load tests, clip rendering or browser tests.
    #[arg(long, conflicts_with = "web_only")]
    pub quick: bool,
    /// Only the web app's checks, its browser tests and the contract tests (no cargo tests).
    #[arg(long)]
    pub web_only: bool,
    /// Only run tests whose name contains one of these filters (passed to cargo-nextest); the
    /// web suite then runs only with `--web-only`.
    pub filters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The course's web mix (`loadtests/web.js`): smoke, ramp to --vus, hold.
    Web,
    /// Bursts of real MP4 uploads (`loadtests/uploads.js`) that fill the queue.
    Uploads,
    /// Stored videos whose jobs go straight into the queue; videos per minute until it drains.
    Worker,
}

#[derive(Debug, Args)]
pub struct LoadtestArgs {
    #[arg(long, value_enum, default_value = "web")]
    pub scenario: Scenario,
    /// Run against this deployed stack (its API URL; its ECS services and SQS queues sampled).
    #[arg(long, value_name = "STACK", conflicts_with = "local")]
    pub target: Option<String>,
    /// Run against this base URL (only k6's own figures are sampled, unless --target is given).
    #[arg(long, value_name = "URL", conflicts_with = "local")]
    pub url: Option<String>,
    /// Bring up the local stack (API + worker on PostgreSQL) for the run.
    #[arg(long)]
    pub local: bool,
    /// Peak virtual users (web: the X of the ramp; uploads: uploads per burst).
    #[arg(long)]
    pub vus: Option<u32>,
    /// Total length of the web scenario (its stages scaled to fit, default 9m).
    #[arg(long)]
    pub duration: Option<String>,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// Worker scenario: jobs per run.
    #[arg(long, default_value_t = 8)]
    pub videos: u32,
    /// Uploads and worker scenarios: size of the generated 1080p input, 50 or 100 MB.
    #[arg(long, default_value_t = 50)]
    pub size: u32,
    /// Worker scenario, --local: WORKER_CONCURRENCY of each run.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub concurrency: Vec<usize>,
    /// Cargo profile of the local binaries (`dev` for quick checks; figures need `release`).
    #[arg(long, default_value = "release")]
    pub cargo_profile: String,
    /// Where result folders go (default: results/ in the workspace).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// How to reach the --target stack.
    #[command(flatten)]
    pub connection: AwsConnection,
}
