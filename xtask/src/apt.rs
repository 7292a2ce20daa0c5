//! Installs missing Debian packages, saying which and why.

use std::process::Command;

use anyhow::bail;

use crate::cmd;

/// Whether a Debian package is installed.
pub fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout).contains("install ok installed")
        })
}

/// Installs those of `packages` that are missing. Each comes with the reason it is needed.
pub fn ensure(packages: &[(&str, &str)]) -> anyhow::Result<()> {
    let missing: Vec<_> = packages
        .iter()
        .filter(|(name, _)| !installed(name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    cmd::step("Installing missing system packages (apt)");
    for (name, why) in &missing {
        cmd::note(format!("{name}: {why}"));
    }
    if !cmd::exists("apt-get") {
        bail!("apt-get is not available: install these packages by hand and run again");
    }
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let mut update = Command::new(sudo.first().copied().unwrap_or("apt-get"));
    if !sudo.is_empty() {
        update.arg("apt-get");
    }
    update.args(["update", "-q"]);
    cmd::run(&mut update)?;
    let mut install = Command::new(sudo.first().copied().unwrap_or("apt-get"));
    if !sudo.is_empty() {
        install.arg("apt-get");
    }
    install
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(missing.iter().map(|(name, _)| *name))
        .env("DEBIAN_FRONTEND", "noninteractive");
    cmd::run(&mut install)
}

pub fn is_root() -> bool {
    cmd::read(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}
