//! What the binaries write to their logs: `LOG_FORMAT=text` is for people, and colours only a
//! terminal.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::local_backends;

#[tokio::test]
async fn text_logs_written_to_a_pipe_carry_no_colour_codes() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut api = tokio::process::Command::new(end_to_end::binary("rising-stars-api")?)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&backends.env)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stderr = api.stderr.take().context("no stderr pipe")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            let done = line.contains("serving the API");
            seen.push(line);
            if done {
                return anyhow::Ok(());
            }
        }
        anyhow::bail!("the API's log ended before it served")
    })
    .await;
    api.kill().await?;
    started.with_context(|| format!("no `serving the API` line in: {seen:#?}"))??;
    assert!(
        seen.iter().all(|line| !line.contains('\u{1b}')),
        "escape codes in a piped log: {seen:#?}"
    );
    assert!(
        seen.iter().any(|line| line.contains(" INFO ")),
        "not the text format: {seen:#?}"
    );
    Ok(())
}
