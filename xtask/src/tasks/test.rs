//! `cargo xtask test`: every check, with every service it needs started here and stopped after.

use std::process::Command;
use std::time::Instant;

use anyhow::bail;

use crate::cmd::{self, cargo};
use crate::console;
use crate::env::postgres::Postgres;
use crate::env::{apt, moto, registry_server};
use crate::flags::{SynthArgs, TestArgs};

pub async fn run(args: TestArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut timings = Vec::new();

    apt::ensure(&[apt::BUILD, apt::TEST].concat())?;

    if !args.skip_lint && !args.quick {
        let lap = Instant::now();
        console::step("Formatting: cargo fmt --check");
        cmd::run(cargo().args(["fmt", "--all", "--check"]))?;
        console::step("Lints: cargo clippy, warnings denied");
        cmd::run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ]))?;
        crate::tasks::deploy::synth(SynthArgs {
            stack: "rising-stars".to_owned(),
            params: Vec::new(),
            no_lint: false,
        })?;
        timings.push(("formatting, lints, template", lap.elapsed()));
    }

    ensure_nextest()?;
    let lap = Instant::now();
    let postgres = Postgres::ensure().await?;
    drop_stale_test_databases(&postgres).await?;
    let moto = moto::start().await?;
    // Only the image and deploy tests push anywhere; the quick tier runs neither.
    let registry = match args.quick {
        true => None,
        false => Some(registry_server::start().await?),
    };
    timings.push(("services", lap.elapsed()));

    let lap = Instant::now();
    console::step("Building every target (the end-to-end tests start the real binaries)");
    cmd::run(cargo().args(["build", "--workspace", "--all-targets", "--quiet"]))?;
    // Before the tests: the image tests put it in the API image.
    if !args.quick {
        crate::env::web::ensure_built()?;
    }
    timings.push(("build", lap.elapsed()));

    let lap = Instant::now();
    let mut tests = cargo();
    tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    if args.quick {
        tests.args(["--profile", "quick"]);
    }
    tests
        .args(&args.filters)
        .env("TEST_DATABASE_URL", postgres.url("postgres"))
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        // Throw-away credentials: nothing in a test run can reach real AWS.
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(registry) = &registry {
        tests
            .env("REGISTRY_URL", &registry.url)
            .env("REGISTRY_USERNAME", &registry.username)
            .env("REGISTRY_PASSWORD", &registry.password);
    }
    let mut outcome = if args.web_only {
        Ok(())
    } else {
        console::step(match args.quick {
            true => {
                "Tests, quick tier: unit, conformance and fast end-to-end (cargo nextest --profile quick)"
            }
            false => "Tests: unit, conformance and end-to-end (cargo nextest)",
        });
        let outcome = cmd::run(&mut tests);
        timings.push(("tests", lap.elapsed()));
        outcome
    };
    // The web app's checks, browser tests and contract tests: always in a full run; with
    // filters only when asked for (`--web-only`).
    if ((args.filters.is_empty() && !args.quick) || args.web_only)
        && let Err(error) = crate::tasks::web_suite::run(&postgres, &mut timings).await
    {
        eprintln!("\nxtask: web suite: {error:#}");
        outcome = outcome.and(Err(error));
    }

    console::step("Summary");
    for (what, took) in &timings {
        console::note(format!("{what:<22} {:>6.1} s", took.as_secs_f64()));
    }
    console::note(format!(
        "{:<22} {:>6.1} s",
        "total",
        started.elapsed().as_secs_f64()
    ));
    drop(registry);
    drop(moto);
    drop(postgres);
    outcome
}

/// cargo-nextest runs each test in its own process (so memory readings are per test).
fn ensure_nextest() -> anyhow::Result<()> {
    let installed = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return Ok(());
    }
    console::step("Installing cargo-nextest (the test runner; runs each test in its own process)");
    cmd::run(cargo().args(["install", "cargo-nextest", "--locked"]))?;
    if !Command::new("cargo")
        .args(["nextest", "--version"])
        .status()?
        .success()
    {
        bail!("cargo-nextest is still not available after installing it");
    }
    Ok(())
}

/// Leftovers of interrupted runs: per-test databases and templates of older migrations.
async fn drop_stale_test_databases(postgres: &Postgres) -> anyhow::Result<()> {
    let current = format!("rs_template_{}", showcase::db::migrations_fingerprint());
    let mut stale = postgres.databases_like("rs_template_").await?;
    stale.retain(|name| *name != current);
    stale.extend(postgres.databases_like("rs_building_").await?);
    for name in stale {
        console::note(format!("dropping stale test database {name}"));
        postgres.drop_database(&name).await?;
    }
    Ok(())
}
