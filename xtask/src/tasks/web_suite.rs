//! The web app's suite: its checks and unit tests, then the tests that need the whole product
//! running as `cargo xtask dev` runs it: Playwright in Chromium through the web app, and
//! Schemathesis against the API document. One private stack (its own database, storage and port)
//! serves both, then stops.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::cmd;
use crate::console;
use crate::env::postgres::Postgres;
use crate::env::product::{Options, Product, fresh_run_dirs};
use crate::env::{mail, venv, web};

/// The stack's database: one per run (two checkouts may test at once), dropped after it.
fn database() -> String {
    format!("rs_browser_{}", std::process::id())
}

/// Web checks, unit tests and the build, then both suites against one stack; each part's duration
/// goes to `timings`, whatever the outcome.
pub async fn run(
    postgres: &Postgres,
    timings: &mut Vec<(&'static str, std::time::Duration)>,
) -> anyhow::Result<()> {
    let lap = Instant::now();
    web::check()?;
    timings.push(("web checks", lap.elapsed()));
    let lap = Instant::now();
    web::unit_tests()?;
    timings.push(("web unit tests", lap.elapsed()));
    let lap = Instant::now();
    let build = web::ensure_built()?;
    timings.push(("web build", lap.elapsed()));

    let lap = Instant::now();
    let database = database();
    postgres.drop_database(&database).await?;
    // Both suites write under `<target>/xtask/web-suite`; `web/test-results` holds Playwright's
    // own output.
    let dirs = fresh_run_dirs("web-suite")?;
    let logs = dirs.logs.clone();
    let options = Options {
        port: cmd::free_port()?,
        database: database.clone(),
        storage: Some(dirs.storage.clone()),
        // Verification is on, as shipped: the tests read their links from this folder.
        mail: Some(dirs.mail.clone()),
        cargo_profile: "dev".to_owned(),
        api: true,
        api_env: vec![
            ("WEB_DIR".to_owned(), build.display().to_string()),
            // Every test signs up from 127.0.0.1: the per-client limits would stop the suite,
            // while the per-email limit (the one the throttle test meets) stays as shipped.
            ("SIGNUP_MAX_PER_CLIENT".to_owned(), "100000".to_owned()),
            (
                "LOGIN_MAX_FAILURES_PER_CLIENT".to_owned(),
                "100000".to_owned(),
            ),
            // Low enough that `crowd.spec.ts` (run last) spends it quickly and votes past it
            // through the ALTCHA widget, high enough that every other spec stays under it (they
            // cast about a dozen votes: journey 2, refusals 2, verification 4, moderation 4; an
            // unverified account's vote is refused before it counts).
            ("VOTE_MAX_PER_NETWORK_PER_HOUR".to_owned(), "40".to_owned()),
            // The resend test asks twice; the wait between is seconds, not the shipped minute.
            (
                "EMAIL_VERIFICATION_RESEND_SECONDS".to_owned(),
                "5".to_owned(),
            ),
        ],
        worker_env: vec![("WORKER_POLL_WAIT_SECONDS".to_owned(), "1".to_owned())],
        log_dir: Some(logs.clone()),
    };
    let product = Product::start(&options).await?;
    console::note(format!("stack logs: {}", logs.display()));
    console::note(format!("stack mail: {}", dirs.mail.display()));
    let staff = browser_staff(&product, &dirs.mail).await?;
    let browser = web::browser_tests(&product.base_url, &dirs.mail, &staff);
    timings.push(("browser tests", lap.elapsed()));
    let lap = Instant::now();
    let token = player_token(&product.base_url, Some(&dirs.mail)).await?;
    let contract = contract_tests(&product, &token).await;
    // Both ways, as the course's clients may meet it: again on an API with verification off
    // (`EMAIL_VERIFICATION=off`, for a classroom), as an account that never verified; that one
    // is staff, so the jury's operations get their real answers too (the first run's player
    // meets their 403).
    console::note("the contract tests again, with e-mail verification off");
    let unverified = without_verification(&options).await;
    let contract = match unverified {
        Ok(other) => {
            let token = staff_token(&other).await?;
            let outcome = contract_tests(&other, &token).await;
            other.stop().await;
            contract.and(outcome)
        }
        Err(error) => contract.and(Err(error)),
    };
    timings.push(("contract tests (verification on, then off)", lap.elapsed()));
    product.stop().await;
    postgres.drop_database(&database).await?;
    browser.and(contract)
}

/// A second API (and worker) like the suite's (`suite`: same database, files, mail and settings),
/// with e-mail verification off.
async fn without_verification(suite: &Options) -> anyhow::Result<Product> {
    let mut api_env = suite.api_env.clone();
    api_env.push(("EMAIL_VERIFICATION".to_owned(), "off".to_owned()));
    Product::start(&Options {
        port: cmd::free_port()?,
        api_env,
        log_dir: suite
            .log_dir
            .as_ref()
            .map(|logs| logs.join("verification-off")),
        ..suite.clone()
    })
    .await
}

/// The Schemathesis package, pinned.
const SCHEMATHESIS: venv::Tool = venv::Tool {
    requirement: "schemathesis==4.32.5",
    program: "schemathesis",
    purpose: "the API contract tester",
};

/// Schemathesis with every check (see `tests/contract/schemathesis.toml`), as the player whose
/// `token` it is, on a published video of the browser tests.
async fn contract_tests(product: &Product, token: &str) -> anyhow::Result<()> {
    let base_url = product.base_url.as_str();
    let program = venv::ensure(&SCHEMATHESIS)?;
    let video: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM videos WHERE published_at IS NOT NULL ORDER BY uploaded_at LIMIT 1",
    )
    .fetch_optional(&product.pool)
    .await?
    .context("the browser tests left no published video for the contract tests")?;
    console::step(format!(
        "Contract tests: Schemathesis, every check, against {base_url}/openapi.json"
    ));
    let config = cmd::workspace_root().join("tests/contract/schemathesis.toml");
    cmd::run(
        std::process::Command::new(program)
            .arg("--config-file")
            .arg(config)
            // Not `--checks all`: the command line would override the per-operation settings.
            .args(["run", "--workers", "2", "--max-examples", "25"])
            .args(["--generation-deterministic", "--no-color"])
            .arg(format!("{base_url}/openapi.json"))
            .env("SCHEMATHESIS_TOKEN", token)
            .env("SCHEMATHESIS_VIDEO_ID", video.to_string())
            .current_dir(cmd::target_dir().join("xtask").join("web-suite")),
    )
}

/// A new staff member's access token: a player signed up through the API, made staff by the
/// operator's command (`platform::staff::grant`), then logged in for a token with the role.
async fn staff_token(product: &Product) -> anyhow::Result<String> {
    let email = format!("jurado-{}@example.com", uuid::Uuid::new_v4().simple());
    sign_up(&product.base_url, &email, None).await?;
    let actor = platform::audit::Actor::Operator;
    platform::staff::grant(&product.pool, &email, &actor, "contract tests as staff").await?;
    log_in(&product.base_url, &email).await
}

/// The browser tests' staff member: signed up and verified through the API like any player, then
/// made staff by the operator's command (`platform::staff::grant`), as an operator would.
async fn browser_staff(product: &Product, mail: &Path) -> anyhow::Result<web::StaffLogin> {
    let email = format!("jurado-web-{}@example.com", uuid::Uuid::new_v4().simple());
    sign_up(&product.base_url, &email, Some(mail)).await?;
    let actor = platform::audit::Actor::Operator;
    platform::staff::grant(
        &product.pool,
        &email,
        &actor,
        "browser tests of the jury's desk",
    )
    .await?;
    Ok(web::StaffLogin {
        email,
        password: PASSWORD.to_owned(),
    })
}

/// A new player's access token, through the API like any client: signup, the link mailed to
/// `mail` followed when one is given (so the player's votes count where verification is on),
/// login.
async fn player_token(base_url: &str, mail: Option<&Path>) -> anyhow::Result<String> {
    let email = format!("contrato-{}@example.com", uuid::Uuid::new_v4().simple());
    sign_up(base_url, &email, mail).await?;
    log_in(base_url, &email).await
}

/// The contract accounts' password.
const PASSWORD: &str = "contrato-contrato";

/// Signs up `email`, and follows the link mailed to `mail` when one is given.
async fn sign_up(base_url: &str, email: &str, mail: Option<&Path>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let signup = client
        .post(format!("{base_url}/api/auth/signup"))
        .json(&serde_json::json!({
            "first_name": "Contrato", "last_name": "Pruebas", "email": email,
            "password1": PASSWORD, "password2": PASSWORD, "city": "Cali", "country": "Colombia",
        }))
        .send()
        .await?;
    anyhow::ensure!(signup.status() == 201, "signup: {}", signup.text().await?);
    if let Some(mail) = mail {
        mail::verify_address(&client, base_url, mail, email).await?;
    }
    Ok(())
}

/// Logs `email` in; its access token.
async fn log_in(base_url: &str, email: &str) -> anyhow::Result<String> {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{base_url}/api/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    login["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("login answered without access_token")
}
