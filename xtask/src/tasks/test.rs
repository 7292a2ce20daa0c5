//! `cargo xtask test`: every check, with every service it needs started here and stopped after.

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
        ensure_cargo_tool(&MACHETE)?;
        console::step("Dependencies: every declared one is used (cargo machete)");
        cmd::run(cargo().arg("machete"))?;
        ensure_cargo_tool(&DENY)?;
        console::step(
            "Dependencies: licences, duplicates and sources (cargo deny); not advisories, whose \
             database is on GitHub, out of this machine's reach",
        );
        cmd::run(cargo().args(["deny", "--offline", "check", "licenses", "bans", "sources"]))?;
        crate::tasks::deploy::synth(SynthArgs {
            stack: "rising-stars".to_owned(),
            params: Vec::new(),
            no_lint: false,
        })?;
        timings.push(("lints, deps, template", lap.elapsed()));
    }

    ensure_cargo_tool(&NEXTEST)?;
    let lap = Instant::now();
    let postgres = Postgres::ensure().await?;
    drop_stale_test_databases(&postgres).await?;
    let moto = moto::start().await?;
    // The mail test reads what SES sent from moto's state page, which fails for good once the
    // deploy test has made an RDS subnet group there (moto 5 cannot serialise it): mail gets an
    // emulator of its own.
    let mail_moto = moto::start_logging_to("moto-mail.log").await?;
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
        .env("MAIL_AWS_ENDPOINT_URL", &mail_moto.endpoint)
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
    // The web app's unit tier takes seconds: part of the quick loop (without filters, which name
    // cargo tests). A full run has it in the web suite.
    if args.quick && args.filters.is_empty() {
        let lap = Instant::now();
        if let Err(error) = crate::env::web::unit_tests() {
            console::note(format!("web unit tests: {error:#}"));
            outcome = outcome.and(Err(error));
        }
        timings.push(("web unit tests", lap.elapsed()));
    }
    // The web app's checks, unit and browser tests and contract tests: always in a full run; with
    // filters only when asked for (`--web-only`).
    if ((args.filters.is_empty() && !args.quick) || args.web_only)
        && let Err(error) = crate::tasks::web_suite::run(&postgres, &mut timings).await
    {
        console::error(format!("web suite: {error:#}"));
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

/// A cargo subcommand the tests need, installed with `cargo install --locked` when missing.
struct CargoTool {
    /// The crate to install.
    package: &'static str,
    /// `cargo <subcommand>`.
    subcommand: &'static str,
    /// What it is for, for the step line.
    purpose: &'static str,
}

/// cargo-nextest runs each test in its own process (so memory readings are per test).
const NEXTEST: CargoTool = CargoTool {
    package: "cargo-nextest",
    subcommand: "nextest",
    purpose: "the test runner; runs each test in its own process",
};

/// cargo-machete finds dependencies a crate declares and never uses.
const MACHETE: CargoTool = CargoTool {
    package: "cargo-machete",
    subcommand: "machete",
    purpose: "finds dependencies that are declared and never used",
};

/// cargo-deny checks licences, banned or duplicated crates, and sources (see `deny.toml`).
const DENY: CargoTool = CargoTool {
    package: "cargo-deny",
    subcommand: "deny",
    purpose: "checks the dependencies' licences, duplicates and sources",
};

fn ensure_cargo_tool(tool: &CargoTool) -> anyhow::Result<()> {
    let installed = || {
        cargo()
            .args([tool.subcommand, "--version"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if installed() {
        return Ok(());
    }
    console::step(format!("Installing {} ({})", tool.package, tool.purpose));
    cmd::run(cargo().args(["install", tool.package, "--locked"]))?;
    if !installed() {
        bail!(
            "{} is still not available after installing it",
            tool.package
        );
    }
    Ok(())
}

/// Leftovers of interrupted runs: per-test databases and templates of older migrations.
async fn drop_stale_test_databases(postgres: &Postgres) -> anyhow::Result<()> {
    let current = format!("rs_template_{}", platform::db::migrations_fingerprint());
    let mut stale = postgres.databases_like("rs_template_").await?;
    stale.retain(|name| *name != current);
    stale.extend(postgres.databases_like("rs_building_").await?);
    for name in stale {
        console::note(format!("dropping stale test database {name}"));
        postgres.drop_database(&name).await?;
    }
    Ok(())
}
