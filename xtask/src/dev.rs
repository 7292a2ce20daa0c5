//! `cargo xtask dev`: the product on this machine, on its embedded defaults, until Ctrl-C.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::cmd::{self, cargo};
use crate::flags::DevArgs;
use crate::postgres::Postgres;

/// The database the dev stack uses (the app's default `DATABASE_URL` names it too).
const DATABASE: &str = "rising_stars";

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    crate::apt::ensure(crate::apt::BUILD)?;
    let postgres = Postgres::ensure().await?;
    let database_url = postgres.url(DATABASE);
    cmd::step("Applying migrations");
    postgres.migrated(DATABASE).await?.close().await;

    cmd::step("Building the binaries");
    cmd::run(cargo().args(["build", "--workspace", "--bins"]))?;

    let base_url = format!("http://127.0.0.1:{}", args.port);
    // Both binaries run from the workspace root on their embedded defaults; only what differs
    // here is set: the link base, readable logs, and a private cluster's address.
    let binary = |name: &str| {
        let mut command = Command::new(cmd::target_dir().join("debug").join(name));
        command
            .current_dir(cmd::workspace_root())
            .env("PUBLIC_BASE_URL", &base_url)
            .env(
                "LOG_FORMAT",
                std::env::var("LOG_FORMAT").unwrap_or_else(|_| "text".to_owned()),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if postgres.is_private() {
            command.env("DATABASE_URL", &database_url);
        }
        command
    };

    cmd::step(format!("Starting the API on {base_url}"));
    let mut api = binary("rising-stars-api")
        .env("LISTEN_ADDR", format!("127.0.0.1:{}", args.port))
        .spawn()
        .context("cannot start the API")?;
    wait_until_healthy(&mut api, &base_url).await?;

    cmd::step("Starting the worker");
    let mut worker = binary("rising-stars-worker")
        .spawn()
        .context("cannot start the worker")?;

    cmd::step("Rising Stars is running");
    cmd::note(format!("API:          {base_url}"));
    cmd::note(format!("API docs:     {base_url}/docs"));
    cmd::note(format!("OpenAPI:      {base_url}/openapi.json"));
    cmd::note(format!(
        "Storage:      {}",
        cmd::workspace_root().join("target/dev/storage").display()
    ));
    cmd::note(format!("Database:     {database_url}"));
    cmd::note("Queue:        PostgreSQL table queue_messages; one worker processing jobs");
    cmd::note("Press Ctrl-C to stop.");

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        status = api.wait() => {
            stop(&mut worker, "worker").await;
            bail!("the API stopped on its own ({})", status?)
        }
        status = worker.wait() => {
            stop(&mut api, "API").await;
            bail!("the worker stopped on its own ({})", status?)
        }
    }
    cmd::step("Stopping");
    stop(&mut worker, "worker").await;
    stop(&mut api, "API").await;
    drop(postgres);
    Ok(())
}

async fn wait_until_healthy(api: &mut Child, base_url: &str) -> anyhow::Result<()> {
    let address = base_url.trim_start_matches("http://");
    for _ in 0..150 {
        if let Some(status) = api.try_wait()? {
            bail!("the API exited during start-up ({status}); its log is above");
        }
        if let Ok(mut stream) = tokio::net::TcpStream::connect(address).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request =
                format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await?;
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            if response.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the API did not answer /health within 30 s")
}

/// SIGTERM first (graceful), then SIGKILL after ten seconds.
async fn stop(child: &mut Child, name: &str) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(_) => cmd::note(format!("{name} stopped")),
        Err(_) => {
            let _ = child.kill().await;
            cmd::note(format!("{name} killed after 10 s"));
        }
    }
}
