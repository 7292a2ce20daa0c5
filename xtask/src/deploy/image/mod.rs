//! Building the linux/amd64 OCI images of the API and the worker without a container engine:
//! each image is the binary plus its exact runtime closure (the shared libraries `ldd` resolves,
//! the ELF loader, CA certificates, a non-root user), as reproducible layers in an OCI image
//! layout under `<target>/xtask/images/<name>/`.
//!
//! The same binaries and host libraries always give byte-identical layers and so the same
//! manifest digest; the tag is taken from that digest, so a tag never moves.
//!
//! Here: building the binaries and the loop over the images. `plan` says what each image holds,
//! `layers` writes one layer, `layout` writes an image's layers, configuration and manifest.

mod layers;
mod layout;
mod plan;

use anyhow::bail;

use super::oci::BuiltImage;
use crate::cmd::{self, cargo};
use crate::console;
/// The template's checks compare its RDS bundle path with the image's.
#[cfg(test)]
pub use plan::RDS_CA_BUNDLE;
use plan::{IMAGES, base_layer};

/// Builds the release (or `profile`) binaries and writes both images as OCI layouts under
/// `<target>/xtask/images/`, replacing earlier ones. Blocking and CPU-bound (gzip). Two xtask
/// processes must not build images in one target directory at once (the tests that do are one
/// nextest group, `serial-infra`).
pub fn build(profile: &str) -> anyhow::Result<Vec<BuiltImage>> {
    if !cfg!(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu"
    )) {
        bail!(
            "images are linux/amd64 and are built from this host's binaries and libraries: \
             run `cargo xtask images` on x86_64-unknown-linux-gnu (this host is {}-{})",
            std::env::consts::ARCH,
            std::env::consts::OS
        );
    }
    let target = cmd::target_dir();
    let root = target.join("xtask").join("images");
    std::fs::create_dir_all(&root)?;
    console::step(format!("Building the binaries (cargo profile {profile})"));
    // `--workspace` with only our two binaries, not `-p app -p worker`: features are unified
    // over the packages selected, and the other members (xtask, tests) switch on more features of
    // shared crates. `-p` would rebuild the binaries differently from `cargo build --workspace`
    // (and, in the tests, replace the very files other tests are running).
    let mut build = cargo();
    build
        .args(["build", "--locked", "--profile", profile, "--workspace"])
        .args(IMAGES.iter().flat_map(|spec| ["--bin", spec.binary]))
        // The binaries must land where this xtask looks for them.
        .env("CARGO_TARGET_DIR", &target);
    cmd::run(&mut build)?;
    let out_dir = target.join(profile_dir(profile));
    let web_build = crate::env::web::ensure_built()?;

    let base = base_layer()?;
    let mut images = Vec::new();
    for spec in &IMAGES {
        let binary = out_dir.join(spec.binary);
        anyhow::ensure!(
            binary.is_file(),
            "cargo did not leave {} where expected",
            binary.display()
        );
        console::step(format!("Image {} ({})", spec.name, binary.display()));
        images.push(layout::build_image(
            spec, &binary, &web_build, &base, &root,
        )?);
    }
    Ok(images)
}

/// Where cargo puts a profile's output (`dev` and `test` share `debug`).
fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        other => other,
    }
}
