//! The one way xtask runs other programs: print the command, run it, fail with its name; and
//! the one way it starts programs that run beside it (servers, the worker, Vite) and stops them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgid};

use crate::console;

fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs a command to completion with inherited output; an unsuccessful exit is an error.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let line = describe(command);
    console::note(format!("$ {line}"));
    let status = command
        .status()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs a command quietly and returns its standard output; an unsuccessful exit is an error.
pub fn read(command: &mut Command) -> anyhow::Result<String> {
    let line = describe(command);
    let output = command
        .output()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Starts a program that runs beside xtask (a server, the worker, Vite, k6), printing its command
/// line; it is killed if its handle is dropped. [`terminate`] stops it gracefully.
pub fn spawn(command: &mut tokio::process::Command) -> anyhow::Result<tokio::process::Child> {
    let line = describe(command.as_std());
    console::note(format!("$ {line} &"));
    command
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start `{line}`"))
}

/// How long [`terminate`] waits after SIGTERM before it kills.
pub const TERMINATE_GRACE: Duration = Duration::from_secs(10);

/// Stops a child the way ECS stops a task: SIGTERM, then SIGKILL after [`TERMINATE_GRACE`]; says
/// which it took. A child that leads its own process group (started with `process_group(0)`, as
/// `npm run dev` is) gets the SIGTERM with its whole group: npm does not pass signals on.
pub async fn terminate(child: &mut tokio::process::Child, name: &str) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        let pid = Pid::from_raw(pid);
        let leads_its_group = getpgid(Some(pid)).is_ok_and(|group| group == pid);
        let _ = match leads_its_group {
            true => killpg(pid, Signal::SIGTERM),
            false => kill(pid, Signal::SIGTERM),
        };
    }
    match tokio::time::timeout(TERMINATE_GRACE, child.wait()).await {
        Ok(_) => console::note(format!("{name} stopped")),
        Err(_) => {
            let _ = child.kill().await;
            console::note(format!(
                "{name} killed after {} s",
                TERMINATE_GRACE.as_secs()
            ));
        }
    }
}

/// A loopback port nobody listens on right now (for a server this process is about to start).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether a program is on the PATH.
pub fn exists(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// The workspace root (xtask's manifest lives one level below it). Read at run time from what
/// `cargo run` sets, not baked in at compile time: two checkouts sharing one target directory
/// would otherwise run each other's xtask against the wrong tree.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Cargo's target directory: where this xtask binary was built (`<target>/debug/xtask`), which
/// honours `CARGO_TARGET_DIR` without asking cargo.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A `cargo` command run from the workspace root, without the `CARGO_PKG_*` variables that
/// `cargo run` set for xtask itself (they describe xtask, not what the command works on, and
/// cargo-machete takes `CARGO_PKG_NAME` as a sign that it is itself run by `cargo run`).
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CARGO_PKG_") {
            command.env_remove(name);
        }
    }
    command
}

/// Builds a release binary and returns its path (as cargo reports it).
pub fn release_binary(package: &str, binary: &str) -> anyhow::Result<PathBuf> {
    console::step(format!("Building {binary} (release)"));
    let output = read(cargo().args([
        "build",
        "--release",
        "--package",
        package,
        "--bin",
        binary,
        "--message-format=json-render-diagnostics",
    ]))?;
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .find(|path| path.file_name().is_some_and(|name| name == binary))
        .context("cargo did not report the built binary")
}
