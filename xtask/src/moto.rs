//! The `moto` AWS emulator on loopback, installed into a Python venv under the target directory.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{apt, cmd};

/// The emulator version we test against (5.2.1 answers CompleteMultipartUpload with the wrong
/// XML root, which the Rust SDK rightly refuses).
const MOTO: &str = "moto[server]==5.2.5";

/// A running emulator; stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn venv() -> PathBuf {
    cmd::target_dir().join("xtask").join("venv")
}

/// Installs the emulator into the venv unless the pinned version is there.
fn install() -> anyhow::Result<PathBuf> {
    let venv = venv();
    let python = venv.join("bin").join("python");
    let marker = venv.join(format!(".installed-{}", MOTO.replace(['[', ']', '='], "_")));
    if marker.exists() {
        return Ok(venv.join("bin").join("moto_server"));
    }
    cmd::step(format!(
        "Installing the AWS emulator ({MOTO}) into {}",
        venv.display()
    ));
    if !python.exists() {
        if Command::new("python3")
            .args(["-m", "venv", "--help"])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            apt::ensure(&[(
                "python3-venv",
                "to keep the AWS emulator in a private Python environment",
            )])?;
        }
        cmd::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    cmd::run(Command::new(&python).args(["-m", "pip", "install", "--quiet", MOTO]))?;
    std::fs::write(&marker, b"")?;
    Ok(venv.join("bin").join("moto_server"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts a fresh emulator on a free loopback port and waits until it answers.
pub async fn start() -> anyhow::Result<Moto> {
    let server = install()?;
    let port = free_port()?;
    cmd::step(format!("Starting the AWS emulator on 127.0.0.1:{port}"));
    let log = std::fs::File::create(cmd::target_dir().join("xtask").join("moto.log"))?;
    let child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .with_context(|| format!("cannot start {}", server.display()))?;
    let moto = Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        child,
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
