//! Installs missing Debian packages, saying which and why.

use std::process::Command;

use anyhow::bail;

use crate::cmd;
use crate::console;

/// What building the worker needs: FFmpeg's development files and libclang for its bindings.
pub const BUILD: &[(&str, &str)] = &[
    (
        "pkg-config",
        "to locate the FFmpeg libraries the worker links",
    ),
    (
        "clang",
        "ffmpeg-next generates its FFmpeg bindings with libclang",
    ),
    (
        "libclang-dev",
        "ffmpeg-next generates its FFmpeg bindings with libclang",
    ),
    (
        "libavcodec-dev",
        "the worker decodes and encodes video in-process",
    ),
    (
        "libavformat-dev",
        "the worker reads and writes MP4 in-process",
    ),
    (
        "libavfilter-dev",
        "the worker's filter graph (scale, pad, overlay, concat)",
    ),
    ("libavutil-dev", "FFmpeg's utility library"),
    ("libswscale-dev", "pixel format conversion in the worker"),
    ("libswresample-dev", "required by libavfilter"),
];

/// What the tests need beyond the build: the ffmpeg CLI generates and inspects test videos; a
/// private OCI registry receives the images.
pub const TEST: &[(&str, &str)] = &[
    FFMPEG_CLI,
    (
        "docker-registry",
        "the image tests push to a private OCI registry",
    ),
    (
        "apache2-utils",
        "htpasswd writes the test registry's password file",
    ),
    FONT,
];

/// The ffmpeg CLI: the tests generate and inspect videos with it, the demo draws its clips.
pub const FFMPEG_CLI: (&str, &str) = (
    "ffmpeg",
    "the tests generate and inspect videos, and the demo draws its clips, with the ffmpeg CLI",
);

/// The load-test chart measures its text with DejaVu Sans.
pub const FONT: (&str, &str) = (
    "fonts-dejavu-core",
    "the load-test charts measure their text with DejaVu Sans",
);

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
    console::step("Installing missing system packages (apt)");
    for (name, why) in &missing {
        console::note(format!("{name}: {why}"));
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
