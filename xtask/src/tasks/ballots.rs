//! `cargo xtask bench ballots`: the ballot-stuffing simulation against the real API.
//!
//! Honest fans (verified accounts a month old, spread over many networks, a crowd of them behind
//! one shared address) vote for players at a person's pace while an attacker with its own IPv6
//! /64s and IPv4 addresses scripts signups, verifies them through its catch-all mailbox (the API's
//! mail folder), logs in and votes for one player. It reports what the public ranking counted of
//! each, what the proofs of work cost, and the votes' latency. Defaults as the API ships them:
//! only `CLIENT_ADDRESS_HEADER` is set, so each request can come from the network it says.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::cmd;
use crate::console::{self, Align::Left, Align::Right};
use crate::env::postgres::Postgres;
use crate::flags::BallotsArgs;

/// The token secret the simulation's API signs with, so honest fans' tokens can be made here
/// (their logins are not what is measured).
const JWT_SECRET: &str = "ballots-simulation-secret-0123456789abcdef";

/// The player the attacker buys votes for: a mid-table one.
const TARGET_PLAYER: i64 = 25;

/// Where the shared crowd's address is (CGNAT space: a carrier's NAT).
const SHARED_ADDRESS: &str = "100.64.0.1";

/// What the simulation measured (also written as JSON with `--out`).
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub honest_voters: u32,
    pub shared_address_voters: u32,
    pub honest_votes_cast: u64,
    pub honest_votes_held: u64,
    pub honest_votes_failed: u64,
    pub honest_proofs: u64,
    pub honest_proof_cpu_seconds: f64,
    pub attack_networks: u32,
    /// The attacker's accounts waited two days before voting.
    pub patient: bool,
    pub fake_accounts: u64,
    pub fake_votes_attempted: u64,
    pub fake_votes_counted: u64,
    pub fake_votes_held: u64,
    pub attacker_proofs: u64,
    pub attacker_proof_cpu_seconds: f64,
    pub attacker_proof_cpu_seconds_per_counted_vote: f64,
    /// The target's votes in the public ranking, and how many of them are honest fans'.
    pub target_public_votes: i64,
    pub target_honest_votes: i64,
    pub vote_p50_ms: f64,
    pub vote_p95_ms: f64,
    pub vote_p99_ms: f64,
    pub seconds: f64,
}

impl Report {
    pub fn fake_counted_percent(&self) -> f64 {
        percent(self.fake_votes_counted, self.fake_votes_attempted)
    }

    pub fn honest_held_percent(&self) -> f64 {
        percent(self.honest_votes_held, self.honest_votes_cast)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    part as f64 * 100.0 / whole as f64
}

pub async fn run(args: BallotsArgs) -> anyhow::Result<()> {
    let binary = match args.debug {
        true => {
            let binary = cmd::target_dir().join("debug").join("rising-stars-api");
            anyhow::ensure!(
                binary.exists(),
                "{} is not built (cargo build -p app)",
                binary.display()
            );
            binary
        }
        false => cmd::release_binary("app", "rising-stars-api")?,
    };
    let postgres = Postgres::ensure().await?;
    let database = format!("rs_ballots_{}", std::process::id());
    postgres.drop_database(&database).await?;
    postgres.migrated(&database).await?.close().await;
    let url = postgres.url(&database);
    let outcome = simulate(&args, &binary, &url).await;
    postgres.drop_database(&database).await?;
    let report = outcome?;
    show(&report);
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&report)?)?;
        console::note(format!("report: {}", out.display()));
    }
    Ok(())
}

async fn simulate(args: &BallotsArgs, binary: &Path, url: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut db = PgConnection::connect(url).await?;
    console::step(format!(
        "Seeding {} players with a published video and {} honest fans (verified, a month old, \
         each signed up at home)",
        args.players, args.honest
    ));
    super::seed::players_with_videos(&mut db, i64::from(args.players)).await?;
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, city, country,
                            created_at, email_verified_at, signup_network)
         SELECT md5('fan-' || i)::uuid, 'fan' || i || '@fans.test', '!', 'Hincha', 'Número ' || i,
                'Cali', 'Colombia', now() - interval '30 days', now() - interval '29 days',
                'home-' || i
         FROM generate_series(0, $1 - 1) AS i",
    )
    .bind(i64::from(args.honest))
    .execute(&mut db)
    .await?;
    platform::videos::bulk::rank_seeded(&mut db).await?;

    let mail = cmd::target_dir().join("xtask").join("ballots-mail");
    let _ = std::fs::remove_dir_all(&mail);
    std::fs::create_dir_all(&mail)?;
    let storage = tempfile::tempdir()?;
    let port = cmd::free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let log = cmd::target_dir().join("xtask").join("ballots-api.log");
    console::step(format!(
        "Starting the API on {base_url} (log: {})",
        log.display()
    ));
    let mut api = cmd::spawn(
        tokio::process::Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", url)
            .env("STORAGE_URL", format!("file:{}", storage.path().display()))
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_BASE_URL", &base_url)
            .env("JWT_SECRET", JWT_SECRET)
            .env("URL_SIGNING_SECRET", JWT_SECRET)
            .env("MAIL_URL", format!("file:{}", mail.display()))
            .env("CLIENT_ADDRESS_HEADER", "CloudFront-Viewer-Address")
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?),
    )?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    wait_healthy(&http, &base_url).await?;

    // The seeded ids, by index (md5 of the name as uuid).
    let ids = |prefix: &str, count: u32| {
        sqlx::query_scalar::<_, Uuid>(
            "SELECT md5($1 || i)::uuid FROM generate_series(0, $2 - 1) AS i ORDER BY i",
        )
        .bind(prefix.to_owned())
        .bind(i64::from(count))
    };
    let videos = ids("video-", args.players).fetch_all(&mut db).await?;
    let fans = ids("fan-", args.honest).fetch_all(&mut db).await?;
    let target_video = *videos
        .get(usize::try_from(TARGET_PLAYER)?)
        .context("--players must be more than the target's index")?;
    let world = Arc::new(World {
        http,
        base_url: base_url.clone(),
        tally: Mutex::default(),
        mailbox: Mailbox::new(mail),
        solver: Solver::start(),
    });
    console::step(format!(
        "Voting: {} honest fans ({} behind {SHARED_ADDRESS}), {} votes each over {} s, while an \
         attacker signs up {} accounts on each of {} networks",
        args.honest,
        args.shared,
        args.votes_each,
        args.seconds,
        args.accounts_per_network,
        args.attack_networks
    ));
    let honest = tokio::spawn(honest_fans(world.clone(), args.clone(), fans, videos));
    let attack = tokio::spawn(attacker(
        world.clone(),
        args.clone(),
        target_video,
        url.to_owned(),
    ));
    honest.await??;
    attack.await??;
    // Every instance shows a vote within a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let public: serde_json::Value = world
        .http
        .get(format!("{base_url}/api/public/videos/{target_video}"))
        .send()
        .await?
        .json()
        .await?;
    cmd::terminate(&mut api, "the API").await;

    let mut tally = std::mem::take(
        &mut *world
            .tally
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?,
    );
    tally.latencies.sort_unstable();
    let quantile = |q: f64| -> f64 {
        let latencies = &tally.latencies;
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    let fake_votes_counted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM votes v JOIN users u ON u.id = v.user_id
         WHERE u.email LIKE '%@catchall.example' AND v.state = 'counted'",
    )
    .fetch_one(&mut db)
    .await?;
    let honest_held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM votes v JOIN users u ON u.id = v.user_id
         WHERE u.email LIKE '%@fans.test' AND v.state = 'held'",
    )
    .fetch_one(&mut db)
    .await?;
    let target_honest_votes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM votes v JOIN users u ON u.id = v.user_id
         WHERE u.email LIKE '%@fans.test' AND v.state = 'counted' AND v.video_id = $1",
    )
    .bind(target_video)
    .fetch_one(&mut db)
    .await?;
    let fake_counted = u64::try_from(fake_votes_counted).unwrap_or_default();
    Ok(Report {
        honest_voters: args.honest,
        shared_address_voters: args.shared,
        honest_votes_cast: tally.honest_cast,
        honest_votes_held: u64::try_from(honest_held).unwrap_or_default(),
        honest_votes_failed: tally.honest_failed,
        honest_proofs: tally.honest_proofs,
        honest_proof_cpu_seconds: tally.honest_proof_cpu.as_secs_f64(),
        attack_networks: args.attack_networks,
        patient: args.patient,
        fake_accounts: tally.fake_accounts,
        fake_votes_attempted: tally.fake_attempted,
        fake_votes_counted: fake_counted,
        fake_votes_held: tally.fake_held,
        attacker_proofs: tally.attacker_proofs,
        attacker_proof_cpu_seconds: tally.attacker_proof_cpu.as_secs_f64(),
        attacker_proof_cpu_seconds_per_counted_vote: tally.attacker_proof_cpu.as_secs_f64()
            / fake_counted.max(1) as f64,
        target_public_votes: public["votes"].as_i64().unwrap_or_default(),
        target_honest_votes,
        vote_p50_ms: quantile(0.50),
        vote_p95_ms: quantile(0.95),
        vote_p99_ms: quantile(0.99),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn show(report: &Report) {
    let rows = [
        [
            "fake votes counted publicly".to_owned(),
            format!(
                "{} of {} attempted ({:.1} %)",
                report.fake_votes_counted,
                report.fake_votes_attempted,
                report.fake_counted_percent()
            ),
        ],
        [
            "honest votes held".to_owned(),
            format!(
                "{} of {} ({:.2} %)",
                report.honest_votes_held,
                report.honest_votes_cast,
                report.honest_held_percent()
            ),
        ],
        [
            "attacker's proof of work".to_owned(),
            format!(
                "{} proofs, {:.1} CPU s, {:.2} CPU s per counted vote",
                report.attacker_proofs,
                report.attacker_proof_cpu_seconds,
                report.attacker_proof_cpu_seconds_per_counted_vote
            ),
        ],
        [
            "shared address's proof of work".to_owned(),
            format!(
                "{} proofs, {:.1} CPU s",
                report.honest_proofs, report.honest_proof_cpu_seconds
            ),
        ],
        [
            "honest vote latency".to_owned(),
            format!(
                "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
                report.vote_p50_ms, report.vote_p95_ms, report.vote_p99_ms
            ),
        ],
        [
            "honest votes failed".to_owned(),
            report.honest_votes_failed.to_string(),
        ],
        ["took".to_owned(), format!("{:.0} s", report.seconds)],
    ];
    console::block(console::markdown_table(
        &[("measure", Left), ("value", Right)],
        &rows,
    ));
}

async fn wait_healthy(http: &reqwest::Client, base_url: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(response) = http.get(format!("{base_url}/health")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the API did not answer /health within 30 s")
}

/// What every simulated client shares.
struct World {
    http: reqwest::Client,
    base_url: String,
    tally: Mutex<Tally>,
    mailbox: Mailbox,
    solver: Solver,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    honest_cast: u64,
    honest_failed: u64,
    honest_proofs: u64,
    honest_proof_cpu: Duration,
    fake_accounts: u64,
    fake_attempted: u64,
    fake_held: u64,
    attacker_proofs: u64,
    attacker_proof_cpu: Duration,
}

impl World {
    fn record(&self, change: impl FnOnce(&mut Tally)) {
        if let Ok(mut tally) = self.tally.lock() {
            change(&mut tally);
        }
    }

    /// Sends `request` (built anew for each try) from `address`; a 429 with a challenge is
    /// solved and the request sent again with the proof (`honest` says whose CPU it was); a 503
    /// is tried again after a second. Returns the last answer and the time its request took.
    async fn send(
        &self,
        address: &str,
        honest: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<(reqwest::StatusCode, serde_json::Value, Duration)> {
        let viewer = format!("[{address}]:443");
        let mut proof: Option<String> = None;
        for _ in 0..8 {
            let mut request = build(&self.http).header("CloudFront-Viewer-Address", &viewer);
            if let Some(proof) = &proof {
                request = request.header("Altcha", proof);
            }
            let sent = Instant::now();
            let response = request.send().await?;
            let took = sent.elapsed();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            match status.as_u16() {
                429 if body["challenge"].is_object() => {
                    let (header, cpu) = self.solver.solve(body["challenge"].clone()).await?;
                    self.record(|tally| match honest {
                        true => {
                            tally.honest_proofs += 1;
                            tally.honest_proof_cpu += cpu;
                        }
                        false => {
                            tally.attacker_proofs += 1;
                            tally.attacker_proof_cpu += cpu;
                        }
                    });
                    proof = Some(header);
                }
                503 => tokio::time::sleep(Duration::from_secs(1)).await,
                _ => return Ok((status, body, took)),
            }
        }
        anyhow::bail!("still refused after eight tries from {address}")
    }
}

/// The clients' proof-of-work solving, on one thread: in the world the clients' CPUs are their
/// own; here they share the API's machine, so they get one core at most. Each solution comes
/// with the CPU time it took (the thread's own clock).
struct Solver {
    requests: std::sync::mpsc::Sender<SolveRequest>,
}

/// A challenge, and where its solution (the header value and the CPU it took) goes.
type SolveRequest = (
    serde_json::Value,
    tokio::sync::oneshot::Sender<Option<(String, Duration)>>,
);

impl Solver {
    fn start() -> Self {
        let (requests, queue) = std::sync::mpsc::channel::<SolveRequest>();
        std::thread::spawn(move || {
            for (challenge, answer) in queue {
                let before = thread_cpu();
                let solution = testkit::proof::solve(&challenge);
                let cpu = thread_cpu().saturating_sub(before);
                let _ = answer.send(solution.map(|solution| (solution.header, cpu)));
            }
        });
        Self { requests }
    }

    async fn solve(&self, challenge: serde_json::Value) -> anyhow::Result<(String, Duration)> {
        let (answer, solved) = tokio::sync::oneshot::channel();
        self.requests
            .send((challenge, answer))
            .map_err(|_| anyhow::anyhow!("the solver thread stopped"))?;
        solved.await?.context("a challenge without a solution")
    }
}

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

/// A small deterministic generator (SplitMix64), so every run makes the same fans and choices.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The address an honest fan votes from: the crowd's shared one, or a network of its own (half
/// IPv6 /64s, half IPv4 addresses).
fn honest_address(fan: u32, shared: u32) -> String {
    if fan < shared {
        return SHARED_ADDRESS.to_owned();
    }
    match fan % 2 {
        0 => format!("2001:db8:{:x}:{:x}::1", 0x1000 + (fan >> 16), fan & 0xffff),
        _ => format!(
            "10.{}.{}.{}",
            (fan >> 16) & 0xff,
            (fan >> 8) & 0xff,
            fan & 0xff
        ),
    }
}

/// Each fan votes for `votes_each` distinct players, more often the popular ones (Zipf, s = 0.8),
/// at random moments of the run.
async fn honest_fans(
    world: Arc<World>,
    args: BallotsArgs,
    fans: Vec<Uuid>,
    videos: Vec<Uuid>,
) -> anyhow::Result<()> {
    let mut random = Random(0x5EED);
    let weights: Vec<f64> = (1..=args.players)
        .map(|rank| 1.0 / f64::from(rank).powf(0.8))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut events = Vec::new();
    for fan in 0..args.honest {
        let mut chosen = Vec::new();
        while chosen.len() < args.votes_each.min(args.players) as usize {
            let mut pick = random.unit() * total;
            let player = weights
                .iter()
                .position(|weight| {
                    pick -= weight;
                    pick <= 0.0
                })
                .unwrap_or(weights.len() - 1);
            if !chosen.contains(&player) {
                chosen.push(player);
            }
        }
        for player in chosen {
            let at = Duration::from_secs_f64(random.unit() * args.seconds as f64);
            events.push((at, fan, player));
        }
    }
    events.sort_unstable();
    let tokens = TokenMaker::new();
    let in_flight = Arc::new(Semaphore::new(64));
    let began = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (at, fan, player) in events {
        tokio::time::sleep_until(began + at).await;
        let permit = in_flight.clone().acquire_owned().await?;
        let world = world.clone();
        let token = tokens.issue(fans[fan as usize])?;
        let address = honest_address(fan, args.shared);
        let video = videos[player];
        tasks.spawn(async move {
            let _permit = permit;
            let url = format!("{}/api/public/videos/{video}/vote", world.base_url);
            let answer = world
                .send(&address, true, |http| http.post(&url).bearer_auth(&token))
                .await;
            world.record(|tally| match answer {
                Ok((status, _, took)) if status.is_success() => {
                    tally.honest_cast += 1;
                    tally.latencies.push(took);
                }
                _ => tally.honest_failed += 1,
            });
        });
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(())
}

/// The attacker's `network`-th of `networks` networks: the first half IPv6 /64s (it rotates
/// addresses inside each), the rest IPv4 addresses, ten to a /24.
fn attack_address(network: u32, networks: u32, account: u32) -> String {
    let ipv6 = networks.div_ceil(2);
    if network < ipv6 {
        return format!("2001:db8:bad:{network:x}::{:x}", account + 1);
    }
    let v4 = network - ipv6;
    format!("198.{}.{}.{}", 18 + v4 / 2560, (v4 / 10) % 256, 1 + v4 % 10)
}

/// Every network signs up its accounts one after another (paying proofs of work when asked),
/// verifies each through the catch-all mailbox and logs in; each votes for the target at once,
/// or (`--patient`) all of them after their accounts are dated two days back.
async fn attacker(
    world: Arc<World>,
    args: BallotsArgs,
    target: Uuid,
    db_url: String,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for network in 0..args.attack_networks {
        let world = world.clone();
        let (accounts, networks, patient) = (
            args.accounts_per_network,
            args.attack_networks,
            args.patient,
        );
        tasks.spawn(async move {
            let mut ready = Vec::new();
            for account in 0..accounts {
                let address = attack_address(network, networks, account);
                match fake_account(&world, &address, network, account).await {
                    Ok(token) if patient => ready.push((address, token)),
                    Ok(token) => fake_vote(&world, &address, &token, target).await,
                    Err(error) => console::note(format!("attacker {address}: {error:#}")),
                }
            }
            ready
        });
    }
    let mut waiting = Vec::new();
    while let Some(done) = tasks.join_next().await {
        waiting.extend(done?);
    }
    if args.patient {
        let mut db = PgConnection::connect(&db_url).await?;
        sqlx::query(
            "UPDATE users SET created_at = created_at - interval '2 days'
             WHERE email LIKE '%@catchall.example'",
        )
        .execute(&mut db)
        .await?;
        console::note(format!(
            "the attacker's {} accounts waited two days; now they vote",
            waiting.len()
        ));
        for (address, token) in waiting {
            fake_vote(&world, &address, &token, target).await;
        }
    }
    Ok(())
}

/// A new verified account on `address`'s network; its access token.
async fn fake_account(
    world: &World,
    address: &str,
    network: u32,
    account: u32,
) -> anyhow::Result<String> {
    let email = format!("bot{network}x{account}@catchall.example");
    let password = "bot-password-123";
    let url = |path: &str| format!("{}{path}", world.base_url);
    let signup = serde_json::json!({
        "first_name": "Bot", "last_name": format!("{network}-{account}"), "email": email,
        "password1": password, "password2": password, "city": "Cali", "country": "Colombia",
    });
    let (status, body, _) = world
        .send(address, false, |http| {
            http.post(url("/api/auth/signup")).json(&signup)
        })
        .await?;
    anyhow::ensure!(status == 201, "signup: {status} {body}");
    world.record(|tally| tally.fake_accounts += 1);
    let token = world.mailbox.token_for(&email).await?;
    let verify = serde_json::json!({ "token": token });
    let (status, body, _) = world
        .send(address, false, |http| {
            http.post(url("/api/auth/verify")).json(&verify)
        })
        .await?;
    anyhow::ensure!(status.is_success(), "verify: {status} {body}");
    let login = serde_json::json!({ "email": email, "password": password });
    let (status, body, _) = world
        .send(address, false, |http| {
            http.post(url("/api/auth/login")).json(&login)
        })
        .await?;
    anyhow::ensure!(status == 200, "login: {status} {body}");
    Ok(body["access_token"].as_str().unwrap_or_default().to_owned())
}

/// One fake vote for the target, from `address`.
async fn fake_vote(world: &World, address: &str, token: &str, target: Uuid) {
    world.record(|tally| tally.fake_attempted += 1);
    let url = format!("{}/api/public/videos/{target}/vote", world.base_url);
    match world
        .send(address, false, |http| http.post(&url).bearer_auth(token))
        .await
    {
        Ok((status, body, _)) if status == 200 => {
            if body["status"] == "held" {
                world.record(|tally| tally.fake_held += 1);
            }
        }
        Ok((status, body, _)) => {
            console::note(format!("attacker {address}: vote: {status} {body}"))
        }
        Err(error) => console::note(format!("attacker {address}: vote: {error:#}")),
    }
}

/// The attacker's catch-all mailbox: the API's mail folder, indexed by recipient as messages
/// arrive.
struct Mailbox {
    dir: PathBuf,
    tokens: tokio::sync::Mutex<(HashMap<String, String>, std::collections::HashSet<PathBuf>)>,
}

impl Mailbox {
    fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            tokens: tokio::sync::Mutex::default(),
        }
    }

    /// The verification token mailed to `email`, waiting up to 30 s for the message.
    async fn token_for(&self, email: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let mut guard = self.tokens.lock().await;
                let (tokens, seen) = &mut *guard;
                if let Some(token) = tokens.get(email) {
                    return Ok(token.clone());
                }
                for entry in std::fs::read_dir(&self.dir)?.flatten() {
                    let path = entry.path();
                    if path.extension().is_none_or(|ext| ext != "eml") || seen.contains(&path) {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path)?;
                    if let Some((to, token)) = recipient_and_token(&text) {
                        tokens.insert(to, token);
                    }
                    seen.insert(path);
                }
                if let Some(token) = tokens.get(email) {
                    return Ok(token.clone());
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "no mail for {email} within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The `To:` address and the link's `token` of a mailed message.
fn recipient_and_token(text: &str) -> Option<(String, String)> {
    let to = text
        .lines()
        .find_map(|line| line.strip_prefix("To: "))?
        .trim()
        .to_owned();
    let token = text.split("token=").nth(1)?;
    let token: String = token
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Some((to, token))
}

/// Access tokens for the seeded fans, signed as the API signs them.
struct TokenMaker {
    key: jsonwebtoken::EncodingKey,
}

impl TokenMaker {
    fn new() -> Self {
        Self {
            key: jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        }
    }

    fn issue(&self, fan: Uuid) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({ "sub": fan, "iat": now, "exp": now + 3600 });
        Ok(jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.key,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailed_link_gives_its_recipient_and_token() {
        let text = "From: Rising Stars <no-reply@rising-stars.localhost>\r\nTo: bot1x2@catchall.example\r\n\
                    Subject: x\r\n\r\nAbre http://127.0.0.1:8080/verificar?token=AbC-_9xyz\r\n";
        assert_eq!(
            recipient_and_token(text),
            Some(("bot1x2@catchall.example".to_owned(), "AbC-_9xyz".to_owned()))
        );
    }

    #[test]
    fn the_attackers_networks_are_distinct_and_ipv6_ones_rotate_inside_their_64() {
        assert_eq!(attack_address(0, 40, 0), "2001:db8:bad:0::1");
        assert_eq!(attack_address(0, 40, 9), "2001:db8:bad:0::a");
        assert_eq!(attack_address(20, 40, 0), "198.18.0.1");
        assert_eq!(attack_address(39, 40, 0), "198.18.1.10");
        assert_eq!(attack_address(0, 1, 3), "2001:db8:bad:0::4");
        let all: std::collections::HashSet<_> = (0..200)
            .map(|network| attack_address(network, 200, 0))
            .collect();
        assert_eq!(all.len(), 200);
    }
}
