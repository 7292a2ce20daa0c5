//! Helpers for the end-to-end tests: start the real binaries with a given environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// Where cargo put the workspace binaries (next to this test executable's `deps/` folder).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("cannot locate the target directory")?;
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is not built: run the tests with `cargo xtask test`, which builds every binary first",
        path.display()
    );
    Ok(path)
}

/// A running API process, killed when dropped.
#[derive(Debug)]
pub struct RunningApi {
    pub base_url: String,
    child: Child,
}

impl Drop for RunningApi {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl RunningApi {
    /// Starts `rising-stars-api` on a free loopback port with exactly `env` (plus PATH) and waits
    /// for `/health`.
    pub async fn start(env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(binary("rising-stars-api")?);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_BASE_URL", &base_url)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let client = reqwest::Client::new();
        for _ in 0..150 {
            if let Some(status) = child.try_wait()? {
                bail!("the API exited during start-up: {status}");
            }
            if let Ok(response) = client.get(format!("{base_url}/health")).send().await
                && response.status().is_success()
            {
                return Ok(Self { base_url, child });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the API did not answer /health within 15 s")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// Runs a binary that is expected to stop by itself; returns its exit code and standard error.
pub async fn run_to_exit(
    name: &str,
    env: &HashMap<String, String>,
) -> anyhow::Result<(Option<i32>, String)> {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(binary(name)?)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .envs(env)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .context("the process did not exit within 30 s")??;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}
