//! The `moto` AWS emulator on loopback, from the private Python venv (see `venv`).

use std::process::Stdio;
use std::time::Duration;

use anyhow::bail;
use tokio::process::{Child, Command};

use crate::cmd;
use crate::console;
use crate::env::venv;

/// A running emulator; killed when dropped.
#[derive(Debug)]
pub struct Moto {
    pub endpoint: String,
    _child: Child,
}

/// Starts a fresh emulator on a free loopback port and waits until it answers.
pub async fn start() -> anyhow::Result<Moto> {
    start_logging_to("moto.log").await
}

/// Starts a fresh emulator logging to `target/xtask/<log>`.
pub async fn start_logging_to(log: &str) -> anyhow::Result<Moto> {
    let server = venv::ensure(&venv::MOTO)?;
    let port = cmd::free_port()?;
    console::step(format!(
        "Starting the AWS emulator on 127.0.0.1:{port} ({log})"
    ));
    let log = std::fs::File::create(cmd::target_dir().join("xtask").join(log))?;
    let child = cmd::spawn(
        Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log)),
    )?;
    let moto = Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: child,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the AWS emulator did not start; see target/xtask/moto.log")
}
